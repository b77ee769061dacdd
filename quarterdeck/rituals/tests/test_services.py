"""Decisions through the status machine, minutes and newsletter emails over real SMTP,
unsubscribing, and share links."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from quarterdeck.backlog.models import EvaluationRequest, RolloutStage
from quarterdeck.core.models import Activity
from quarterdeck.insights.models import Segment
from quarterdeck.rituals import services
from quarterdeck.rituals.models import (
    DecisionFlag,
    NewsletterDelivery,
    NewsletterOptOut,
    ShareLink,
)
from quarterdeck.rituals.tests.conftest import bodies
from quarterdeck.testing.factories import (
    EvaluationFactory,
    FeatureFactory,
    SquadFactory,
    SquadMemberFactory,
    StakeholderFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(acme, paula, carl):
    employer = Segment.objects.get(workspace=acme, key="employer")
    guest = StakeholderFactory(workspace=acme, segment=employer, email="erin@corp.example")
    return services.meeting_create(
        workspace=acme,
        kind="priority_review",
        scheduled_at=timezone.now(),
        segment=employer,
        by=paula,
        attendee_users=[paula, carl],
        attendee_stakeholders=[guest],
    )


def test_a_decision_moves_its_features_and_resolves_flags(acme, paula, meeting):
    a = FeatureFactory(workspace=acme, status="under_consideration")
    b = FeatureFactory(workspace=acme, status="under_consideration")
    flag = services.decision_flag_create(feature=a, by=paula)
    decision = services.decision_record(
        meeting=meeting, text="Study both", features=[a, b], move_to="studying", by=paula
    )
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == ("studying", "studying")
    assert set(decision.features.all()) == {a, b}
    assert DecisionFlag.objects.get(pk=flag.pk).resolved_by == decision
    moves = Activity.objects.filter(verb="status_changed", target_id__in=[a.pk, b.pk])
    assert moves.count() == 2
    assert "Study both" in moves.first().message


def test_a_refused_move_records_nothing_and_moves_nothing(acme, paula, meeting):
    ok = FeatureFactory(workspace=acme, status="designing", title="Evaluated")
    EvaluationFactory(feature=ok)
    refused = FeatureFactory(workspace=acme, status="designing", title="Not evaluated")
    with pytest.raises(services.DecisionRefused) as exc:
        services.decision_record(
            meeting=meeting,
            text="Build both",
            features=[ok, refused],
            move_to="in_engineering",
            by=paula,
        )
    assert [f.pk for f, _m in exc.value.refusals] == [refused.pk]
    assert "evaluation" in exc.value.refusals[0][1]
    ok.refresh_from_db()
    assert ok.status == "designing"
    assert meeting.decisions.count() == 0


def test_declining_needs_the_reason(acme, paula, meeting):
    feature = FeatureFactory(workspace=acme, status="under_consideration")
    with pytest.raises(services.DecisionRefused, match="reason"):
        services.decision_record(
            meeting=meeting, text="No", features=[feature], move_to="declined", by=paula
        )
    services.decision_record(
        meeting=meeting,
        text="No",
        features=[feature],
        move_to="declined",
        reason="Out of scope for this year",
        by=paula,
    )
    feature.refresh_from_db()
    assert feature.decline_reason == "Out of scope for this year"


def test_a_decision_about_another_workspaces_feature_is_refused(meeting, globex, paula):
    stranger = FeatureFactory(workspace=globex)
    with pytest.raises(ValidationError) as exc:
        services.decision_record(meeting=meeting, text="x", features=[stranger], by=paula)
    assert "features" in exc.value.message_dict


def test_minutes_go_to_every_attendee_over_smtp(
    acme, paula, meeting, smtp, run_tasks, django_capture_on_commit_callbacks
):
    feature = FeatureFactory(workspace=acme, status="under_consideration", title="Graduate search")
    services.decision_record(
        meeting=meeting,
        text="Study graduate search",
        features=[feature],
        move_to="studying",
        by=paula,
    )
    services.meeting_update(meeting=meeting, notes="Employers want **real projects**.", by=paula)
    with django_capture_on_commit_callbacks(execute=True):
        count = services.meeting_send_minutes(meeting=meeting, by=paula)
    assert count == 3
    assert sorted(r for m in smtp.messages for r in m.rcpt) == sorted(
        ["paula@example.com", "carl@example.com", "erin@corp.example"]
    )
    message = smtp.to("erin@corp.example")[0].msg
    assert message["Subject"] == f"Minutes: {meeting.title}"
    text, html = bodies(message)
    assert "Study graduate search" in text and "Graduate search" in text
    assert "Moved to: Being studied" in text
    assert "<strong" in html and "real projects" in html and 'style="' in html
    meeting.refresh_from_db()
    assert meeting.minutes_sent_at is not None and meeting.minutes_recipients == 3


def test_minutes_task_is_idempotent(acme, paula, meeting, smtp, django_capture_on_commit_callbacks):
    services.meeting_update(meeting=meeting, notes="Notes", by=paula)
    services.meeting_send_minutes(meeting=meeting, by=paula)
    meeting.refresh_from_db()
    stamp = meeting.minutes_requested_at.isoformat()
    assert services.minutes_deliver(meeting_id=meeting.pk, stamp=stamp) == 3
    assert services.minutes_deliver(meeting_id=meeting.pk, stamp=stamp) == 0
    assert len(smtp.messages) == 3


def test_minutes_need_attendees_and_content(acme, paula):
    employer = Segment.objects.get(workspace=acme, key="employer")
    lonely = services.meeting_create(
        workspace=acme, kind="priority_review", scheduled_at=timezone.now(), segment=employer
    )
    with pytest.raises(ValidationError):
        services.meeting_send_minutes(meeting=lonely, by=paula)


def test_evaluation_request_from_an_insights_review(acme, paula, carl):
    squad = SquadFactory(workspace=acme)
    SquadMemberFactory(squad=squad, user=carl)
    feature = FeatureFactory(workspace=acme, squad=squad, status="studying")
    review = services.meeting_create(
        workspace=acme, kind="insights_review", scheduled_at=timezone.now(), squad=squad, by=paula
    )
    request = services.meeting_evaluation_request(
        meeting=review, feature=feature, assignee=carl, by=paula, note="Effort?"
    )
    assert list(review.evaluation_requests.all()) == [request]
    assert EvaluationRequest.objects.get(pk=request.pk).assignee == carl


# --- newsletter ---------------------------------------------------------------------------


@pytest.fixture
def issue(acme, paula):
    FeatureFactory(workspace=acme, status="studying", title="Graduate search")
    return services.newsletter_draft(workspace=acme, month=dt.date(2026, 3, 1), by=paula)


def test_drafting_keeps_edits_and_refuses_published_issues(acme, paula, issue):
    assert issue.body_markdown == issue.generated_markdown
    services.newsletter_update(newsletter=issue, body_markdown="# Mine\n\nHello", by=paula)
    FeatureFactory(workspace=acme, status="studying", title="Pause my course")
    again = services.newsletter_draft(workspace=acme, month=dt.date(2026, 3, 17), by=paula)
    assert again.pk == issue.pk
    assert again.body_markdown == "# Mine\n\nHello"
    assert "Pause my course" in again.generated_markdown
    services.newsletter_publish(newsletter=again, by=paula, send=False)
    with pytest.raises(ValidationError):
        services.newsletter_draft(workspace=acme, month=dt.date(2026, 3, 1), by=paula)
    with pytest.raises(ValidationError):
        services.newsletter_update(newsletter=again, body_markdown="x", by=paula)


def test_publishing_emails_subscribers_once_with_unsubscribe_links(
    acme, paula, victor, stella, issue, smtp, run_tasks, django_capture_on_commit_callbacks
):
    guest = StakeholderFactory(workspace=acme, email="erin@corp.example", name="Erin")
    StakeholderFactory(workspace=acme, email="")  # no address: not a recipient
    gone = StakeholderFactory(workspace=acme, email="gone@corp.example")
    NewsletterOptOut.objects.create(workspace=acme, stakeholder=gone)
    with django_capture_on_commit_callbacks(execute=True):
        published = services.newsletter_publish(newsletter=issue, by=paula)
    expected = {"paula@example.com", "victor@example.com", "stella@example.com", guest.email}
    assert published.recipients_count == 4
    assert {r for m in smtp.messages for r in m.rcpt} == expected
    message = smtp.to(guest.email)[0].msg
    assert message["Subject"] == issue.title
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = bodies(message)
    assert "## Being studied" in text and "Graduate search" in text
    assert '<h2 style="' in html and "Graduate search" in html
    assert "/news/unsubscribe/" in text
    assert NewsletterDelivery.objects.filter(newsletter=issue, sent_at__isnull=True).count() == 0
    # a second run of the task sends nothing again
    assert services.newsletter_deliver(newsletter_id=issue.pk) == 0
    assert len(smtp.messages) == 4


def test_unsubscribe_token_opts_out_and_is_tamper_proof(acme, paula):
    guest = StakeholderFactory(workspace=acme, email="erin@corp.example")
    token = services.unsubscribe_token(workspace_id=acme.pk, stakeholder_id=guest.pk)
    assert services.newsletter_unsubscribe(token=token) is not None
    assert services.newsletter_unsubscribe(token=token) is not None  # idempotent
    assert NewsletterOptOut.objects.filter(stakeholder=guest).count() == 1
    assert guest.email not in [p["email"] for p in services.newsletter_recipients(acme)]
    assert services.newsletter_unsubscribe(token=token[:-2] + "xx") is None
    assert services.newsletter_resubscribe(token=token) is True
    assert guest.email in [p["email"] for p in services.newsletter_recipients(acme)]


# --- share links --------------------------------------------------------------------------


def test_share_links_store_only_a_hash_and_can_be_revoked(acme, paula):
    link, token = services.share_link_create(workspace=acme, kind="roadmap", by=paula)
    assert len(token) >= 40
    assert token not in link.token_hash
    assert ShareLink.objects.live_for(token, "roadmap").get() == link
    assert not ShareLink.objects.live_for(token, "calendar").exists()
    services.share_link_revoke(link=link, by=paula)
    assert not ShareLink.objects.live_for(token, "roadmap").exists()


def test_release_plan_rows_come_from_rollout_stages(acme):
    from quarterdeck.rituals import agenda

    feature = FeatureFactory(workspace=acme, status="rolling_out")
    day = timezone.localdate() + dt.timedelta(days=3)
    RolloutStage.objects.create(feature=feature, order=1, starts_on=day, percent=20)
    plan = agenda.release_plan(
        type(feature).objects.filter(pk=feature.pk), day, day + dt.timedelta(days=1)
    )
    assert plan[0]["label"] == "20 %" and plan[0]["kind"] == "rollout"
