"""Every write on stakeholders, insights and needs: validated, saved and audited atomically."""

import datetime as dt
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quarterdeck.core import activity
from quarterdeck.insights.models import (
    Channel,
    Importance,
    Insight,
    InsightLink,
    InsightState,
    Need,
    NeedState,
    Segment,
    Stakeholder,
)

INSIGHT_FIELDS = (
    "text",
    "source",
    "channel",
    "external_id",
    "stakeholder",
    "segment",
    "captured_at",
    "importance",
    "state",
    "tags",
)
NEED_FIELDS = ("title", "description", "state")
# What an insight's weight in the demand of its needs follows (archived insights do not count).
EVIDENCE_FIELDS = frozenset({"stakeholder", "segment", "captured_at", "state"})
STAKEHOLDER_FIELDS = ("name", "email", "segment", "organisation", "weight", "notes")


def _after_insights_arrive(insight_ids: list[int]) -> None:
    """Ask the linking engine for suggestions once the insights are committed."""
    try:
        from quarterdeck.linking.services import insights_arrived
    except ImportError:  # the linking app offers no suggestions in this build
        return
    transaction.on_commit(lambda: insights_arrived(insight_ids=insight_ids), robust=True)


def insights_arrived_hook(insight_ids: list[int]) -> None:
    """Public entry for bulk writers (CSV import): new or changed insights, after commit."""
    _after_insights_arrive(list(insight_ids))


def segment_by_key(workspace, key: str | None) -> Segment | None:
    if not key:
        return None
    segment = Segment.objects.filter(workspace=workspace, key=key.strip().lower()).first()
    if segment is None:
        known = ", ".join(Segment.objects.filter(workspace=workspace).values_list("key", flat=True))
        raise ValidationError(
            {
                "segment": _("Unknown segment “%(key)s”; known segments: %(known)s")
                % {"key": key, "known": known}
            }
        )
    return segment


def channel_for(source: str) -> str:
    return source if source in Channel.values else Channel.IMPORT


def normalise_tags(tags) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = tags.split(",")
    seen: list[str] = []
    for tag in tags:
        tag = str(tag).strip()
        if tag and tag not in seen:
            seen.append(tag[:50])
    return seen


def _validate_insight(insight: Insight) -> None:
    errors = {}
    if not (insight.text or "").strip():
        errors["text"] = _("Text is required.")
    if insight.importance is not None and insight.importance not in Importance.values:
        errors["importance"] = _("Importance must be 1, 2 or 3.")
    if insight.state not in InsightState.values:
        errors["state"] = _("Unknown state “%(s)s”; expected one of %(all)s") % {
            "s": insight.state,
            "all": ", ".join(InsightState.values),
        }
    if insight.channel not in Channel.values:
        errors["channel"] = _("Unknown channel “%(c)s”") % {"c": insight.channel}
    if not insight.source:
        errors["source"] = _("Source is required.")
    if insight.stakeholder and insight.stakeholder.workspace_id != insight.workspace_id:
        errors["stakeholder"] = _("No such stakeholder.")
    if insight.segment and insight.segment.workspace_id != insight.workspace_id:
        errors["segment"] = _("No such segment.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def insight_create(
    *,
    workspace,
    text: str,
    by=None,
    source: str = Channel.MANUAL,
    channel: str | None = None,
    external_id: str = "",
    stakeholder: Stakeholder | None = None,
    segment: Segment | None = None,
    captured_at: dt.datetime | None = None,
    importance: int | None = None,
    tags: Iterable[str] | str | None = None,
    state: str = InsightState.NEW,
) -> Insight:
    insight = Insight(
        workspace=workspace,
        text=(text or "").strip(),
        source=source or Channel.MANUAL,
        channel=channel or channel_for(source or Channel.MANUAL),
        external_id=external_id or "",
        stakeholder=stakeholder,
        segment=segment or (stakeholder.segment if stakeholder else None),
        captured_at=captured_at or timezone.now(),
        captured_by=by if getattr(by, "is_authenticated", False) else None,
        importance=importance,
        tags=normalise_tags(tags),
        state=state,
    )
    _validate_insight(insight)
    if (
        insight.external_id
        and Insight.objects.filter(
            workspace=workspace, source=insight.source, external_id=insight.external_id
        ).exists()
    ):
        raise ValidationError(
            {"external_id": _("An insight from this source already has this external id.")}
        )
    insight.save()
    activity.record(workspace=workspace, actor=by, verb="created", target=insight)
    _after_insights_arrive([insight.pk])
    return insight


