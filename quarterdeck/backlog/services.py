"""Every write on features: validated, saved and audited in one transaction."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quarterdeck.backlog import status as status_machine
from quarterdeck.backlog.models import Evaluation, Feature, FeatureDriver, Risk, Status
from quarterdeck.core import activity

FEATURE_FIELDS = (
    "title",
    "description",
    "parent",
    "squad",
    "owner",
    "expected_outcomes",
    "target_release",
)


class TransitionRefused(Exception):
    """A status move refused by the state machine; `refusals` name each failed guard."""

    def __init__(self, refusals: list[status_machine.Refusal]):
        self.refusals = refusals
        super().__init__("; ".join(r.message for r in refusals))

    @property
    def guard(self) -> str:
        return self.refusals[0].guard


def _validate_feature(feature: Feature) -> None:
    errors = {}
    if not (feature.title or "").strip():
        errors["title"] = _("A feature has a title.")
    ws = feature.workspace_id
    if feature.parent is not None:
        if feature.parent.workspace_id != ws:
            errors["parent"] = _("No such feature.")
        elif feature.pk and _is_ancestor(feature, feature.parent):
            errors["parent"] = _("A feature cannot be a slice of itself or of its own slices.")
    if feature.squad is not None and feature.squad.workspace_id != ws:
        errors["squad"] = _("No such squad.")
    if feature.owner is not None and not feature.owner.memberships.filter(workspace_id=ws).exists():
        errors["owner"] = _("The owner must be a member of the workspace.")
    if errors:
        raise ValidationError(errors)


def _is_ancestor(feature: Feature, candidate: Feature) -> bool:
    node, seen = candidate, 0
    while node is not None and seen < 50:
        if node.pk == feature.pk:
            return True
        node, seen = node.parent, seen + 1
    return False


def _set_relations(feature: Feature, *, needs=None, key_results=None, drivers=None) -> dict:
    changes = {}
    ws = feature.workspace_id
    if needs is not None:
        needs = list(needs)
        if any(n.workspace_id != ws for n in needs):
            raise ValidationError({"needs": _("No such need.")})
        old = sorted(feature.needs.values_list("id", flat=True))
        feature.needs.set(needs)
        if old != sorted(n.pk for n in needs):
            changes["needs"] = [old, sorted(n.pk for n in needs)]
    if key_results is not None:
        key_results = list(key_results)
        if any(kr.objective.workspace_id != ws for kr in key_results):
            raise ValidationError({"key_results": _("No such key result.")})
        old = sorted(feature.key_results.values_list("id", flat=True))
        feature.key_results.set(key_results)
        if old != sorted(k.pk for k in key_results):
            changes["key_results"] = [old, sorted(k.pk for k in key_results)]
    if drivers is not None:
        changes.update(_set_drivers(feature, drivers))
    return changes


def _set_drivers(feature: Feature, drivers) -> dict:
    """`drivers`: {Driver: contribution 0–3}."""
    wanted = {}
    for driver, contribution in dict(drivers).items():
        if driver.workspace_id != feature.workspace_id:
            raise ValidationError({"drivers": _("No such driver.")})
        try:
            contribution = int(contribution)
        except (TypeError, ValueError):
            contribution = -1
        if not 0 <= contribution <= 3:
            raise ValidationError(
                {"drivers": _("A driver contribution is a whole number from 0 to 3.")}
            )
        wanted[driver.pk] = (driver, contribution)
    old = {fd.driver_id: fd.contribution for fd in feature.driver_links.all()}
    feature.driver_links.exclude(driver_id__in=wanted).delete()
    for driver_id, (driver, contribution) in wanted.items():
        if old.get(driver_id) != contribution:
            FeatureDriver.objects.update_or_create(
                feature=feature, driver=driver, defaults={"contribution": contribution}
            )
    new = {d: c for d, (_drv, c) in wanted.items()}
    return {"drivers": [old, new]} if old != new else {}


def _after_change(feature: Feature) -> None:
    try:
        from quarterdeck.strategy.services import feature_inputs_changed
    except ImportError:
        return
    transaction.on_commit(lambda: feature_inputs_changed(feature_ids=[feature.pk]))


@transaction.atomic
def feature_create(
    *,
    workspace,
    title: str,
    by=None,
    description: str = "",
    parent: Feature | None = None,
    squad=None,
    owner=None,
    expected_outcomes: str = "",
    target_release=None,
    needs: Iterable | None = None,
    key_results: Iterable | None = None,
    drivers: dict | None = None,
    status: str = Status.NEW,
) -> Feature:
    if status not in (Status.NEW, Status.UNDER_CONSIDERATION):
        raise ValidationError(
            {"status": _("A new feature starts as “new” or “under consideration”.")}
        )
    feature = Feature(
        workspace=workspace,
        title=(title or "").strip()[:200],
        description=(description or "").strip(),
        parent=parent,
        squad=squad if squad is not None else (parent.squad if parent else None),
        owner=owner,
        expected_outcomes=expected_outcomes or "",
        target_release=target_release,
        status=status,
        status_changed_at=timezone.now(),
    )
    _validate_feature(feature)
    feature.save()
    _set_relations(feature, needs=needs, key_results=key_results, drivers=drivers)
    activity.record(
        workspace=workspace,
        actor=by,
        verb="created",
        target=feature,
        message=_("Slice of %(p)s") % {"p": parent} if parent else "",
    )
    _after_change(feature)
    return feature


@transaction.atomic
def feature_update(
    *, feature: Feature, by=None, needs=None, key_results=None, drivers=None, **fields
) -> Feature:
    unknown = set(fields) - set(FEATURE_FIELDS)
    if "status" in unknown:
        raise ValidationError({"status": _("Change the status with a transition.")})
    if unknown:
        raise ValidationError({f: _("Unknown field.") for f in unknown})
    before = activity.snapshot(feature, FEATURE_FIELDS)
    for name, value in fields.items():
        setattr(feature, name, value)
    _validate_feature(feature)
    feature.save()
    changes = activity.diff(feature, before, FEATURE_FIELDS)
    changes.update(_set_relations(feature, needs=needs, key_results=key_results, drivers=drivers))
    if changes:
        activity.record(
            workspace=feature.workspace, actor=by, verb="updated", target=feature, changes=changes
        )
        _after_change(feature)
    return feature


@transaction.atomic
def feature_transition(*, feature: Feature, to: str, by=None, reason: str = "") -> Feature:
    """Move a feature to status `to` if every guard allows it, else raise TransitionRefused."""
    feature = Feature.objects.select_for_update().get(pk=feature.pk)
    refusals = status_machine.check(feature, to, reason)
    if refusals:
        raise TransitionRefused(refusals)
    old = feature.status
    feature.status = to
    feature.status_changed_at = timezone.now()
    if to == Status.DECLINED:
        feature.decline_reason = reason.strip()
    feature.save(update_fields=["status", "status_changed_at", "decline_reason", "updated_at"])
    activity.record(
        workspace=feature.workspace,
        actor=by,
        verb="status_changed",
        target=feature,
        changes={"status": [old, to]},
        message=reason.strip(),
    )
    _after_transition(feature, old, by)
    _after_change(feature)
    return feature


def _after_transition(feature: Feature, old: str, by) -> None:
    try:
        from quarterdeck.notify.services import feature_status_changed
    except ImportError:
        return
    feature_status_changed(feature=feature, old=old, by=by)


@transaction.atomic
def evaluation_create(
    *,
    feature: Feature,
    effort: float,
    by=None,
    risk: str = Risk.MEDIUM,
    risk_notes: str = "",
    confidence: float = 0.7,
) -> Evaluation:
    errors = {}
    try:
        effort = float(effort)
        if effort < 0:
            raise ValueError
    except (TypeError, ValueError):
        errors["effort"] = _("Effort is a positive number of person-weeks.")
    if risk not in Risk.values:
        errors["risk"] = _("Risk is low, medium or high.")
    try:
        confidence = float(confidence)
        if not 0 <= confidence <= 1:
            raise ValueError
    except (TypeError, ValueError):
        errors["confidence"] = _("Confidence is between 0 and 1.")
    if errors:
        raise ValidationError(errors)
    evaluation = Evaluation.objects.create(
        feature=feature,
        effort=effort,
        risk=risk,
        risk_notes=risk_notes,
        confidence=confidence,
        by=by if getattr(by, "is_authenticated", False) else None,
    )
    activity.record(
        workspace=feature.workspace,
        actor=by,
        verb="evaluated",
        target=feature,
        changes={"effort": [None, effort], "risk": [None, risk]},
        message=risk_notes,
    )
    _after_change(feature)
    return evaluation
