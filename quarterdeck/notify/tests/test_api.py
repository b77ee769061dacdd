import json

import pytest

from quarterdeck.accounts.models import Membership
from quarterdeck.notify import services
from quarterdeck.notify.models import Subscription, Webhook
from quarterdeck.testing.factories import StakeholderFactory, make_token

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def followers_url(feature):
    return f"/api/v1/features/{feature.pk}/followers"


@pytest.fixture
def admin_api(alice, acme):
    from django.test import Client

    token = make_token(Membership.objects.get(user=alice, workspace=acme))
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_followers_lists_the_stakeholder_who_asked(pm_api, story):
    response = pm_api.get(followers_url(story.feature))
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {
                "type": "stakeholder",
                "id": story.maria.pk,
                "name": "Maria Lopez",
                "email": "maria@example.org",
                "reason": "asked",
                "needs": [story.need.pk],
            }
        ],
        "next": None,
    }


def test_follow_yourself_then_unfollow(pm_api, paula, story):
    response = pm_api.post(followers_url(story.feature), "{}", content_type="application/json")
    assert response.status_code == 201
    assert response.json()["type"] == "user" and response.json()["id"] == paula.pk
    assert response.json()["reason"] == "explicit"
    assert pm_api.delete(followers_url(story.feature)).status_code == 204
    assert not Subscription.objects.get(user=paula).following


def test_a_viewer_may_follow_and_unfollow_for_themselves(viewer_api, victor, story):
    response = viewer_api.post(followers_url(story.feature), "{}", content_type="application/json")
    assert response.status_code == 201 and response.json()["id"] == victor.pk
    assert viewer_api.delete(followers_url(story.feature)).status_code == 204
    assert not Subscription.objects.get(user=victor).following


def test_pm_can_add_and_remove_a_stakeholder(pm_api, acme, story):
    other = StakeholderFactory(workspace=acme, name="Ken")
    response = pm_api.post(
        followers_url(story.feature),
        json.dumps({"stakeholder": other.pk}),
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["name"] == "Ken"
    response = pm_api.delete(followers_url(story.feature) + f"?stakeholder={story.maria.pk}")
    assert response.status_code == 204
    ids = [f["id"] for f in pm_api.get(followers_url(story.feature)).json()["results"]]
    assert ids == [other.pk]


def test_a_viewer_cannot_make_someone_else_follow(viewer_api, story, acme):
    other = StakeholderFactory(workspace=acme)
    response = viewer_api.post(
        followers_url(story.feature),
        json.dumps({"stakeholder": other.pk}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM


def test_followers_of_another_workspace_feature_are_404(outsider_api, story):
    response = outsider_api.get(followers_url(story.feature))
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    response = outsider_api.post(
        followers_url(story.feature), "{}", content_type="application/json"
    )
    assert response.status_code == 404


def test_following_a_stakeholder_of_another_workspace_is_404(pm_api, story, globex):
    outsider = StakeholderFactory(workspace=globex)
    response = pm_api.post(
        followers_url(story.feature),
        json.dumps({"stakeholder": outsider.pk}),
        content_type="application/json",
    )
    assert response.status_code == 404


def test_create_and_list_webhooks(pm_api, acme):
    response = pm_api.post(
        "/api/v1/webhooks",
        json.dumps({"url": "https://example.com/qd", "events": ["shipped", "declined"]}),
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["declined", "shipped"]
    listed = pm_api.get("/api/v1/webhooks").json()
    assert [h["id"] for h in listed["results"]] == [body["id"]]
    assert "secret" not in listed["results"][0]
    assert listed["next"] is None


def test_webhook_validation_is_problem_json(pm_api):
    response = pm_api.post(
        "/api/v1/webhooks",
        json.dumps({"url": "file:///etc/passwd"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert "url" in response.json()["errors"]


def test_webhooks_are_for_admins_and_pms(viewer_api, admin_api):
    assert viewer_api.get("/api/v1/webhooks").status_code == 403
    assert admin_api.get("/api/v1/webhooks").status_code == 200


def test_disable_a_webhook(pm_api, acme, alice):
    hook = services.webhook_create(workspace=acme, url="https://example.com/a", by=alice)
    response = pm_api.patch(
        f"/api/v1/webhooks/{hook.pk}",
        json.dumps({"active": False}),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["active"] is False
    hook.refresh_from_db()
    assert not hook.active


def test_deliveries_show_each_attempt(pm_api, acme, alice, receiver, story, paula, move):
    hook = services.webhook_create(workspace=acme, url=receiver.url, by=alice)
    receiver.statuses = [500]
    move(story.feature, "shipped", paula)
    response = pm_api.get(f"/api/v1/webhooks/{hook.pk}/deliveries")
    assert response.status_code == 200
    [delivery] = response.json()["results"]
    assert delivery["state"] == "failed"
    assert delivery["attempts"] == 1
    assert delivery["event"]["type"] == "feature.shipped"
    assert delivery["history"][0]["response_status"] == 500
    assert delivery["next_attempt_at"] is not None


def test_deliveries_of_another_workspace_webhook_are_404(outsider_api, acme, alice):
    hook = services.webhook_create(workspace=acme, url="https://example.com/a", by=alice)
    assert outsider_api.get(f"/api/v1/webhooks/{hook.pk}/deliveries").status_code == 404
    assert Webhook.objects.count() == 1