@transaction.atomic
def insight_update(*, insight: Insight, by=None, **fields) -> Insight:
    unknown = set(fields) - set(INSIGHT_FIELDS)
    if unknown:
        raise ValidationError({f: _("Unknown field.") for f in unknown})
    before = activity.snapshot(insight, INSIGHT_FIELDS)
    for name, value in fields.items():
        if name == "tags":
            value = normalise_tags(value)
        if name == "text":
            value = (value or "").strip()
        setattr(insight, name, value)
    if "source" in fields and "channel" not in fields:
        insight.channel = channel_for(insight.source)
    _validate_insight(insight)
    if (
        insight.external_id
        and ("source" in fields or "external_id" in fields)
        and Insight.objects.filter(
            workspace_id=insight.workspace_id,
            source=insight.source,
            external_id=insight.external_id,
        )
        .exclude(pk=insight.pk)
        .exists()
    ):
        raise ValidationError(
            {"external_id": _("An insight from this source already has this external id.")}
        )
    changes = activity.diff(insight, before, INSIGHT_FIELDS)
    if changes:
        insight.save()
        activity.record(
            workspace=insight.workspace, actor=by, verb="updated", target=insight, changes=changes
        )
        if "text" in changes:  # its vector, suggestions and duplicates follow the new wording
            _after_insights_arrive([insight.pk])
        if EVIDENCE_FIELDS & changes.keys():
            evidence_changed(insight_ids=[insight.pk])
    return insight


@transaction.atomic
def insight_upsert(
    *, workspace, by=None, source: str, external_id: str, **fields
) -> tuple[Insight, bool]:
    """Create the insight, or update the one with the same source + external id.

    Returns (insight, created)."""
    existing = (
        Insight.objects.select_for_update()
        .filter(workspace=workspace, source=source, external_id=external_id)
        .first()
        if external_id
        else None
    )
    if existing is None:
        return (
            insight_create(
                workspace=workspace, by=by, source=source, external_id=external_id, **fields
            ),
            True,
        )
    return insight_update(insight=existing, by=by, **fields), False


@transaction.atomic
def insight_set_state(*, insight: Insight, state: str, by=None) -> Insight:
    return insight_update(insight=insight, by=by, state=state)


@transaction.atomic
def insight_archive(*, insight: Insight, by=None) -> Insight:
    """Take the insight out of the inbox; nothing is deleted and it can be restored."""
    if insight.state == InsightState.ARCHIVED:
        return insight
    return insight_update(insight=insight, by=by, state=InsightState.ARCHIVED)


@transaction.atomic
def insight_unarchive(*, insight: Insight, by=None) -> Insight:
    """Restore an archived insight: triaged if it is linked to a need, else new."""
    if insight.state != InsightState.ARCHIVED:
        return insight
    state = InsightState.TRIAGED if insight.links.exists() else InsightState.NEW
    return insight_update(insight=insight, by=by, state=state)


def quote_from(text: str, highlight: str | None) -> str:
    """The passage of `text` that `highlight` quotes, as written in `text`.

    A browser selection may differ from the stored text in its whitespace (line breaks become
    spaces, runs of spaces collapse), so the match ignores whitespace differences and returns the
    original passage. A highlight that is not in the text is refused.
    """
    highlight = (highlight or "").strip()
    if not highlight:
        return ""
    if highlight in text:
        return highlight
    words = highlight.split()
    pattern = r"\s+".join(re.escape(word) for word in words)
    match = re.search(pattern, text)
    if match is None:
        raise ValidationError({"highlight": _("The highlight must be quoted from the insight.")})
    return match.group(0)


