"""`/api/v1/features/{id}/…` delivery endpoints: lists, creates, updates, 403 and 404."""

import pytest

from quarterdeck.backlog.models import (
    CommsItem,
    Evaluation,
    EvaluationRequest,
    OnboardingStep,
    QaCheck,
    RolloutStage,
    Status,
)
from quarterdeck.testing.factories import FeatureFactory, StakeholderFactory

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def post(client, path, data):
    return client.post("/api/v1" + path, data, content_type="application/json")


def patch(client, path, data):
    return client.patch("/api/v1" + path, data, content_type="application/json")


def get(client, path, **params):
    return client.get("/api/v1" + path, params)


@pytest.fixture
def feature(acme):
    return FeatureFactory(workspace=acme, status=Status.DESIGNING)


def test_evaluations_create_and_list(pm_api, feature, paula):
    response = post(
        pm_api,
        f"/features/{feature.pk}/evaluations",
        {"effort": 4, "risk": "high", "confidence": 0.5},
    )
    assert response.status_code == 201, response.content
    assert response.json()["by"] == paula.pk
    body = get(pm_api, f"/features/{feature.pk}/evaluations").json()
    assert set(body) == {"results", "next"}
    assert [e["effort"] for e in body["results"]] == [4.0]


def test_evaluation_with_bad_values_is_a_problem(pm_api, feature):
    response = post(pm_api, f"/features/{feature.pk}/evaluations", {"effort": -2, "risk": "huge"})
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert {"effort", "risk"} <= set(response.json()["errors"])


def test_evaluation_request_by_email_then_answered(pm_api, feature, carl):
    response = post(
        pm_api,
        f"/features/{feature.pk}/evaluation-requests",
        {"assignee": "carl@example.com", "note": "Size it"},
    )
    assert response.status_code == 201, response.content
    rid = response.json()["id"]
    answer = post(
        pm_api, f"/features/{feature.pk}/evaluation-requests/{rid}/answer", {"effort": 1.5}
    )
    assert answer.status_code == 201
    assert EvaluationRequest.objects.get(pk=rid).state == "answered"
    open_ = get(pm_api, f"/features/{feature.pk}/evaluation-requests", state="open").json()
    assert open_["results"] == []
    again = post(pm_api, f"/features/{feature.pk}/evaluation-requests/{rid}/answer", {"effort": 2})
    assert again.status_code == 400


def test_evaluation_request_to_a_non_member_is_refused(pm_api, feature, oscar):
    response = post(
        pm_api, f"/features/{feature.pk}/evaluation-requests", {"assignee": oscar.email}
    )
    assert response.status_code == 400
    assert "assignee" in response.json()["errors"]


def test_ux_test_iterate_moves_feature_back_to_design(pm_api, acme):
    feature = FeatureFactory(workspace=acme, status=Status.IN_ENGINEERING)
    ana = StakeholderFactory(workspace=acme)
    response = post(
        pm_api,
        f"/features/{feature.pk}/ux-tests",
        {
            "prototype_url": "https://figma.example.com/p",
            "participants": [ana.pk],
            "verdict": "iterate",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["participants"] == [ana.pk]
    feature.refresh_from_db()
    assert feature.status == Status.DESIGNING


def test_ux_test_with_another_workspaces_stakeholder_is_refused(pm_api, feature, globex):
    stranger = StakeholderFactory(workspace=globex)
    response = post(pm_api, f"/features/{feature.pk}/ux-tests", {"participants": [stranger.pk]})
    assert response.status_code == 400
    assert "participants" in response.json()["errors"]


def test_qa_check_create_and_record_result(pm_api, feature):
    response = post(pm_api, f"/features/{feature.pk}/qa-checks", {"outcome": "Loads in 1 s"})
    assert response.status_code == 201
    cid = response.json()["id"]
    updated = patch(pm_api, f"/features/{feature.pk}/qa-checks/{cid}", {"result": "pass"})
    assert updated.status_code == 200
    assert updated.json()["result"] == "pass"
    assert QaCheck.objects.get(pk=cid).checked_at is not None


def test_rollout_stages_with_share_and_segment_key(pm_api, feature):
    first = post(pm_api, f"/features/{feature.pk}/rollout", {"percent": 10})
    second = post(pm_api, f"/features/{feature.pk}/rollout", {"segment": "student"})
    assert first.status_code == second.status_code == 201
    assert second.json()["segment"] == "student"
    unknown = post(pm_api, f"/features/{feature.pk}/rollout", {"segment": "aliens"})
    assert unknown.status_code == 400
    empty = post(pm_api, f"/features/{feature.pk}/rollout", {})
    assert empty.status_code == 400 and "percent" in empty.json()["errors"]
    sid = first.json()["id"]
    assert (
        patch(pm_api, f"/features/{feature.pk}/rollout/{sid}", {"state": "active"}).json()["state"]
        == "active"
    )
    rows = get(pm_api, f"/features/{feature.pk}/rollout").json()["results"]
    assert [r["order"] for r in rows] == [1, 2]


def test_demos_comms_and_onboarding(pm_api, feature):
    demo = post(
        pm_api,
        f"/features/{feature.pk}/demos",
        {"held_on": "2026-11-02", "audience": "Mentors", "recording_url": "https://v.example.com"},
    )
    assert demo.status_code == 201
    comms = post(
        pm_api,
        f"/features/{feature.pk}/comms",
        {"audience": "Students", "channel": "newsletter", "message": "It's here"},
    )
    assert comms.status_code == 201
    sent = patch(pm_api, f"/features/{feature.pk}/comms/{comms.json()['id']}", {"sent": True})
    assert sent.json()["sent"] is True
    bad_channel = post(
        pm_api, f"/features/{feature.pk}/comms", {"audience": "x", "channel": "fax", "message": "m"}
    )
    assert bad_channel.status_code == 400
    step = post(pm_api, f"/features/{feature.pk}/onboarding", {"title": "Pin a project"})
    assert step.status_code == 201 and step.json()["order"] == 1
    assert get(pm_api, f"/features/{feature.pk}/onboarding").json()["results"][0]["title"] == (
        "Pin a project"
    )
    deleted = pm_api.delete(f"/api/v1/features/{feature.pk}/onboarding/{step.json()['id']}")
    assert deleted.status_code == 204
    assert not OnboardingStep.objects.exists()
    assert CommsItem.objects.get().sent


def test_viewer_can_read_but_not_write(viewer_api, feature):
    assert get(viewer_api, f"/features/{feature.pk}/qa-checks").status_code == 200
    response = post(viewer_api, f"/features/{feature.pk}/qa-checks", {"outcome": "x"})
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    assert post(viewer_api, f"/features/{feature.pk}/evaluations", {"effort": 1}).status_code == 403
    assert not QaCheck.objects.exists() and not Evaluation.objects.exists()


def test_other_workspaces_features_are_404(outsider_api, feature):
    for path in ("evaluations", "qa-checks", "rollout", "demos", "comms", "onboarding", "ux-tests"):
        response = get(outsider_api, f"/features/{feature.pk}/{path}")
        assert response.status_code == 404, path
        assert response["Content-Type"] == PROBLEM
    assert post(outsider_api, f"/features/{feature.pk}/rollout", {"percent": 5}).status_code == 404
    assert not RolloutStage.objects.exists()


def test_a_record_of_another_feature_is_404(pm_api, acme, feature):
    other = FeatureFactory(workspace=acme)
    check = QaCheck.objects.create(feature=other, outcome="x")
    response = patch(pm_api, f"/features/{feature.pk}/qa-checks/{check.pk}", {"result": "pass"})
    assert response.status_code == 404
