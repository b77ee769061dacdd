import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from quarterdeck.accounts.models import Workspace
from quarterdeck.backlog.models import Feature
from quarterdeck.core.models import Activity
from quarterdeck.strategy import ranking, services
from quarterdeck.strategy.models import Driver, FeatureMeasurement
from quarterdeck.testing.factories import (
    CheckInFactory,
    DriverFactory,
    EvaluationFactory,
    FeatureDriverFactory,
    FeatureFactory,
    KeyResultFactory,
    SquadFactory,
)

pytestmark = pytest.mark.django_db


def url(name, **kw):
    return reverse(f"strategy:{name}", kwargs={"ws": "acme", **kw})


@pytest.fixture
def backlog(acme):
    squad = SquadFactory(workspace=acme, name="Growth", color="#059669")
    growth = DriverFactory(workspace=acme, name="Acquisition", weight=1.0)
    engage = DriverFactory(workspace=acme, name="Engagement", weight=1.0)
    referral = FeatureFactory(workspace=acme, title="Referral program", squad=squad)
    streaks = FeatureFactory(workspace=acme, title="Learning streaks")
    FeatureDriverFactory(feature=referral, driver=growth, contribution=1)
    FeatureDriverFactory(feature=streaks, driver=engage, contribution=2)
    EvaluationFactory(feature=referral, effort=1, risk="low")
    EvaluationFactory(feature=streaks, effort=1, risk="low")
    FeatureFactory(workspace=acme, title="Not estimated")
    ranking.recompute_workspace(acme)
    return {"growth": growth, "engage": engage, "referral": referral, "streaks": streaks}


def test_matrix_places_evaluated_features_as_links(pm_client, backlog):
    body = pm_client.get(url("matrix")).content.decode()
    assert "Quick wins" in body and "Money pits" in body
    assert body.count('class="bubble"') == 2
    assert "<title>Referral program" in body and 'fill="#059669"' in body
    assert "1 feature not evaluated yet" in body


def test_matrix_filters_by_squad_and_driver(pm_client, backlog):
    squad = backlog["referral"].squad
    body = pm_client.get(url("matrix") + f"?squad={squad.pk}").content.decode()
    assert body.count('class="bubble"') == 1 and "<title>Referral program" in body
    body = pm_client.get(url("matrix") + f"?driver={backlog['engage'].pk}").content.decode()
    assert body.count('class="bubble"') == 1 and "<title>Learning streaks" in body


def test_matrix_empty_state_teaches(pm_client):
    body = pm_client.get(url("matrix")).content.decode()
    assert "Nothing to place yet" in body