@transaction.atomic
def insight_link(
    *,
    insight: Insight,
    need: Need,
    by=None,
    highlight: str = "",
    importance: int = Importance.IMPORTANT,
    from_suggestion: bool = False,
) -> InsightLink:
    """Attach an insight to a need with the quoted highlight; the insight becomes triaged."""
    if insight.workspace_id != need.workspace_id:
        raise ValidationError({"need": _("No such need.")})
    if importance not in Importance.values:
        raise ValidationError({"importance": _("Importance must be 1, 2 or 3.")})
    if need.state != NeedState.OPEN:
        raise ValidationError({"need": _("This need is archived; reopen it before linking.")})
    highlight = quote_from(insight.text, highlight)
    link, created = InsightLink.objects.update_or_create(
        need=need,
        insight=insight,
        defaults={
            "workspace_id": insight.workspace_id,
            "highlight": highlight,
            "importance": importance,
            "linked_by": by if getattr(by, "is_authenticated", False) else None,
            "from_suggestion": from_suggestion,
        },
    )
    if insight.segment_id:
        need.segments.add(insight.segment_id)
    if insight.state == InsightState.NEW:
        insight.state = InsightState.TRIAGED
        insight.save(update_fields=["state", "updated_at"])
    activity.record(
        workspace=insight.workspace,
        actor=by,
        verb="linked" if created else "link_updated",
        target=insight,
        changes={"need": [None, str(need)], "importance": [None, importance]},
        message=highlight,
    )
    _after_link(link)
    return link


def _after_link(link: InsightLink) -> None:
    _demand_changed(link.need)
    try:
        from quarterdeck.linking.services import link_recorded
    except ImportError:
        return
    transaction.on_commit(lambda: link_recorded(link_id=link.pk), robust=True)


def _demand_changed(need: Need) -> None:
    """The features answering `need` have new demand: their scores are recomputed after commit."""
    from quarterdeck.strategy.services import feature_inputs_changed

    feature_ids = list(need.features.values_list("id", flat=True))
    if feature_ids:
        transaction.on_commit(lambda: feature_inputs_changed(feature_ids=feature_ids), robust=True)


def evidence_changed(*, insight_ids: list[int] | None = None, stakeholder=None) -> None:
    """How much these insights (or the insights of `stakeholder`) weigh changed: the features
    answering their needs are re-scored after commit."""
    from quarterdeck.strategy.services import feature_inputs_changed

    if insight_ids is not None:
        ids = sorted(set(insight_ids))
        chunks = [
            InsightLink.objects.filter(insight_id__in=ids[start : start + 5000])
            for start in range(0, len(ids), 5000)
        ]
    elif stakeholder is not None:
        chunks = [InsightLink.objects.filter(insight__stakeholder=stakeholder)]
    else:
        return
    found: set[int] = set()
    for links in chunks:
        found.update(
            Need.objects.filter(pk__in=links.values("need_id"))
            .exclude(features=None)
            .values_list("features__id", flat=True)
        )
    feature_ids = sorted(found)
    if feature_ids:
        transaction.on_commit(lambda: feature_inputs_changed(feature_ids=feature_ids), robust=True)


@transaction.atomic
def insight_unlink(*, link: InsightLink, by=None) -> None:
    insight, need = link.insight, link.need
    link.delete()
    _demand_changed(need)
    if not insight.links.exists() and insight.state == InsightState.TRIAGED:
        insight.state = InsightState.NEW
        insight.save(update_fields=["state", "updated_at"])
    activity.record(
        workspace=insight.workspace,
        actor=by,
        verb="unlinked",
        target=insight,
        changes={"need": [str(need), None]},
    )


def _validate_need(need: Need) -> None:
    if not (need.title or "").strip():
        raise ValidationError({"title": _("A need has a title.")})


