"""Every write on features: validated, saved and audited in one transaction."""

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quarterdeck.backlog import status as status_machine
from quarterdeck.backlog.models import (
    CommsChannel,
    CommsItem,
    Demo,
    Evaluation,
    EvaluationRequest,
    Feature,
    FeatureDriver,
    OnboardingStep,
    QaCheck,
    QaResult,
    RequestState,
    Risk,
    RolloutStage,
    StageState,
    Status,
    UxTest,
    Verdict,
)
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
    transaction.on_commit(lambda: feature_inputs_changed(feature_ids=[feature.pk]), robust=True)


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


# --- work records -----------------------------------------------------------------------------


def _user(by):
    return by if getattr(by, "is_authenticated", False) else None


def _is_member(user, workspace_id) -> bool:
    return user is not None and user.memberships.filter(workspace_id=workspace_id).exists()


def _check_url(value: str, field: str, errors: dict) -> str:
    value = (value or "").strip()
    if value:
        try:
            URLValidator(schemes=["http", "https"])(value)
        except ValidationError:
            errors[field] = _("Enter a full web address starting with http:// or https://.")
    return value


def _check_date(value, field: str, errors: dict, *, required: bool = False):
    if value in (None, ""):
        if required:
            errors[field] = _("Pick a date.")
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors[field] = _("Write the date as YYYY-MM-DD.")
        return None


def _record(feature: Feature, by, verb: str, changes=None, message: str = "") -> None:
    activity.record(
        workspace=feature.workspace,
        actor=by,
        verb=verb,
        target=feature,
        changes=changes or {},
        message=message,
    )


@transaction.atomic
def slice_create(*, parent: Feature, title: str, by=None, description: str = "") -> Feature:
    """A shippable slice of `parent`: same squad and owner, starting as new."""
    if not parent.is_open:
        raise ValidationError(
            {
                "title": _("Slice an open feature; this one is %(s)s.")
                % {"s": parent.get_status_display()}
            }
        )
    return feature_create(
        workspace=parent.workspace,
        title=title,
        by=by,
        description=description,
        parent=parent,
        owner=parent.owner,
    )


@transaction.atomic
def evaluation_request_create(
    *, feature: Feature, assignee, by=None, note: str = ""
) -> EvaluationRequest:
    if not _is_member(assignee, feature.workspace_id):
        raise ValidationError({"assignee": _("Ask a member of this workspace.")})
    if EvaluationRequest.objects.filter(
        feature=feature, assignee=assignee, state=RequestState.OPEN
    ).exists():
        raise ValidationError(
            {
                "assignee": _("%(who)s already has an open request for this feature.")
                % {"who": assignee}
            }
        )
    request = EvaluationRequest.objects.create(
        feature=feature, assignee=assignee, requested_by=_user(by), note=(note or "").strip()
    )
    _record(feature, by, "evaluation_requested", {"assignee": [None, str(assignee)]}, note)
    return request


@transaction.atomic
def evaluation_request_answer(
    *,
    request: EvaluationRequest,
    by=None,
    effort: float,
    risk: str = Risk.MEDIUM,
    risk_notes: str = "",
    confidence: float = 0.7,
) -> Evaluation:
    """The engineer's estimate: creates the Evaluation and closes the request."""
    request = EvaluationRequest.objects.select_for_update().get(pk=request.pk)
    if request.state != RequestState.OPEN:
        raise ValidationError({"__all__": _("This request is already closed.")})
    evaluation = evaluation_create(
        feature=request.feature,
        effort=effort,
        by=by,
        risk=risk,
        risk_notes=risk_notes,
        confidence=confidence,
    )
    request.state = RequestState.ANSWERED
    request.evaluation = evaluation
    request.answered_at = timezone.now()
    request.save(update_fields=["state", "evaluation", "answered_at", "updated_at"])
    return evaluation


@transaction.atomic
def evaluation_request_cancel(*, request: EvaluationRequest, by=None) -> EvaluationRequest:
    if request.state != RequestState.OPEN:
        raise ValidationError({"__all__": _("This request is already closed.")})
    request.state = RequestState.CANCELLED
    request.save(update_fields=["state", "updated_at"])
    _record(
        request.feature,
        by,
        "evaluation_request_cancelled",
        {"assignee": [str(request.assignee), None]},
    )
    return request


def _apply_verdict(test: UxTest, by) -> None:
    """`iterate` sends the feature back to design through the state machine."""
    if test.verdict != Verdict.ITERATE:
        return
    feature = test.feature
    if feature.status == Status.DESIGNING:
        return
    if Status.DESIGNING in status_machine.allowed_targets(feature.status):
        feature_transition(
            feature=feature,
            to=Status.DESIGNING,
            by=by,
            reason=_("UX test round %(n)d asks for another design iteration.") % {"n": test.round},
        )
        feature.refresh_from_db()


