import pytest

from quarterdeck.insights.models import Insight, InsightLink
from quarterdeck.linking import services
from quarterdeck.testing.factories import FeatureFactory, NeedFactory


@pytest.fixture
def data(acme, globex):
    need = NeedFactory(workspace=acme, title="Watch course videos offline")
    FeatureFactory(workspace=acme, title="Offline video downloads")
    insight = Insight.objects.create(
        workspace=acme, text="I want offline videos on the train", captured_at="2025-01-01T00:00Z"
    )
    NeedFactory(workspace=globex, title="Watch course videos offline in globex")
    Insight.objects.create(
        workspace=globex, text="offline videos please", captured_at="2025-01-01T00:00Z"
    )
    return need, insight


def test_search_answers_each_kind_from_the_tokens_workspace_only(pm_api, data):
    services.suggestions_for(insight=data[1])  # stores the insight's vector
    body = pm_api.get("/api/v1/search", {"q": "offline videos"}).json()
    assert [h["title"] for h in body["results"]["needs"]] == ["Watch course videos offline"]
    assert [h["title"] for h in body["results"]["features"]] == ["Offline video downloads"]
    assert [h["id"] for h in body["results"]["insights"]] == [data[1].pk]
    assert body["results"]["needs"][0]["similarity"] > 0


def test_search_types_and_limit(pm_api, data):
    body = pm_api.get("/api/v1/search", {"q": "offline", "types": "needs", "limit": 1}).json()
    assert list(body["results"]) == ["needs"]


def test_search_without_q_is_a_problem(pm_api, data):
    response = pm_api.get("/api/v1/search")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert "q" in response.json()["errors"]
    assert pm_api.get("/api/v1/search", {"q": "x", "types": "bogus"}).status_code == 400


def test_suggestions_and_accept_over_the_api(pm_api, viewer_api, data):
    need, insight = data
    rows = pm_api.get(f"/api/v1/insights/{insight.pk}/suggestions").json()
    assert rows[0]["need"] == need.pk
    assert (
        viewer_api.post(
            f"/api/v1/suggestions/{rows[0]['id']}/accept", {}, content_type="application/json"
        ).status_code
        == 403
    )
    response = pm_api.post(
        f"/api/v1/suggestions/{rows[0]['id']}/accept", {}, content_type="application/json"
    )
    assert response.status_code == 201
    assert InsightLink.objects.get(insight=insight).from_suggestion


def test_outsider_token_sees_no_foreign_suggestions(outsider_api, data):
    assert outsider_api.get(f"/api/v1/insights/{data[1].pk}/suggestions").status_code == 404