@transaction.atomic
def need_create(
    *,
    workspace,
    title: str,
    by=None,
    description: str = "",
    segments: Iterable[Segment] = (),
    from_insight: Insight | None = None,
    highlight: str = "",
    importance: int = Importance.IMPORTANT,
) -> Need:
    """A new need; created from an insight, that insight is linked to it with its highlight."""
    need = Need(
        workspace=workspace,
        title=(title or "").strip()[:200],
        description=(description or "").strip(),
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    _validate_need(need)
    need.save()
    segments = list(segments)
    for segment in segments:
        if segment.workspace_id != workspace.pk:
            raise ValidationError({"segments": _("No such segment.")})
    if segments:
        need.segments.set(segments)
    activity.record(workspace=workspace, actor=by, verb="created", target=need)
    if from_insight is not None:
        insight_link(
            insight=from_insight, need=need, by=by, highlight=highlight, importance=importance
        )
    return need


@transaction.atomic
def need_update(
    *, need: Need, by=None, segments: Iterable[Segment] | None = None, **fields
) -> Need:
    unknown = set(fields) - set(NEED_FIELDS)
    if unknown:
        raise ValidationError({f: _("Unknown field.") for f in unknown})
    before = activity.snapshot(need, NEED_FIELDS)
    for name, value in fields.items():
        setattr(need, name, value)
    _validate_need(need)
    changes = activity.diff(need, before, NEED_FIELDS)
    need.save()
    if segments is not None:
        segments = list(segments)
        old = sorted(need.segments.values_list("key", flat=True))
        need.segments.set(segments)
        new = sorted(s.key for s in segments)
        if old != new:
            changes["segments"] = [old, new]
    if changes:
        activity.record(
            workspace=need.workspace, actor=by, verb="updated", target=need, changes=changes
        )
    return need


def _validate_stakeholder(stakeholder: Stakeholder) -> None:
    errors = {}
    if not (stakeholder.name or "").strip():
        errors["name"] = _("A stakeholder has a name.")
    if stakeholder.email:
        try:
            validate_email(stakeholder.email)
        except ValidationError:
            errors["email"] = _("“%(e)s” is not an email address.") % {"e": stakeholder.email}
        else:
            clash = Stakeholder.objects.filter(
                workspace_id=stakeholder.workspace_id, email=stakeholder.email
            ).exclude(pk=stakeholder.pk)
            if clash.exists():
                errors["email"] = _("Another stakeholder has this email address.")
    if stakeholder.weight is not None and stakeholder.weight < 0:
        errors["weight"] = _("Weight cannot be negative.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def stakeholder_create(*, workspace, name: str, by=None, email: str = "", **fields) -> Stakeholder:
    stakeholder = Stakeholder(
        workspace=workspace,
        name=(name or "").strip(),
        email=(email or "").strip().lower(),
        **fields,
    )
    _validate_stakeholder(stakeholder)
    stakeholder.save()
    activity.record(workspace=workspace, actor=by, verb="created", target=stakeholder)
    return stakeholder


@transaction.atomic
def stakeholder_update(*, stakeholder: Stakeholder, by=None, **fields) -> Stakeholder:
    if "email" in fields:
        fields["email"] = (fields["email"] or "").strip().lower()
    changes = activity.update(
        stakeholder,
        fields=fields,
        allowed=STAKEHOLDER_FIELDS,
        validate=_validate_stakeholder,
        workspace=stakeholder.workspace,
        by=by,
    )
    if {"weight", "segment"} & changes.keys():
        evidence_changed(stakeholder=stakeholder)
    return stakeholder


@transaction.atomic
def insight_capture(
    *,
    workspace,
    text: str,
    by=None,
    stakeholder: Stakeholder | None = None,
    stakeholder_email: str = "",
    stakeholder_name: str = "",
    segment: Segment | None = None,
    **fields,
) -> Insight:
    """An insight typed or pasted by a person: its stakeholder is picked, or found or created by
    email address (a new stakeholder takes the insight's segment)."""
    if stakeholder is not None and stakeholder.workspace_id != workspace.pk:
        raise ValidationError({"stakeholder": _("No such stakeholder.")})
    if stakeholder is None and (stakeholder_email or "").strip():
        stakeholder = stakeholder_for_email(
            workspace=workspace,
            email=stakeholder_email,
            name=(stakeholder_name or "").strip(),
            segment=segment,
            by=by,
        )
    elif stakeholder is None and (stakeholder_name or "").strip():
        stakeholder = stakeholder_create(
            workspace=workspace, name=stakeholder_name, segment=segment, by=by
        )
    return insight_create(
        workspace=workspace, text=text, by=by, stakeholder=stakeholder, segment=segment, **fields
    )


def stakeholder_for_email(
    *, workspace, email: str, name: str = "", segment: Segment | None = None, by=None
) -> Stakeholder:
    """The stakeholder with this email, created on first sight."""
    email = email.strip().lower()
    existing = Stakeholder.objects.filter(workspace=workspace, email=email).first()
    if existing:
        return existing
    return stakeholder_create(
        workspace=workspace, name=name or email.split("@")[0], email=email, segment=segment, by=by
    )