def test_what_if_reranks_without_saving(pm_client, backlog):
    growth = backlog["growth"]
    response = pm_client.post(
        url("what_if"),
        {f"weight-{growth.pk}": "5", f"weight-{backlog['engage'].pk}": "1"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("Referral program") < body.index("Learning streaks")
    assert "▲ 1" in body
    assert Driver.objects.get(pk=growth.pk).weight == 1.0
    assert Feature.objects.get(pk=backlog["referral"].pk).score == pytest.approx(1.0)


def test_what_if_rejects_negative_weight(pm_client, backlog):
    response = pm_client.post(
        url("what_if"), {f"weight-{backlog['growth'].pk}": "-1"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert "zero or more" in response.content.decode()


def test_save_weights_applies_and_reranks(pm_client, backlog, django_capture_on_commit_callbacks):
    growth = backlog["growth"]
    with django_capture_on_commit_callbacks(execute=True):
        response = pm_client.post(
            url("weights_save"),
            {f"weight-{growth.pk}": "5", f"weight-{backlog['engage'].pk}": "1"},
        )
    assert response.status_code == 302
    assert Driver.objects.get(pk=growth.pk).weight == 5.0
    assert Feature.objects.get(pk=backlog["referral"].pk).score == pytest.approx(5.0)
    assert Activity.objects.filter(verb="updated", target_type="driver").count() == 1
    body = pm_client.get(url("matrix")).content.decode()
    assert "What moved and why" in body and "Acquisition 1 → 5" in body


def test_viewer_can_preview_but_not_save(viewer_client, backlog):
    growth = backlog["growth"]
    data = {f"weight-{growth.pk}": "5"}
    assert viewer_client.post(url("what_if"), data, HTTP_HX_REQUEST="true").status_code == 200
    assert viewer_client.post(url("weights_save"), data).status_code == 403
    assert Driver.objects.get(pk=growth.pk).weight == 1.0


def test_scoring_settings_switch_framework(
    pm_client, acme, backlog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = pm_client.post(url("scoring"), {"framework": "custom", "formula": "value * 10"})
    assert response.status_code == 302
    assert Workspace.objects.get(pk=acme.pk).scoring["framework"] == "custom"
    assert Feature.objects.get(pk=backlog["referral"].pk).score == pytest.approx(10.0)


def test_bad_formula_is_refused_with_position_and_old_one_kept(pm_client, acme):
    services.scoring_config_update(workspace=acme, framework="custom", formula="value / effort")
    response = pm_client.post(url("scoring"), {"framework": "custom", "formula": "value / efort"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "efort" in body and "position 8" in body and "effort" in body
    assert Workspace.objects.get(pk=acme.pk).scoring["formula"] == "value / effort"


def test_contributor_cannot_change_scoring(client, carl, acme):
    client.force_login(carl)
    assert client.get(url("scoring")).status_code == 200
    assert client.post(url("scoring"), {"framework": "rice"}).status_code == 403


def test_feature_score_page_shows_terms_and_missing(pm_client, acme, backlog):
    body = pm_client.get(url("feature_score", pk=backlog["referral"].pk)).content.decode()
    assert "driver_value" in body and "value / (effort * risk_factor)" in body
    unestimated = Feature.objects.get(title="Not estimated")
    body = pm_client.get(url("feature_score", pk=unestimated.pk)).content.decode()
    assert "missing" in body.lower() and "Missing: effort" in body


def test_score_box_include_renders_breakdown(rf, acme, paula, backlog):
    from django.template.loader import render_to_string

    html = render_to_string(
        "strategy/_score_box.html", {"feature": backlog["referral"], "workspace": acme}
    )
    assert "<details" in html and "1.00" in html and "driver_value" in html


def test_score_page_of_other_workspace_is_404(pm_client, globex):
    other = FeatureFactory(workspace=globex)
    assert pm_client.get(url("feature_score", pk=other.pk)).status_code == 404


# --- measured impact ----------------------------------------------------------------------------


@pytest.fixture
def shipped(acme):
    kr = KeyResultFactory(objective__workspace=acme, baseline=25, target=20, metric="Absenteeism")
    feature = FeatureFactory(
        workspace=acme,
        status="shipped",
        status_changed_at=timezone.now() - dt.timedelta(days=40),
        expected_outcomes="Absenteeism -2 points within a month",
    )
    feature.key_results.add(kr)
    today = timezone.localdate()
    CheckInFactory(key_result=kr, value=25, checked_on=today - dt.timedelta(days=45))
    CheckInFactory(key_result=kr, value=24, checked_on=today - dt.timedelta(days=41))
    CheckInFactory(key_result=kr, value=21, checked_on=today - dt.timedelta(days=15))
    CheckInFactory(key_result=kr, value=20, checked_on=today)  # after the 30-day window
    return feature, kr


def test_feature_measure_compares_before_and_after(shipped, paula):
    feature, kr = shipped
    (m,) = services.feature_measure(feature=feature, window_days=30, by=paula)
    assert (m.before, m.after) == (24, 21)
    assert m.change == -3 and m.expected_change == -2 and m.met_expectation is True
    assert Activity.objects.filter(verb="measured", target_id=feature.pk).exists()
    assert m in ranking_selectors_measurement(feature)


def ranking_selectors_measurement(feature):
    from quarterdeck.strategy.selectors import measurement_for

    return measurement_for(feature)


def test_measure_waits_for_a_check_in_after_shipping(acme, paula):
    kr = KeyResultFactory(objective__workspace=acme)
    feature = FeatureFactory(workspace=acme, status="shipped", status_changed_at=timezone.now())
    feature.key_results.add(kr)
    CheckInFactory(key_result=kr, value=24, checked_on=timezone.localdate() - dt.timedelta(days=3))
    (m,) = services.feature_measure(feature=feature, window_days=30, by=paula, expected_change=-1)
    assert m.before == 24 and m.after is None and not m.is_complete
    services.check_in_create(
        key_result=kr, value=22, checked_on=timezone.localdate() + dt.timedelta(days=1)
    )
    m.refresh_from_db()
    assert m.after == 22 and m.met_expectation is True


def test_only_shipped_features_are_measured(acme, paula):
    feature = FeatureFactory(workspace=acme, status="in_engineering")
    with pytest.raises(Exception) as exc:
        services.feature_measure(feature=feature, window_days=30, by=paula)
    assert "shipped" in str(exc.value)


def test_measure_view_and_results_on_key_result_page(pm_client, shipped):
    feature, kr = shipped
    response = pm_client.post(url("feature_measure", pk=feature.pk), {"window_days": "30"})
    assert response.status_code == 302
    assert FeatureMeasurement.objects.filter(feature=feature).count() == 1
    body = pm_client.get(url("key_result", pk=kr.pk)).content.decode()
    assert "Measured impact" in body and feature.title in body and "✓" in body
    body = pm_client.get(url("feature_score", pk=feature.pk)).content.decode()
    assert "Results" in body and "Measure again" in body


@pytest.mark.parametrize(
    ("name", "entry"),
    [("drivers", "Prioritization"), ("scoring", "Prioritization"), ("okrs", "OKRs")],
)
def test_strategy_pages_mark_their_section_in_the_navigation(pm_client, name, entry):
    body = pm_client.get(url(name)).content.decode()
    assert f'aria-current="page">{entry}</a>' in body
    assert body.count('aria-current="page"') == 1


def test_a_score_page_marks_prioritization_in_the_navigation(pm_client, backlog):
    feature = Feature.objects.filter(workspace=backlog["engage"].workspace).first()
    body = pm_client.get(url("feature_score", pk=feature.pk)).content.decode()
    assert 'aria-current="page">Prioritization</a>' in body