@transaction.atomic
def ux_test_create(
    *,
    feature: Feature,
    by=None,
    prototype_url: str = "",
    participants: Iterable = (),
    findings: str = "",
    verdict: str = Verdict.PENDING,
    tested_on=None,
) -> UxTest:
    errors: dict = {}
    prototype_url = _check_url(prototype_url, "prototype_url", errors)
    tested_on = _check_date(tested_on, "tested_on", errors)
    if verdict not in Verdict.values:
        errors["verdict"] = _("The verdict is pending, iterate or proceed.")
    participants = list(participants or [])
    if any(p.workspace_id != feature.workspace_id for p in participants):
        errors["participants"] = _("No such stakeholder.")
    if errors:
        raise ValidationError(errors)
    last = feature.ux_tests.order_by("-round").values_list("round", flat=True).first() or 0
    test = UxTest.objects.create(
        feature=feature,
        round=last + 1,
        prototype_url=prototype_url,
        findings=(findings or "").strip(),
        verdict=verdict,
        tested_on=tested_on or timezone.localdate(),
        by=_user(by),
    )
    test.participants.set(participants)
    _record(feature, by, "ux_tested", {"verdict": [None, verdict]}, findings)
    _apply_verdict(test, by)
    return test


@transaction.atomic
def ux_test_update(
    *, test: UxTest, by=None, verdict: str | None = None, findings: str | None = None
) -> UxTest:
    old = test.verdict
    if verdict is not None:
        if verdict not in Verdict.values:
            raise ValidationError({"verdict": _("The verdict is pending, iterate or proceed.")})
        test.verdict = verdict
    if findings is not None:
        test.findings = findings.strip()
    test.save()
    if old != test.verdict:
        _record(test.feature, by, "ux_verdict", {"verdict": [old, test.verdict]})
        _apply_verdict(test, by)
    return test


@transaction.atomic
def qa_check_create(
    *, feature: Feature, outcome: str, by=None, result: str = QaResult.PENDING, notes: str = ""
) -> QaCheck:
    errors = {}
    outcome = (outcome or "").strip()
    if not outcome:
        errors["outcome"] = _("Name the expected outcome this check verifies.")
    elif len(outcome) > 300:
        errors["outcome"] = _("Keep the outcome under 300 characters.")
    if result not in QaResult.values:
        errors["result"] = _("The result is pending, pass or fail.")
    if errors:
        raise ValidationError(errors)
    check = QaCheck.objects.create(
        feature=feature,
        outcome=outcome,
        result=result,
        notes=(notes or "").strip(),
        by=_user(by),
        checked_at=None if result == QaResult.PENDING else timezone.now(),
    )
    _record(feature, by, "qa_check_added", {"qa": [None, f"{outcome}: {result}"]}, notes)
    return check


@transaction.atomic
def qa_checks_from_outcomes(*, feature: Feature, by=None) -> list[QaCheck]:
    """A pending check for each line of the expected outcomes that has none yet."""
    existing = set(feature.qa_checks.values_list("outcome", flat=True))
    created = []
    for line in (feature.expected_outcomes or "").splitlines():
        outcome = line.strip().lstrip("-*•").strip()[:300]
        if outcome and outcome not in existing:
            existing.add(outcome)
            created.append(qa_check_create(feature=feature, outcome=outcome, by=by))
    if not created:
        raise ValidationError(
            {"outcome": _("Every expected outcome already has a check; add one by hand.")}
        )
    return created


@transaction.atomic
def qa_check_update(
    *, check: QaCheck, by=None, result: str | None = None, notes: str | None = None
) -> QaCheck:
    old = check.result
    if result is not None:
        if result not in QaResult.values:
            raise ValidationError({"result": _("The result is pending, pass or fail.")})
        check.result = result
    if notes is not None:
        check.notes = notes.strip()
    check.by = _user(by) or check.by
    check.checked_at = None if check.result == QaResult.PENDING else timezone.now()
    check.save()
    _record(
        check.feature,
        by,
        "qa_checked",
        {"qa": [f"{check.outcome}: {old}", f"{check.outcome}: {check.result}"]},
        check.notes,
    )
    return check


@transaction.atomic
def demo_create(
    *,
    feature: Feature,
    held_on,
    audience: str,
    by=None,
    recording_url: str = "",
    notes: str = "",
) -> Demo:
    errors: dict = {}
    held_on = _check_date(held_on, "held_on", errors, required=True)
    audience = (audience or "").strip()
    if not audience:
        errors["audience"] = _("Say who saw the demo.")
    recording_url = _check_url(recording_url, "recording_url", errors)
    if errors:
        raise ValidationError(errors)
    demo = Demo.objects.create(
        feature=feature,
        held_on=held_on,
        audience=audience[:200],
        recording_url=recording_url,
        notes=(notes or "").strip(),
        by=_user(by),
    )
    _record(feature, by, "demoed", {"demo": [None, f"{held_on.isoformat()} · {audience}"]}, notes)
    return demo


