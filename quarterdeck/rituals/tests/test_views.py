"""Pages: permissions, workspace isolation, share links and feeds without login."""

import datetime as dt

import feedparser
import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from quarterdeck.backlog.models import RolloutStage
from quarterdeck.insights.models import Segment
from quarterdeck.rituals import services
from quarterdeck.rituals.models import Meeting, Newsletter, ShareLink
from quarterdeck.testing.factories import EvaluationFactory, FeatureFactory, SquadFactory

pytestmark = pytest.mark.django_db


def url(name, **kw):
    return reverse(f"rituals:{name}", kwargs={"ws": "acme", **kw})


@pytest.fixture
def review(acme, paula):
    return services.meeting_create(
        workspace=acme,
        kind="priority_review",
        scheduled_at=timezone.now(),
        segment=Segment.objects.get(workspace=acme, key="employer"),
        by=paula,
        attendee_users=[paula],
    )


@pytest.fixture
def published(acme, paula):
    FeatureFactory(workspace=acme, status="studying", title="Graduate search")
    issue = services.newsletter_draft(workspace=acme, month=dt.date(2026, 3, 1), by=paula)
    return services.newsletter_publish(newsletter=issue, by=paula, send=False)


@pytest.mark.parametrize("name", ["meetings", "roadmap", "newsletters", "meeting_new"])
def test_pages_render_for_the_pm(pm_client, review, name):
    response = pm_client.get(url(name))
    assert response.status_code == 200


def test_meeting_page_shows_the_agenda(pm_client, review):
    response = pm_client.get(url("meeting", pk=review.pk))
    assert response.status_code == 200
    assert b"Top candidates for them" in response.content
    assert b"Release plan" in response.content


def test_planning_a_meeting_from_the_form(pm_client, acme, paula):
    employer = Segment.objects.get(workspace=acme, key="employer")
    response = pm_client.post(
        url("meeting_new"),
        {
            "kind": "priority_review",
            "scheduled_at": "2026-05-04T14:00",
            "duration_minutes": 45,
            "segment": employer.pk,
            "attendee_users": [paula.pk],
        },
    )
    meeting = Meeting.objects.get(workspace=acme)
    assert response.status_code == 302
    assert meeting.duration_minutes == 45 and meeting.agenda["kind"] == "priority_review"


def test_refused_move_shows_the_guard_message(pm_client, acme, review):
    feature = FeatureFactory(workspace=acme, status="designing", title="Unestimated")
    response = pm_client.post(
        url("meeting_decide", pk=review.pk),
        {"text": "Build it", "features": [feature.pk], "move_to": "in_engineering"},
    )
    assert response.status_code == 400
    assert b"Engineering starts once the feature has an evaluation" in response.content
    assert review.decisions.count() == 0


def test_decision_form_moves_a_feature(pm_client, acme, review):
    feature = FeatureFactory(workspace=acme, status="designing")
    EvaluationFactory(feature=feature)
    response = pm_client.post(
        url("meeting_decide", pk=review.pk),
        {"text": "Build it", "features": [feature.pk], "move_to": "in_engineering"},
    )
    assert response.status_code == 302
    feature.refresh_from_db()
    assert feature.status == "in_engineering"


def test_viewers_read_but_cannot_write(viewer_client, review):
    assert viewer_client.get(url("meeting", pk=review.pk)).status_code == 200
    assert viewer_client.post(url("meeting_decide", pk=review.pk), {"text": "x"}).status_code == 403
    assert viewer_client.post(url("newsletter_draft"), {"month": "2026-03"}).status_code == 403
    assert viewer_client.post(url("share_new"), {"kind": "roadmap"}).status_code == 403


def test_contributors_cannot_publish(client, carl, acme, paula):
    issue = services.newsletter_draft(workspace=acme, month=dt.date(2026, 3, 1), by=paula)
    client.force_login(carl)
    assert client.post(url("newsletter_publish", pk=issue.pk)).status_code == 403
    assert Newsletter.objects.get(pk=issue.pk).state == "draft"


def test_outsiders_get_404(outsider_client, review, published):
    assert outsider_client.get(url("meetings")).status_code == 404
    assert outsider_client.get(f"/w/globex/rituals/meetings/{review.pk}/").status_code == 404
    assert outsider_client.get("/news/acme/").status_code == 404
    assert outsider_client.get("/news/acme/2026-03/").status_code == 404
    assert outsider_client.get("/news/acme/feed.atom").status_code == 404


