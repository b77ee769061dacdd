import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from quarterdeck.core.models import Activity
from quarterdeck.strategy import selectors
from quarterdeck.strategy.models import CheckIn, KeyResult, Objective, quarter_bounds, quarter_of
from quarterdeck.testing.factories import (
    CheckInFactory,
    FeatureFactory,
    KeyResultFactory,
    ObjectiveFactory,
    SquadFactory,
)

pytestmark = pytest.mark.django_db


def url(name, **kw):
    return reverse(f"strategy:{name}", kwargs={"ws": "acme", **kw})


@pytest.fixture
def kr(acme):
    objective = ObjectiveFactory(workspace=acme, title="More engaged students")
    return KeyResultFactory(
        objective=objective, metric="Absenteeism", baseline=25, target=20, direction="decrease"
    )


def test_progress_runs_from_baseline_to_target_in_either_direction(kr):
    kr.current = 22.5
    assert kr.progress == pytest.approx(0.5)
    kr.current = 30
    assert kr.progress == 0.0
    up = KeyResult(objective=kr.objective, metric="NPS", baseline=10, target=30, current=35)
    assert up.progress == 1.0
    keep = KeyResult(
        objective=kr.objective, metric="Uptime", baseline=99, target=99.5, direction="keep_above"
    )
    keep.current = 99.7
    assert keep.progress == 1.0


def test_grade_is_progress_at_quarter_end(acme):
    objective = ObjectiveFactory(workspace=acme, quarter="2025-Q1")
    kr = KeyResultFactory(objective=objective, baseline=0, target=100, direction="increase")
    CheckInFactory(key_result=kr, value=40, checked_on=dt.date(2025, 2, 1))
    CheckInFactory(key_result=kr, value=70, checked_on=dt.date(2025, 3, 31))
    CheckInFactory(key_result=kr, value=95, checked_on=dt.date(2025, 4, 20))  # after the quarter
    kr = KeyResult.objects.prefetch_related("check_ins").get(pk=kr.pk)
    assert kr.grade == pytest.approx(0.7)
    assert kr.grade_is_final


def test_quarter_bounds():
    assert quarter_bounds("2026-Q4") == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert quarter_bounds("2026-Q1") == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))


def test_at_risk_on_low_confidence(kr):
    check_in = CheckInFactory(key_result=kr, value=24, confidence=0.3)
    assert selectors.is_at_risk(kr, [check_in])


def test_at_risk_when_far_behind_the_straight_line(acme):
    objective = ObjectiveFactory(workspace=acme, quarter="2025-Q1")
    kr = KeyResultFactory(objective=objective, baseline=0, target=100, direction="increase")
    late = CheckInFactory(key_result=kr, value=10, confidence=0.9, checked_on=dt.date(2025, 3, 1))
    reasons = selectors.risk_reasons(kr, [late])
    assert reasons and "Behind plan" in reasons[0]
    on_track = CheckIn(key_result=kr, value=70, confidence=0.9, checked_on=dt.date(2025, 3, 1))
    assert not selectors.is_at_risk(kr, [on_track])