def _validate_stage(stage: RolloutStage, errors: dict) -> None:
    if stage.percent is None and stage.segment_id is None:
        errors["percent"] = _("A stage reaches a share of users (1–100 %) or a segment.")
    if stage.percent is not None and not 1 <= stage.percent <= 100:
        errors["percent"] = _("The share of users is between 1 and 100 %.")
    if stage.segment is not None and stage.segment.workspace_id != stage.feature.workspace_id:
        errors["segment"] = _("No such segment.")
    if stage.state not in StageState.values:
        errors["state"] = _("The state is planned, active, done or halted.")
    if errors:
        raise ValidationError(errors)


def _int_or_none(value, field: str, errors: dict) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors[field] = _("Enter a whole number.")
        return None


@transaction.atomic
def rollout_stage_create(
    *,
    feature: Feature,
    by=None,
    starts_on=None,
    percent: int | None = None,
    segment=None,
    state: str = StageState.PLANNED,
    notes: str = "",
) -> RolloutStage:
    errors: dict = {}
    starts_on = _check_date(starts_on, "starts_on", errors)
    percent = _int_or_none(percent, "percent", errors)
    last = feature.rollout_stages.order_by("-order").values_list("order", flat=True).first() or 0
    stage = RolloutStage(
        feature=feature,
        order=last + 1,
        starts_on=starts_on,
        percent=percent,
        segment=segment,
        state=state,
        notes=(notes or "").strip(),
    )
    _validate_stage(stage, errors)
    stage.save()
    _record(feature, by, "rollout_planned", {"rollout": [None, stage.audience_label]}, notes)
    return stage


@transaction.atomic
def rollout_stage_update(
    *,
    stage: RolloutStage,
    by=None,
    state: str | None = None,
    starts_on=None,
    percent=None,
    segment=None,
    notes: str | None = None,
) -> RolloutStage:
    errors: dict = {}
    old = stage.state
    if state is not None:
        stage.state = state
    if starts_on is not None:
        stage.starts_on = _check_date(starts_on, "starts_on", errors)
    if percent is not None:
        stage.percent = _int_or_none(percent, "percent", errors)
    if segment is not None:
        stage.segment = segment
    if notes is not None:
        stage.notes = notes.strip()
    _validate_stage(stage, errors)
    stage.save()
    _record(
        stage.feature,
        by,
        "rollout_stage_changed",
        {f"stage {stage.order}": [old, stage.state]},
    )
    return stage


@transaction.atomic
def comms_item_create(
    *,
    feature: Feature,
    audience: str,
    channel: str,
    message: str,
    by=None,
    send_on=None,
    sent: bool = False,
) -> CommsItem:
    errors: dict = {}
    audience = (audience or "").strip()
    if not audience:
        errors["audience"] = _("Say who the message is for.")
    if channel not in CommsChannel.values:
        errors["channel"] = _("The channel is email, in-app, newsletter, blog or meeting.")
    if not (message or "").strip():
        errors["message"] = _("Write the message, or its gist.")
    send_on = _check_date(send_on, "send_on", errors)
    if errors:
        raise ValidationError(errors)
    item = CommsItem.objects.create(
        feature=feature,
        audience=audience[:200],
        channel=channel,
        message=message.strip(),
        send_on=send_on,
        sent=bool(sent),
        sent_at=timezone.now() if sent else None,
    )
    _record(feature, by, "comms_planned", {"comms": [None, f"{channel} → {audience}"]})
    return item


@transaction.atomic
def comms_item_update(
    *, item: CommsItem, by=None, sent: bool | None = None, message: str | None = None
) -> CommsItem:
    if message is not None:
        if not message.strip():
            raise ValidationError({"message": _("Write the message, or its gist.")})
        item.message = message.strip()
    old = item.sent
    if sent is not None:
        item.sent = bool(sent)
        item.sent_at = timezone.now() if item.sent else None
    item.save()
    if old != item.sent:
        _record(
            item.feature,
            by,
            "comms_sent" if item.sent else "comms_unsent",
            {"comms": [f"{item.channel} → {item.audience}", "sent" if item.sent else "planned"]},
        )
    return item


@transaction.atomic
def onboarding_step_create(
    *, feature: Feature, title: str, by=None, body: str = "", order: int | None = None
) -> OnboardingStep:
    errors: dict = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = _("A step has a title.")
    order = _int_or_none(order, "order", errors)
    if order is not None and order < 1:
        errors["order"] = _("Steps are numbered from 1.")
    if errors:
        raise ValidationError(errors)
    if order is None:
        last = feature.onboarding_steps.order_by("-order").values_list("order", flat=True).first()
        order = (last or 0) + 1
    step = OnboardingStep.objects.create(
        feature=feature, order=order, title=title[:200], body=(body or "").strip()
    )
    _record(feature, by, "onboarding_step_added", {"onboarding": [None, f"{order}. {title}"]})
    return step


@transaction.atomic
def onboarding_step_delete(*, step: OnboardingStep, by=None) -> None:
    feature = step.feature
    label = f"{step.order}. {step.title}"
    step.delete()
    _record(feature, by, "onboarding_step_removed", {"onboarding": [label, None]})
