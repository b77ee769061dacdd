import math

import pytest

from quarterdeck.accounts.models import Workspace
from quarterdeck.backlog.models import Feature
from quarterdeck.strategy import ranking
from quarterdeck.strategy.models import Driver
from quarterdeck.testing.factories import (
    DriverFactory,
    EvaluationFactory,
    FeatureDriverFactory,
    FeatureFactory,
    InsightLinkFactory,
    NeedFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def feature(acme):
    driver = DriverFactory(workspace=acme, name="Acquisition", weight=2.0)
    feature = FeatureFactory(workspace=acme, title="Referral program")
    FeatureDriverFactory(feature=feature, driver=driver, contribution=3)
    EvaluationFactory(feature=feature, effort=4, risk="medium", confidence=0.5)
    need = NeedFactory(workspace=acme)
    feature.needs.add(need)
    InsightLinkFactory(need=need, importance=3)
    return feature


def _combine(body):
    """Evaluate the response's formula over its own term values."""
    from quarterdeck.lib.formula import parse

    values = {t["name"]: t["value"] for t in body["terms"]}
    return parse(body["formula"], values).evaluate(values)


def test_score_terms_combine_to_total(pm_api, feature):
    response = pm_api.get(f"/api/v1/features/{feature.pk}/score")
    body = response.json()
    assert response.status_code == 200
    assert body["framework"] == "value_effort"
    names = {t["name"] for t in body["terms"]}
    assert {"value", "effort", "risk_factor", "user_value", "driver_value"} <= names
    assert math.isclose(_combine(body), body["total"], rel_tol=1e-9)
    shares = {t["name"]: t["share"] for t in body["terms"]}
    assert shares["user_value"] + shares["company_value"] == pytest.approx(1.0)
    driver = next(t for t in body["terms"] if t["name"] == "driver_value")
    assert driver["inputs"] == {"Acquisition": 6.0}


def test_score_of_unevaluated_feature_names_missing_terms(pm_api, acme):
    feature = FeatureFactory(workspace=acme)
    body = pm_api.get(f"/api/v1/features/{feature.pk}/score").json()
    assert body["total"] is None
    assert "effort" in body["missing"]
    assert next(t for t in body["terms"] if t["name"] == "effort")["value"] is None


def test_score_of_other_workspace_is_404(outsider_api, feature):
    response = outsider_api.get(f"/api/v1/features/{feature.pk}/score")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_get_scoring_lists_framework_and_driver_weights(viewer_api, feature):
    body = viewer_api.get("/api/v1/scoring").json()
    assert body["framework"] == "value_effort"
    assert body["drivers"][0]["name"] == "Acquisition" and body["drivers"][0]["weight"] == 2.0
    assert "user_value" in body["terms"]


def test_put_scoring_sets_formula_weights_and_rescores(
    pm_api, acme, feature, django_capture_on_commit_callbacks
):
    driver = Driver.objects.get(name="Acquisition")
    with django_capture_on_commit_callbacks(execute=True):
        response = pm_api.put(
            "/api/v1/scoring",
            {
                "framework": "custom",
                "formula": "company_value / effort",
                "drivers": [{"id": driver.pk, "name": "Acquisition", "weight": 4}],
            },
            content_type="application/json",
        )
    assert response.status_code == 200, response.content
    assert response.json()["formula"] == "company_value / effort"
    assert Driver.objects.get(pk=driver.pk).weight == 4
    assert Feature.objects.get(pk=feature.pk).score == pytest.approx(12 / 4)
    body = pm_api.get(f"/api/v1/features/{feature.pk}/score").json()
    assert body["total"] == pytest.approx(3.0) and math.isclose(_combine(body), body["total"])


def test_bad_formula_is_400_with_position_and_nothing_changes(pm_api, acme, feature):
    driver = Driver.objects.get(name="Acquisition")
    response = pm_api.put(
        "/api/v1/scoring",
        {
            "framework": "custom",
            "formula": "value / (effort",
            "drivers": [{"id": driver.pk, "weight": 9}],
        },
        content_type="application/json",
    )
    body = response.json()
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert body["title"] == "Invalid formula"
    assert isinstance(body["position"], int) and "formula" in body["errors"]
    assert Workspace.objects.get(pk=acme.pk).scoring == {}
    assert Driver.objects.get(pk=driver.pk).weight == 2.0


def test_unknown_driver_is_400_and_formula_not_saved(pm_api, acme):
    response = pm_api.put(
        "/api/v1/scoring",
        {"framework": "rice", "drivers": [{"id": 999999, "weight": 1}]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert Workspace.objects.get(pk=acme.pk).scoring == {}


def test_viewer_cannot_put_scoring(viewer_api, acme):
    response = viewer_api.put(
        "/api/v1/scoring", {"framework": "rice"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert Workspace.objects.get(pk=acme.pk).scoring == {}


def test_ordering_by_score_follows_recompute(pm_api, acme, feature):
    other = FeatureFactory(workspace=acme, title="Low")
    EvaluationFactory(feature=other, effort=10, risk="high")
    ranking.recompute_workspace(acme)
    body = pm_api.get("/api/v1/features?ordering=-score").json()
    titles = [f["title"] for f in body["results"]]
    assert titles.index("Referral program") < titles.index("Low")
