"""Every write of the rituals: meetings and decisions, share links, newsletters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quarterdeck.backlog.models import Feature, Status
from quarterdeck.core import activity
from quarterdeck.rituals import agenda as agenda_lib
from quarterdeck.rituals import newsletter as newsletter_lib
from quarterdeck.rituals.models import (
    Decision,
    DecisionFlag,
    Meeting,
    MeetingKind,
    Newsletter,
    NewsletterDelivery,
    NewsletterFeed,
    NewsletterOptOut,
    NewsletterState,
    ShareKind,
    ShareLink,
)

UNSUBSCRIBE_SALT = "quarterdeck.rituals.newsletter.unsubscribe"


def _user(by):
    return by if getattr(by, "is_authenticated", False) else None


def _enqueue(task, *args) -> None:
    transaction.on_commit(lambda: task.enqueue(*args), robust=True)


# --- meetings ---------------------------------------------------------------------------------


def _check_attendees(workspace, users, stakeholders, errors: dict) -> tuple[list, list]:
    users = list(users or [])
    stakeholders = list(stakeholders or [])
    member_ids = set(workspace.memberships.values_list("user_id", flat=True))
    if any(u.pk not in member_ids for u in users):
        errors["attendee_users"] = _("Attendees from the team must be members of the workspace.")
    if any(s.workspace_id != workspace.pk for s in stakeholders):
        errors["attendee_stakeholders"] = _("No such stakeholder.")
    return users, stakeholders


def _validate_meeting(meeting: Meeting, errors: dict) -> None:
    if meeting.kind not in MeetingKind.values:
        errors["kind"] = _("The kind is priority_review, insights_review or demo.")
    if not (meeting.title or "").strip():
        errors["title"] = _("Give the meeting a title.")
    if meeting.scheduled_at is None:
        errors["scheduled_at"] = _("Pick the date and time of the meeting.")
    if meeting.kind == MeetingKind.PRIORITY_REVIEW and meeting.segment_id is None:
        errors["segment"] = _("A priority review meets one stakeholder group: pick a segment.")
    if meeting.kind == MeetingKind.INSIGHTS_REVIEW and meeting.squad_id is None:
        errors["squad"] = _("An insights review is held with one squad: pick it.")
    if meeting.segment is not None and meeting.segment.workspace_id != meeting.workspace_id:
        errors["segment"] = _("No such segment.")
    if meeting.squad is not None and meeting.squad.workspace_id != meeting.workspace_id:
        errors["squad"] = _("No such squad.")
    if not 5 <= (meeting.duration_minutes or 0) <= 24 * 60:
        errors["duration_minutes"] = _("A meeting lasts between 5 minutes and a day.")
    if errors:
        raise ValidationError(errors)


def _default_title(kind: str, segment, squad) -> str:
    label = MeetingKind(kind).label
    who = segment.name if segment is not None else (squad.name if squad is not None else "")
    if squad is not None and segment is not None:
        who = f"{segment.name} · {squad.name}"
    return f"{label} — {who}" if who else str(label)


@transaction.atomic
def meeting_create(
    *,
    workspace,
    kind: str,
    scheduled_at: dt.datetime,
    by=None,
    title: str = "",
    segment=None,
    squad=None,
    duration_minutes: int = 60,
    attendee_users: Iterable = (),
    attendee_stakeholders: Iterable = (),
    notes: str = "",
    attachments: str = "",
) -> Meeting:
    """Plan a meeting and generate its agenda."""
    errors: dict = {}
    if isinstance(scheduled_at, dt.datetime) and timezone.is_naive(scheduled_at):
        scheduled_at = timezone.make_aware(scheduled_at)
    users, stakeholders = _check_attendees(workspace, attendee_users, attendee_stakeholders, errors)
    meeting = Meeting(
        workspace=workspace,
        kind=kind,
        title=(title or "").strip()[:200]
        or (_default_title(kind, segment, squad) if kind in MeetingKind.values else ""),
        scheduled_at=scheduled_at,
        duration_minutes=duration_minutes or 60,
        segment=segment,
        squad=squad,
        notes=(notes or "").strip(),
        attachments=(attachments or "").strip(),
        created_by=_user(by),
    )
    _validate_meeting(meeting, errors)
    meeting.save()
    meeting.attendee_users.set(users)
    meeting.attendee_stakeholders.set(stakeholders)
    _store_agenda(meeting)
    activity.record(workspace=workspace, actor=by, verb="created", target=meeting)
    return meeting


def _store_agenda(meeting: Meeting) -> None:
    meeting.agenda = agenda_lib.generate(meeting)
    meeting.agenda_since = agenda_lib.period_start(meeting)
    meeting.agenda_generated_at = timezone.now()
    meeting.save(update_fields=["agenda", "agenda_since", "agenda_generated_at", "updated_at"])


MEETING_FIELDS = ("title", "scheduled_at", "duration_minutes", "notes", "attachments")


@transaction.atomic
def meeting_update(
    *,
    meeting: Meeting,
    by=None,
    attendee_users: Iterable | None = None,
    attendee_stakeholders: Iterable | None = None,
    **fields,
) -> Meeting:
    unknown = set(fields) - set(MEETING_FIELDS)
    if unknown:
        raise ValidationError({f: _("Unknown field.") for f in unknown})
    errors: dict = {}
    before = activity.snapshot(meeting, MEETING_FIELDS)
    for name, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
        setattr(meeting, name, value)
    if meeting.scheduled_at is not None and timezone.is_naive(meeting.scheduled_at):
        meeting.scheduled_at = timezone.make_aware(meeting.scheduled_at)
    users, stakeholders = _check_attendees(
        meeting.workspace, attendee_users, attendee_stakeholders, errors
    )
    _validate_meeting(meeting, errors)
    meeting.save()
    changes = activity.diff(meeting, before, ("title", "scheduled_at", "duration_minutes"))
    if attendee_users is not None:
        meeting.attendee_users.set(users)
    if attendee_stakeholders is not None:
        meeting.attendee_stakeholders.set(stakeholders)
    if "notes" in fields and before["notes"] != meeting.notes:
        changes["notes"] = ["…", "…"]
    if changes:
        activity.record(
            workspace=meeting.workspace, actor=by, verb="updated", target=meeting, changes=changes
        )
    return meeting


@transaction.atomic
def meeting_regenerate_agenda(*, meeting: Meeting, by=None) -> Meeting:
    _store_agenda(meeting)
    activity.record(workspace=meeting.workspace, actor=by, verb="agenda_generated", target=meeting)
    return meeting


class DecisionRefused(Exception):
    """A decision's move refused by the status machine: nothing was recorded.

    `refusals` is a list of (feature, message).
    """

    def __init__(self, refusals: list[tuple[Feature, str]]):
        self.refusals = refusals
        super().__init__("; ".join(f"{feature.title}: {message}" for feature, message in refusals))


@transaction.atomic
def decision_record(
    *,
    meeting: Meeting,
    text: str,
    by=None,
    features: Iterable[Feature] = (),
    move_to: str = "",
    reason: str = "",
) -> Decision:
    """Record a decision; with `move_to`, move each feature through the status machine.

    All or nothing: when a guard refuses a move, no feature moves, nothing is recorded, and
    DecisionRefused names each refusal.
    """
    from quarterdeck.backlog.services import TransitionRefused, feature_transition

    errors = {}
    text = (text or "").strip()
    features = list(features or [])
    move_to = (move_to or "").strip()
    if not text:
        errors["text"] = _("Write what was decided.")
    if any(f.workspace_id != meeting.workspace_id for f in features):
        errors["features"] = _("No such feature.")
    if move_to and move_to not in Status.values:
        errors["move_to"] = _("Unknown status “%(s)s”.") % {"s": move_to}
    if move_to and not features:
        errors["features"] = _("Pick the features this decision moves.")
    if errors:
        raise ValidationError(errors)

    refusals: list[tuple[Feature, str]] = []
    if move_to:
        decided = _("Decided in “%(m)s”: %(t)s") % {"m": meeting.title, "t": text}
        move_reason = (reason or "").strip() or decided
        if move_to == Status.DECLINED:
            # the requesters are told this reason: it must be written on purpose
            move_reason = (reason or "").strip()
        for feature in features:
            if feature.status == move_to:
                continue
            try:
                with transaction.atomic():
                    feature_transition(feature=feature, to=move_to, by=by, reason=move_reason)
            except TransitionRefused as exc:
                refusals.append((feature, "; ".join(r.message for r in exc.refusals)))
        if refusals:
            raise DecisionRefused(refusals)

    decision = Decision.objects.create(
        meeting=meeting,
        text=text,
        move_to=move_to,
        reason=(reason or "").strip(),
        by=_user(by),
    )
    decision.features.set(features)
    DecisionFlag.objects.filter(
        workspace=meeting.workspace,
        feature__in=features,
        resolved_by__isnull=True,
    ).update(resolved_by=decision)
    activity.record(
        workspace=meeting.workspace,
        actor=by,
        verb="decided",
        target=meeting,
        changes={"features": [None, [f.title for f in features]], "move_to": [None, move_to]}
        if features
        else {},
        message=text,
    )
    return decision


@transaction.atomic
def decision_flag_create(
    *, feature: Feature, by=None, segment=None, note: str = ""
) -> DecisionFlag:
    if segment is not None and segment.workspace_id != feature.workspace_id:
        raise ValidationError({"segment": _("No such segment.")})
    flag = DecisionFlag.objects.create(
        workspace=feature.workspace,
        feature=feature,
        segment=segment,
        note=(note or "").strip()[:300],
        flagged_by=_user(by),
    )
    activity.record(
        workspace=feature.workspace,
        actor=by,
        verb="flagged_for_decision",
        target=feature,
        message=flag.note,
    )
    return flag


@transaction.atomic
def meeting_evaluation_request(
    *, meeting: Meeting, feature: Feature, assignee, by=None, note: str = ""
):
    """Ask an engineer for effort and risk from an insights review (backlog's request)."""
    from quarterdeck.backlog.services import evaluation_request_create

    if feature.workspace_id != meeting.workspace_id:
        raise ValidationError({"feature": _("No such feature.")})
    request = evaluation_request_create(feature=feature, assignee=assignee, by=by, note=note)
    meeting.evaluation_requests.add(request)
    return request


def minutes_recipients(meeting: Meeting) -> list[tuple[str, str]]:
    """(name, email) of every attendee with an email address, each address once."""
    seen, people = set(), []
    for user in meeting.attendee_users.all():
        if user.email and user.email.lower() not in seen:
            seen.add(user.email.lower())
            people.append((user.display_name, user.email))
    for stakeholder in meeting.attendee_stakeholders.all():
        if stakeholder.email and stakeholder.email.lower() not in seen:
            seen.add(stakeholder.email.lower())
            people.append((stakeholder.name, stakeholder.email))
    return people


@transaction.atomic
def meeting_send_minutes(*, meeting: Meeting, by=None) -> int:
    """Email the notes and decisions to the attendees (in the background). Returns how many."""
    from quarterdeck.rituals import tasks

    recipients = minutes_recipients(meeting)
    if not recipients:
        raise ValidationError(
            {"attendees": _("Add attendees with an email address before sending the minutes.")}
        )
    if not meeting.decisions.exists() and not meeting.notes.strip():
        raise ValidationError(
            {"notes": _("Write notes or record a decision before sending the minutes.")}
        )
    meeting.minutes_requested_at = timezone.now()
    meeting.save(update_fields=["minutes_requested_at", "updated_at"])
    activity.record(
        workspace=meeting.workspace,
        actor=by,
        verb="minutes_sent",
        target=meeting,
        changes={"recipients": [None, len(recipients)]},
    )
    stamp = meeting.minutes_requested_at.isoformat()
    _enqueue(tasks.send_minutes, meeting.pk, stamp)
    return len(recipients)


def minutes_deliver(*, meeting_id: int, stamp: str) -> int:
    """Send the minutes requested at `stamp`, once (a second run of the same request is a no-op)."""
    from quarterdeck.rituals import mail

    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().filter(pk=meeting_id).first()
        if meeting is None or meeting.minutes_requested_at is None:
            return 0
        if meeting.minutes_requested_at.isoformat() != stamp:
            return 0  # a newer request supersedes this one
        if meeting.minutes_sent_at is not None and meeting.minutes_sent_at >= (
            meeting.minutes_requested_at
        ):
            return 0
        recipients = minutes_recipients(meeting)
        count = mail.send_minutes(meeting, recipients)
        meeting.minutes_sent_at = timezone.now()
        meeting.minutes_recipients = count
        meeting.save(update_fields=["minutes_sent_at", "minutes_recipients", "updated_at"])
    return count


# --- share links ------------------------------------------------------------------------------


@transaction.atomic
def share_link_create(
    *, workspace, kind: str, by=None, squad=None, label: str = ""
) -> tuple[ShareLink, str]:
    """A new read-only link; returns it with its token (shown once, only its hash is stored)."""
    if kind not in ShareKind.values:
        raise ValidationError({"kind": _("The kind is roadmap or calendar.")})
    if squad is not None and squad.workspace_id != workspace.pk:
        raise ValidationError({"squad": _("No such squad.")})
    token = ShareLink.generate_token()
    link = ShareLink.objects.create(
        workspace=workspace,
        kind=kind,
        squad=squad,
        label=(label or "").strip()[:150],
        token_hash=ShareLink.hash_token(token),
        token_hint=token[:6],
        created_by=_user(by),
    )
    activity.record(workspace=workspace, actor=by, verb="share_link_created", target=link)
    return link, token


@transaction.atomic
def share_link_revoke(*, link: ShareLink, by=None) -> ShareLink:
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at", "updated_at"])
        activity.record(workspace=link.workspace, actor=by, verb="share_link_revoked", target=link)
    return link


def share_link_touch(link: ShareLink) -> None:
    now = timezone.now()
    if link.last_used_at is None or now - link.last_used_at > dt.timedelta(minutes=5):
        ShareLink.objects.filter(pk=link.pk).update(last_used_at=now)


# --- newsletter -------------------------------------------------------------------------------


@transaction.atomic
def newsletter_draft(
    *, workspace, month: dt.date, by=None, now: dt.datetime | None = None
) -> Newsletter:
    """Draft (or refresh the draft of) the issue of `month` from the data.

    A draft whose text was never edited takes the fresh text; an edited draft keeps the edits
    and only its `generated_markdown` is refreshed. A published issue is never changed.
    """
    month = month.replace(day=1)
    issue = newsletter_lib.generate(workspace, month, now=now)
    text = issue.markdown()
    newsletter = (
        Newsletter.objects.select_for_update().filter(workspace=workspace, month=month).first()
    )
    if newsletter is not None and newsletter.is_published:
        raise ValidationError(
            {
                "month": _("The issue of %(m)s is already published.")
                % {"m": month.strftime("%Y-%m")}
            }
        )
    created = newsletter is None
    if created:
        newsletter = Newsletter(workspace=workspace, month=month, title=issue.title)
    if created or not newsletter.is_edited:
        newsletter.body_markdown = text
    newsletter.generated_markdown = text
    newsletter.generated_at = issue.generated_at
    newsletter.save()
    activity.record(
        workspace=workspace,
        actor=by,
        verb="created" if created else "regenerated",
        target=newsletter,
    )
    return newsletter


@transaction.atomic
def newsletter_update(
    *, newsletter: Newsletter, by=None, body_markdown: str | None = None, title: str | None = None
) -> Newsletter:
    newsletter = Newsletter.objects.select_for_update().get(pk=newsletter.pk)
    if newsletter.is_published:
        raise ValidationError({"body_markdown": _("A published issue cannot be edited.")})
    errors = {}
    if title is not None:
        title = title.strip()
        if not title:
            errors["title"] = _("The issue needs a title.")
        newsletter.title = title[:200]
    if body_markdown is not None:
        if not body_markdown.strip():
            errors["body_markdown"] = _("The issue is empty: write it or regenerate it.")
        newsletter.body_markdown = body_markdown.replace("\r\n", "\n")
    if errors:
        raise ValidationError(errors)
    newsletter.save()
    activity.record(workspace=newsletter.workspace, actor=by, verb="updated", target=newsletter)
    return newsletter


@transaction.atomic
def newsletter_reset(*, newsletter: Newsletter, by=None) -> Newsletter:
    """Throw the edits away: regenerate from today's data and take the fresh text."""
    if newsletter.is_published:
        raise ValidationError({"body_markdown": _("A published issue cannot be edited.")})
    newsletter.body_markdown = newsletter.generated_markdown
    newsletter.save(update_fields=["body_markdown", "updated_at"])
    return newsletter_draft(workspace=newsletter.workspace, month=newsletter.month, by=by)


def newsletter_recipients(workspace) -> list[dict]:
    """Members and stakeholders with an email who did not unsubscribe, each address once."""
    from quarterdeck.accounts.models import Membership
    from quarterdeck.insights.models import Stakeholder

    out_users = set(
        NewsletterOptOut.objects.filter(workspace=workspace, user__isnull=False).values_list(
            "user_id", flat=True
        )
    )
    out_stakeholders = set(
        NewsletterOptOut.objects.filter(workspace=workspace, stakeholder__isnull=False).values_list(
            "stakeholder_id", flat=True
        )
    )
    seen: set[str] = set()
    people = []
    for membership in Membership.objects.filter(
        workspace=workspace, user__is_active=True
    ).select_related("user"):
        user = membership.user
        key = user.email.lower()
        if user.pk in out_users or not user.email or key in seen:
            continue
        seen.add(key)
        people.append({"email": user.email, "user": user, "stakeholder": None})
    for stakeholder in Stakeholder.objects.filter(workspace=workspace).exclude(email=""):
        key = stakeholder.email.lower()
        if stakeholder.pk in out_stakeholders or key in seen:
            continue
        seen.add(key)
        people.append({"email": stakeholder.email, "user": None, "stakeholder": stakeholder})
    return people


@transaction.atomic
def newsletter_publish(
    *,
    newsletter: Newsletter,
    by=None,
    send: bool = True,
    record_only: bool = False,
    title: str | None = None,
    body_markdown: str | None = None,
) -> Newsletter:
    """Publish: the issue joins the archive and the feed, and is emailed to every subscriber.

    `send=False` publishes to the archive and feed only. `record_only=True` records every
    subscriber as reached without emailing (an issue that went out by other means, e.g. the
    demo's history).
    """
    from quarterdeck.rituals import tasks

    newsletter = Newsletter.objects.select_for_update().get(pk=newsletter.pk)
    if newsletter.is_published:
        raise ValidationError({"state": _("This issue is already published.")})
    if (title is not None and title.strip() != newsletter.title) or (
        body_markdown is not None
        and body_markdown.replace("\r\n", "\n") != newsletter.body_markdown
    ):
        # the text on screen is what gets published
        newsletter = newsletter_update(
            newsletter=newsletter, by=by, title=title, body_markdown=body_markdown
        )
    if not newsletter.body_markdown.strip():
        raise ValidationError({"body_markdown": _("The issue is empty: write it first.")})
    recipients = newsletter_recipients(newsletter.workspace) if send else []
    now = timezone.now()
    NewsletterDelivery.objects.bulk_create(
        [
            NewsletterDelivery(
                newsletter=newsletter,
                email=p["email"],
                user=p["user"],
                stakeholder=p["stakeholder"],
                sent_at=now if record_only else None,
            )
            for p in recipients
        ],
        ignore_conflicts=True,
    )
    newsletter.state = NewsletterState.PUBLISHED
    newsletter.published_at = now
    newsletter.published_by = _user(by)
    newsletter.recipients_count = len(recipients)
    newsletter.save()
    activity.record(
        workspace=newsletter.workspace,
        actor=by,
        verb="published",
        target=newsletter,
        changes={"recipients": [None, len(recipients)]},
    )
    if recipients and not record_only:
        _enqueue(tasks.send_newsletter, newsletter.pk)
    return newsletter


def newsletter_deliver(*, newsletter_id: int) -> int:
    """Email every delivery of the issue not sent yet; returns how many went out now."""
    from quarterdeck.rituals import mail

    sent = 0
    pending = NewsletterDelivery.objects.filter(
        newsletter_id=newsletter_id, sent_at__isnull=True
    ).select_related("newsletter__workspace", "user", "stakeholder")
    for delivery in pending:
        with transaction.atomic():
            locked = (
                NewsletterDelivery.objects.select_for_update()
                .filter(pk=delivery.pk, sent_at__isnull=True)
                .first()
            )
            if locked is None:
                continue
            try:
                mail.send_newsletter(delivery)
            except Exception as exc:  # noqa: BLE001 - recorded, retried by the next run
                locked.attempts += 1
                locked.last_error = str(exc)[:2000]
                locked.save(update_fields=["attempts", "last_error", "updated_at"])
                continue
            locked.attempts += 1
            locked.sent_at = timezone.now()
            locked.last_error = ""
            locked.save(update_fields=["attempts", "sent_at", "last_error", "updated_at"])
            sent += 1
    return sent


def unsubscribe_token(*, workspace_id: int, user_id=None, stakeholder_id=None) -> str:
    data = {"w": workspace_id}
    if user_id is not None:
        data["u"] = user_id
    else:
        data["s"] = stakeholder_id
    return signing.dumps(data, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> dict | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or "w" not in data or not ({"u", "s"} & set(data)):
        return None
    return data


@transaction.atomic
def newsletter_unsubscribe(*, token: str) -> NewsletterOptOut | None:
    """Opt the person named by a signed token out of the newsletter (idempotent)."""
    from quarterdeck.accounts.models import Membership, Workspace
    from quarterdeck.insights.models import Stakeholder

    data = read_unsubscribe_token(token)
    if data is None:
        return None
    workspace = Workspace.objects.filter(pk=data["w"]).first()
    if workspace is None:
        return None
    if "u" in data:
        if not Membership.objects.filter(workspace=workspace, user_id=data["u"]).exists():
            return None
        optout, created = NewsletterOptOut.objects.get_or_create(
            workspace=workspace, user_id=data["u"]
        )
    else:
        if not Stakeholder.objects.filter(workspace=workspace, pk=data["s"]).exists():
            return None
        optout, created = NewsletterOptOut.objects.get_or_create(
            workspace=workspace, stakeholder_id=data["s"]
        )
    if created:
        activity.record(
            workspace=workspace,
            actor=None,
            verb="newsletter_unsubscribed",
            target=optout,
        )
    return optout


@transaction.atomic
def newsletter_resubscribe(*, token: str) -> bool:
    data = read_unsubscribe_token(token)
    if data is None:
        return False
    qs = NewsletterOptOut.objects.filter(workspace_id=data["w"])
    qs = qs.filter(user_id=data["u"]) if "u" in data else qs.filter(stakeholder_id=data["s"])
    return qs.delete()[0] > 0


@transaction.atomic
def newsletter_feed_key(*, workspace) -> NewsletterFeed:
    feed = NewsletterFeed.objects.filter(workspace=workspace).first()
    if feed is None:
        feed = NewsletterFeed.objects.create(workspace=workspace, key=NewsletterFeed.generate_key())
    return feed


@transaction.atomic
def newsletter_feed_rotate(*, workspace, by=None) -> NewsletterFeed:
    feed = newsletter_feed_key(workspace=workspace)
    feed.key = NewsletterFeed.generate_key()
    feed.save(update_fields=["key", "updated_at"])
    activity.record(workspace=workspace, actor=by, verb="feed_key_rotated", target=feed)
    return feed