def test_okr_page_shows_quarter_objectives_progress_and_features(pm_client, acme, kr):
    CheckInFactory(key_result=kr, value=22.5, confidence=0.8)
    kr.current = 22.5
    kr.save()
    feature = FeatureFactory(workspace=acme, title="Attendance reminders", status="in_engineering")
    feature.key_results.add(kr)
    ObjectiveFactory(workspace=acme, title="Old news", quarter="2020-Q1")
    response = pm_client.get(url("okrs"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "More engaged students" in body
    assert "Old news" not in body
    assert "Attendance reminders" in body
    assert 'aria-valuenow="50"' in body
    assert '<svg class="spark"' in body
    assert "conf-ok" in body


def test_okr_page_filters_by_quarter_and_squad(pm_client, acme):
    squad = SquadFactory(workspace=acme, name="Learners")
    ObjectiveFactory(workspace=acme, title="Squad goal", quarter="2025-Q3", squad=squad)
    ObjectiveFactory(workspace=acme, title="Company goal", quarter="2025-Q3")
    body = pm_client.get(url("okrs") + "?q=2025-Q3").content.decode()
    assert "Squad goal" in body and "Company goal" in body
    body = pm_client.get(url("okrs") + f"?q=2025-Q3&squad={squad.pk}").content.decode()
    assert "Squad goal" in body and "Company goal" not in body
    body = pm_client.get(url("okrs") + "?q=2025-Q3&squad=company").content.decode()
    assert "Squad goal" not in body and "Company goal" in body


def test_empty_quarter_teaches(pm_client, acme):
    body = pm_client.get(url("okrs") + "?q=2031-Q2").content.decode()
    assert "No objectives for 2031-Q2" in body
    assert "Set the first objective" in body


def test_key_result_page_has_chart_history_and_form(pm_client, kr):
    CheckInFactory(key_result=kr, value=24, comment="First week")
    response = pm_client.get(url("key_result", pk=kr.pk))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'class="chart"' in body and "First week" in body
    assert "Record check-in" in body


def test_check_in_form_updates_current(pm_client, kr):
    response = pm_client.post(
        url("checkin", pk=kr.pk),
        {"value": "23", "confidence": "0.6", "checked_on": "2026-01-05", "comment": "better"},
    )
    assert response.status_code == 302
    kr.refresh_from_db()
    assert kr.current == 23
    assert CheckIn.objects.get(key_result=kr).comment == "better"
    assert Activity.objects.filter(verb="checked_in", target_id=kr.pk).exists()


def test_check_in_form_rejects_bad_confidence(pm_client, kr):
    response = pm_client.post(
        url("checkin", pk=kr.pk), {"value": "23", "confidence": "4", "checked_on": "2026-01-05"}
    )
    assert response.status_code == 400
    assert not CheckIn.objects.filter(key_result=kr).exists()


def test_viewer_cannot_check_in(viewer_client, kr):
    response = viewer_client.post(
        url("checkin", pk=kr.pk), {"value": "23", "confidence": "0.6", "checked_on": "2026-01-05"}
    )
    assert response.status_code == 403
    assert "Record check-in" not in viewer_client.get(url("key_result", pk=kr.pk)).content.decode()


def _csv(text):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("checkins.csv", text.encode(), content_type="text/csv")


def test_csv_check_ins_are_imported(pm_client, kr):
    text = "date,value,confidence,comment\n2026-01-05,24,0.8,week 1\n2026-01-12,23.5,,week 2\n"
    response = pm_client.post(url("checkin_csv", pk=kr.pk), {"file": _csv(text)})
    assert response.status_code == 302
    kr.refresh_from_db()
    assert kr.current == 23.5
    assert list(kr.check_ins.values_list("value", "confidence")) == [(24, 0.8), (23.5, 0.7)]


def test_csv_check_ins_are_all_or_nothing_with_line_errors(pm_client, kr):
    text = "date,value,confidence\n2026-01-05,24,0.8\n2026-13-01,x,0.5\n2026-01-19,22,7\n"
    response = pm_client.post(url("checkin_csv", pk=kr.pk), {"file": _csv(text)})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Line 3" in body and "is not a number" in body
    assert "Line 4" in body and "confidence" in body
    assert not CheckIn.objects.filter(key_result=kr).exists()


def test_csv_unknown_column_is_refused(pm_client, kr):
    response = pm_client.post(url("checkin_csv", pk=kr.pk), {"file": _csv("day,value\n")})
    assert response.status_code == 400
    assert "unknown column" in response.content.decode()


def test_pm_creates_objective_and_key_result(pm_client, acme, paula):
    squad = SquadFactory(workspace=acme)
    response = pm_client.post(
        url("objective_new"),
        {"title": "Faster placement", "quarter": "2026-Q4", "squad": squad.pk, "owner": paula.pk},
    )
    objective = Objective.objects.get(title="Faster placement")
    assert response.status_code == 302 and objective.squad == squad and objective.owner == paula
    response = pm_client.post(
        url("key_result_new", pk=objective.pk),
        {
            "metric": "Days to first job",
            "unit": "days",
            "baseline": 90,
            "target": 60,
            "direction": "decrease",
        },
    )
    assert response.status_code == 302
    assert objective.key_results.get().target == 60


def test_objective_with_bad_quarter_is_refused(pm_client):
    response = pm_client.post(url("objective_new"), {"title": "X", "quarter": "2026-5"})
    assert response.status_code == 400
    assert "YYYY-Qn" in response.content.decode()
    assert not Objective.objects.exists()


def test_pm_edits_key_result(pm_client, kr):
    response = pm_client.post(
        url("key_result_edit", pk=kr.pk),
        {
            "metric": "Absence rate",
            "unit": "%",
            "baseline": 25,
            "target": 18,
            "direction": "decrease",
        },
    )
    assert response.status_code == 302
    kr.refresh_from_db()
    assert (kr.metric, kr.target) == ("Absence rate", 18)


def test_contributor_cannot_create_objectives(client, carl):
    client.force_login(carl)
    assert client.get(url("objective_new")).status_code == 403


def test_outsider_gets_404(outsider_client, kr):
    assert outsider_client.get(url("okrs")).status_code == 404
    # oscar's own workspace cannot reach acme's key result either
    response = outsider_client.get(
        reverse("strategy:key_result", kwargs={"ws": "globex", "pk": kr.pk})
    )
    assert response.status_code == 404


def test_current_quarter():
    assert selectors.current_quarter() == quarter_of(timezone.localdate())
