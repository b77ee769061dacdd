"""`/api/v1/meetings` and `/api/v1/newsletters`."""

import pytest

from quarterdeck.rituals.models import Newsletter
from quarterdeck.testing.factories import EvaluationFactory, FeatureFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def _create(api, **body):
    payload = {
        "kind": "priority_review",
        "scheduled_at": "2026-05-04T14:00:00Z",
        "segment": "employer",
    }
    payload.update(body)
    return api.post("/api/v1/meetings", payload, content_type="application/json")


def test_create_list_and_get_meetings(pm_api, paula):
    response = _create(pm_api, attendee_users=[paula.pk])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["segment"] == "employer" and body["agenda"]["kind"] == "priority_review"
    assert body["attendee_users"] == [paula.pk]
    listing = pm_api.get("/api/v1/meetings").json()
    assert [m["id"] for m in listing["results"]] == [body["id"]] and listing["next"] is None
    assert pm_api.get(f"/api/v1/meetings/{body['id']}").json()["title"] == body["title"]


def test_meeting_errors_are_problem_json(pm_api):
    response = _create(pm_api, segment=None)
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert "segment" in response.json()["errors"]
    response = _create(pm_api, segment="pirates")
    assert response.status_code == 400 and "segment" in response.json()["errors"]
    assert pm_api.get("/api/v1/meetings/999999").status_code == 404


def test_decisions_move_features_or_answer_409(pm_api, acme):
    meeting = _create(pm_api).json()
    ready = FeatureFactory(workspace=acme, status="designing")
    EvaluationFactory(feature=ready)
    blocked = FeatureFactory(workspace=acme, status="designing")
    url = f"/api/v1/meetings/{meeting['id']}/decisions"
    refused = pm_api.post(
        url,
        {"text": "Build", "features": [ready.pk, blocked.pk], "move_to": "in_engineering"},
        content_type="application/json",
    )
    assert refused.status_code == 409 and refused["Content-Type"] == PROBLEM
    assert refused.json()["refused"][0]["feature"] == blocked.pk
    ok = pm_api.post(
        url,
        {"text": "Build", "features": [ready.pk], "move_to": "in_engineering"},
        content_type="application/json",
    )
    assert ok.status_code == 201 and ok.json()["features"] == [ready.pk]
    ready.refresh_from_db()
    assert ready.status == "in_engineering"
    assert [d["text"] for d in pm_api.get(url).json()] == ["Build"]


def test_viewers_cannot_write_and_outsiders_see_nothing(pm_api, viewer_api, outsider_api):
    meeting = _create(pm_api).json()
    assert _create(viewer_api).status_code == 403
    assert viewer_api.get(f"/api/v1/meetings/{meeting['id']}").status_code == 200
    assert outsider_api.get(f"/api/v1/meetings/{meeting['id']}").status_code == 404
    assert outsider_api.get("/api/v1/meetings").json()["results"] == []


def test_newsletter_draft_edit_publish(pm_api, acme, viewer_api):
    FeatureFactory(workspace=acme, status="studying", title="Graduate search")
    bad = pm_api.post("/api/v1/newsletters", {"month": "March"}, content_type="application/json")
    assert bad.status_code == 400 and "month" in bad.json()["errors"]
    draft = pm_api.post(
        "/api/v1/newsletters", {"month": "2026-03"}, content_type="application/json"
    )
    assert draft.status_code == 201
    body = draft.json()
    assert body["state"] == "draft" and "## Being studied" in body["body_markdown"]
    patched = pm_api.patch(
        f"/api/v1/newsletters/{body['id']}",
        {"body_markdown": body["body_markdown"] + "\nThanks!\n"},
        content_type="application/json",
    )
    assert patched.json()["body_markdown"].endswith("Thanks!\n")
    assert viewer_api.post(f"/api/v1/newsletters/{body['id']}/publish").status_code == 403
    published = pm_api.post(f"/api/v1/newsletters/{body['id']}/publish")
    assert published.status_code == 200 and published.json()["state"] == "published"
    again = pm_api.post(f"/api/v1/newsletters/{body['id']}/publish")
    assert again.status_code == 409 and again["Content-Type"] == PROBLEM
    redraft = pm_api.post(
        "/api/v1/newsletters", {"month": "2026-03"}, content_type="application/json"
    )
    assert redraft.status_code == 409
    listing = pm_api.get("/api/v1/newsletters?state=published").json()
    assert [n["month"] for n in listing["results"]] == ["2026-03"]
    assert Newsletter.objects.get().recipients_count >= 1