def test_newsletter_draft_edit_preview_publish(pm_client, acme):
    FeatureFactory(workspace=acme, status="studying", title="Graduate search")
    response = pm_client.post(url("newsletter_draft"), {"month": "2026-03"})
    issue = Newsletter.objects.get(workspace=acme)
    assert response.status_code == 302
    page = pm_client.get(url("newsletter", pk=issue.pk))
    assert b"## Being studied" in page.content
    preview = pm_client.post(
        url("newsletter_preview", pk=issue.pk),
        {"body_markdown": "## Hello\n\n<script>x</script>"},
        headers={"HX-Request": "true"},
    )
    assert b"<h2>Hello</h2>" in preview.content and b"<script>" not in preview.content
    pm_client.post(
        url("newsletter", pk=issue.pk),
        {"title": issue.title, "body_markdown": issue.body_markdown + "\nA closing line.\n"},
    )
    response = pm_client.post(url("newsletter_publish", pk=issue.pk))
    assert response.status_code == 302 and response["Location"] == "/news/acme/2026-03/"
    archive = pm_client.get("/news/acme/")
    assert issue.title.encode() in archive.content
    issue_page = pm_client.get("/news/acme/2026-03/")
    assert b"A closing line." in issue_page.content


def test_archive_requires_login(client, published):
    response = client.get("/news/acme/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_atom_feed_parses_and_needs_the_secret(client, acme, published):
    key = services.newsletter_feed_key(workspace=acme).key
    assert client.get("/news/acme/feed.atom").status_code == 404
    assert client.get("/news/acme/feed.atom?key=wrong").status_code == 404
    response = client.get(f"/news/acme/feed.atom?key={key}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    assert feed.feed.title == "Acme Learning product newsletter"
    assert [e.title for e in feed.entries] == [published.title]
    assert "Graduate search" in feed.entries[0].content[0].value


def test_rotating_the_feed_secret_revokes_the_old_address(pm_client, acme):
    old = services.newsletter_feed_key(workspace=acme).key
    pm_client.post(url("feed_rotate"))
    assert pm_client.logout() is None
    assert pm_client.get(f"/news/acme/feed.atom?key={old}").status_code == 404


def test_share_link_works_without_login_and_404s_once_revoked(pm_client, client, acme, paula):
    squad = SquadFactory(workspace=acme, name="Careers")
    FeatureFactory(
        workspace=acme,
        squad=squad,
        status="in_engineering",
        title="Graduate search",
        description="INTERNAL: margin notes",
    )
    response = pm_client.post(url("share_new"), {"kind": "roadmap", "label": "Employers"})
    assert response.status_code == 302
    shown = pm_client.get(url("roadmap"))
    share_url = shown.context["new_share"]["url"]
    path = share_url.split("127.0.0.1:8000", 1)[-1].replace("http://testserver", "")
    assert pm_client.get(url("roadmap")).context["new_share"] is None  # shown once
    anonymous = client.__class__()
    page = anonymous.get(path)
    assert page.status_code == 200
    assert b"Graduate search" in page.content
    assert b"INTERNAL" not in page.content
    assert b"/w/acme/" not in page.content
    pm_client.post(url("share_revoke", pk=ShareLink.objects.get(workspace=acme).pk))
    assert anonymous.get(path).status_code == 404
    assert anonymous.get("/roadmap/not-a-token/").status_code == 404


def test_ical_feed_parses(client, acme, paula, review):
    feature = FeatureFactory(
        workspace=acme,
        status="rolling_out",
        title="Dark mode",
        target_release=timezone.localdate() + dt.timedelta(days=10),
    )
    RolloutStage.objects.create(
        feature=feature, order=1, starts_on=timezone.localdate() + dt.timedelta(days=2), percent=10
    )
    _link, token = services.share_link_create(workspace=acme, kind="calendar", by=paula)
    response = client.get(f"/ical/{token}.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    summaries = sorted(str(e["summary"]) for e in cal.walk("VEVENT"))
    assert summaries == sorted(["Release: Dark mode", "Rollout: Dark mode to 10 %", review.title])
    assert client.get(f"/roadmap/{token}/").status_code == 404  # a calendar token is not a page


def test_unsubscribe_link_works_without_login(client, acme):
    from quarterdeck.rituals.models import NewsletterOptOut
    from quarterdeck.testing.factories import StakeholderFactory

    guest = StakeholderFactory(workspace=acme)
    token = services.unsubscribe_token(workspace_id=acme.pk, stakeholder_id=guest.pk)
    response = client.get(f"/news/unsubscribe/{token}/")
    assert response.status_code == 200 and b"unsubscribed" in response.content
    assert NewsletterOptOut.objects.filter(stakeholder=guest).exists()
    client.post(f"/news/unsubscribe/{token}/", {"action": "resubscribe"})
    assert not NewsletterOptOut.objects.filter(stakeholder=guest).exists()
    # RFC 8058 one-click POST from the mail client
    assert client.post(f"/news/unsubscribe/{token}/").status_code == 200
    assert NewsletterOptOut.objects.filter(stakeholder=guest).exists()
    assert client.get("/news/unsubscribe/forged/").status_code == 400
