import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from quarterdeck.notify import selectors, services
from quarterdeck.notify.mail import unsubscribe_token
from quarterdeck.notify.models import Frequency, Notification, Preference, Subscription, Webhook
from quarterdeck.testing.factories import FeatureFactory

pytestmark = pytest.mark.django_db


def url(name, **kwargs):
    return reverse(f"notify:{name}", kwargs={"ws": "acme", **kwargs})


@pytest.fixture
def noticed(story, carl, paula, move):
    """Carl follows the feature and has been told it shipped."""
    services.follow(target=story.feature, user=carl, by=carl)
    move(story.feature, "shipped", paula)
    return Notification.objects.get(user=carl)


def test_inbox_lists_my_notifications_with_the_unread_count(client, carl, noticed):
    client.force_login(carl)
    response = client.get(url("inbox"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Project shortcuts" in body
    assert "notify-unread" in body
    assert 'class="badge">1<' in body


def test_inbox_empty_state_teaches(client, carl):
    client.force_login(carl)
    body = client.get(url("inbox")).content.decode()
    assert "No notifications yet" in body and "Follow" in body


def test_mark_read_and_all_read(client, carl, noticed):
    client.force_login(carl)
    response = client.post(url("mark_read", pk=noticed.pk), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "notifications-changed"
    noticed.refresh_from_db()
    assert noticed.read_at is not None
    client.post(url("mark_read", pk=noticed.pk), {"read": "0"})
    noticed.refresh_from_db()
    assert noticed.read_at is None
    client.post(url("mark_all_read"))
    assert selectors.unread_count(carl, noticed.workspace) == 0


def test_nobody_else_can_read_my_notifications(client, paula, oscar, noticed):
    client.force_login(paula)
    assert client.post(url("mark_read", pk=noticed.pk)).status_code == 404
    client.force_login(oscar)
    assert client.get(url("inbox")).status_code == 404


def test_bell_shows_the_unread_count(client, carl, noticed):
    client.force_login(carl)
    body = client.get(url("bell")).content.decode()
    assert 'class="bell-count">1<' in body


def test_saving_the_email_preference(client, carl, acme):
    client.force_login(carl)
    response = client.post(url("preferences"), {"email_frequency": "daily"})
    assert response.status_code == 302
    assert Preference.objects.get(user=carl, workspace=acme).email_frequency == Frequency.DAILY
    client.post(url("preferences"), {"email_frequency": "hourly"})
    assert Preference.objects.get(user=carl, workspace=acme).email_frequency == Frequency.DAILY


def test_follow_button_toggles_with_htmx(client, victor, story):
    client.force_login(victor)  # even a viewer may follow: it only concerns themselves
    follow_url = url("follow", kind="feature", pk=story.feature.pk)
    response = client.post(follow_url, {"follow": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Following" in body and 'aria-pressed="true"' in body
    assert "2 followers" in body  # Maria, who asked, and Victor
    assert Subscription.objects.get(user=victor, feature=story.feature).following
    response = client.post(follow_url, {"follow": "0"}, HTTP_HX_REQUEST="true")
    assert 'aria-pressed="false"' in response.content.decode()
    assert not Subscription.objects.get(user=victor, feature=story.feature).following


def test_follow_without_htmx_redirects_back(client, carl, story):
    client.force_login(carl)
    response = client.post(
        url("follow", kind="need", pk=story.need.pk), {"follow": "1", "next": "/w/acme/"}
    )
    assert response.status_code == 302 and response["Location"] == "/w/acme/"
    assert selectors.user_follows(carl, story.need)


def test_follow_is_scoped_to_the_workspace(client, oscar, story):
    client.force_login(oscar)
    response = client.post(
        reverse(
            "notify:follow", kwargs={"ws": "globex", "kind": "feature", "pk": story.feature.pk}
        ),
        {"follow": "1"},
    )
    assert response.status_code == 404
    assert not Subscription.objects.exists()


def test_follow_button_include_renders_for_a_feature(carl, story):
    request = RequestFactory().get("/w/acme/features/1/")
    request.user = carl
    html = Template('{% include "notify/_follow_button.html" with target=feature %}').render(
        Context({"feature": story.feature, "request": request})
    )
    assert "Follow" in html and f"/w/acme/notify/follow/feature/{story.feature.pk}/" in html
    assert "1 follower" in html


def test_webhooks_page_is_for_admins_only(client, alice, paula, victor):
    for user in (paula, victor):
        client.force_login(user)
        assert client.get(url("webhooks")).status_code == 403
    client.force_login(alice)
    response = client.get(url("webhooks"))
    assert response.status_code == 200
    assert "No webhooks yet" in response.content.decode()


def test_admin_adds_disables_and_inspects_a_webhook(client, alice, acme):
    client.force_login(alice)
    response = client.post(
        url("webhooks"), {"url": "https://hooks.example.com/qd", "events": ["shipped"]}
    )
    hook = Webhook.objects.get(workspace=acme)
    assert response.status_code == 302 and response["Location"] == hook.get_absolute_url()
    assert hook.events == ["shipped"] and hook.secret.startswith("whsec_")
    page = client.get(hook.get_absolute_url()).content.decode()
    assert hook.secret in page and "No deliveries yet" in page
    client.post(hook.get_absolute_url(), {"active": "0"})
    hook.refresh_from_db()
    assert not hook.active


def test_a_bad_webhook_url_is_explained(client, alice, acme):
    client.force_login(alice)
    response = client.post(url("webhooks"), {"url": "ftp://example.com/x"})
    assert response.status_code == 400
    assert "Only http:// and https:// URLs" in response.content.decode()
    assert not Webhook.objects.exists()


def test_webhook_pages_are_scoped_to_the_workspace(client, oscar, acme, alice):
    hook = services.webhook_create(workspace=acme, url="https://example.com/h", by=alice)
    client.force_login(oscar)
    assert (
        client.get(reverse("notify:webhook", kwargs={"ws": "globex", "pk": hook.pk})).status_code
        == 404
    )


def test_one_click_unsubscribe_post_without_login_or_csrf(story, acme):
    from django.test import Client

    token = unsubscribe_token(
        workspace_id=acme.pk, stakeholder_id=story.maria.pk, feature_id=story.feature.pk
    )
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("notify_public:unsubscribe", kwargs={"token": token}),
        {"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 200
    assert selectors.feature_followers(story.feature) == []


def test_unsubscribe_page_can_stop_everything_and_undo(client, story, acme):
    token = unsubscribe_token(
        workspace_id=acme.pk, stakeholder_id=story.maria.pk, feature_id=story.feature.pk
    )
    path = reverse("notify_public:unsubscribe", kwargs={"token": token})
    assert "Stop all emails from Acme Learning" in client.get(path).content.decode()
    client.post(path, {"scope": "all"})
    assert selectors.email_frequency(acme, stakeholder=story.maria) == Frequency.NEVER
    client.post(path, {"scope": "all", "action": "resubscribe"})
    assert selectors.email_frequency(acme, stakeholder=story.maria) == Frequency.IMMEDIATE
    client.post(path, {"scope": "feature", "action": "resubscribe"})
    assert [f.reason for f in selectors.feature_followers(story.feature)] == ["explicit"]


def test_a_forged_unsubscribe_link_is_refused(client, story):
    response = client.get(reverse("notify_public:unsubscribe", kwargs={"token": "eyJ3IjoxfQ:x:y"}))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_inbox_query_count_does_not_grow_with_notifications(client, carl, acme, paula, move):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def follow_and_study(title):
        feature = FeatureFactory(workspace=acme, status="under_consideration", title=title)
        services.follow(target=feature, user=carl, by=carl)
        move(feature, "studying", paula)

    client.force_login(carl)
    follow_and_study("F0")
    client.get(url("inbox"))  # warm caches
    with CaptureQueriesContext(connection) as one:
        client.get(url("inbox"))
    for i in range(1, 6):
        follow_and_study(f"F{i}")
    with CaptureQueriesContext(connection) as six:
        response = client.get(url("inbox"))
    assert response.content.decode().count('class="notify-item') == 6
    assert len(six.captured_queries) == len(one.captured_queries)


def test_inbox_shows_only_this_workspace(client, carl, globex, noticed):
    from quarterdeck.testing.factories import MembershipFactory

    MembershipFactory(workspace=globex, user=carl, role="viewer")
    client.force_login(carl)
    body = client.get(reverse("notify:inbox", kwargs={"ws": "globex"})).content.decode()
    assert "Project shortcuts" not in body and "No notifications yet" in body
    bell = client.get(reverse("notify:bell", kwargs={"ws": "globex"})).content.decode()
    assert "bell-count" not in bell
