"""Stakeholders, needs, drivers, objectives, key results, check-ins and squads over the API."""

import pytest

from quarterdeck.api.tests.conftest import assert_problem
from quarterdeck.core.models import Activity
from quarterdeck.insights.models import InsightLink, Need, Segment, Stakeholder
from quarterdeck.squads.models import Squad, SquadMember
from quarterdeck.strategy.models import CheckIn, Driver, KeyResult, Objective
from quarterdeck.testing.factories import (
    CheckInFactory,
    DriverFactory,
    InsightFactory,
    KeyResultFactory,
    NeedFactory,
    ObjectiveFactory,
    SquadFactory,
    SquadMemberFactory,
    StakeholderFactory,
)

# Each resource: (path, model, factory making one acme row, create payload, patch payload)
RESOURCES = {
    "stakeholders": (
        Stakeholder,
        lambda ws: StakeholderFactory(workspace=ws),
        {"name": "Ana", "email": "ana@school.org", "segment": "student", "weight": 2},
        {"organisation": "Riverside School"},
    ),
    "needs": (
        Need,
        lambda ws: NeedFactory(workspace=ws),
        {"title": "As a student I'd like quicker access to my projects", "segments": ["student"]},
        {"description": "Seen in many interviews"},
    ),
    "drivers": (
        Driver,
        lambda ws: DriverFactory(workspace=ws),
        {"name": "Acquisition", "weight": 3},
        {"weight": 1.5},
    ),
    "objectives": (
        Objective,
        lambda ws: ObjectiveFactory(workspace=ws),
        {"title": "More engaged students", "quarter": "2026-Q4"},
        {"description": "Company-level"},
    ),
    "key-results": (
        KeyResult,
        lambda ws: KeyResultFactory(objective=ObjectiveFactory(workspace=ws)),
        None,  # needs an objective: see test_key_results_crud
        {"target": 15},
    ),
    "squads": (
        Squad,
        lambda ws: SquadFactory(workspace=ws),
        {"name": "Growth", "mission": "Bring students in"},
        {"mission": "Keep students"},
    ),
}


def _workspace_of(obj):
    return obj.objective.workspace if isinstance(obj, KeyResult) else obj.workspace


@pytest.mark.parametrize("path", [p for p, r in RESOURCES.items() if r[2] is not None])
def test_create_get_patch_and_delete(pm, acme, path):
    model, _factory, create, patch = RESOURCES[path]
    response = pm.post(f"/{path}", create)
    assert response.status_code == 201, response.content
    body = response.json()
    obj = model.objects.get(pk=body["id"])
    assert _workspace_of(obj) == acme
    for field, value in create.items():
        assert body[field] == value, field

    response = pm.get(f"/{path}/{obj.pk}")
    assert response.status_code == 200 and response.json()["id"] == obj.pk

    response = pm.patch(f"/{path}/{obj.pk}", patch)
    assert response.status_code == 200, response.content
    body = response.json()
    for field, value in {**create, **patch}.items():
        assert body[field] == value, field

    response = pm.delete(f"/{path}/{obj.pk}")
    assert response.status_code == 204
    assert not model.objects.filter(pk=obj.pk).exists()
    assert Activity.objects.filter(verb="deleted", target_id=obj.pk).exists()
    assert_problem(pm.get(f"/{path}/{obj.pk}"), 404)


@pytest.mark.parametrize("path", list(RESOURCES))
def test_list_pages_through_every_row_once(pm, acme, globex, path):
    _model, factory, _create, _patch = RESOURCES[path]
    made = sorted(factory(acme).pk for _ in range(5))
    factory(globex)
    rows, pages = pm.all(f"/{path}", limit=2)
    assert sorted(r["id"] for r in rows) == made
    assert pages == 3


@pytest.mark.parametrize("path", list(RESOURCES))
def test_outsider_gets_404_and_an_empty_list(outsider, acme, path):
    model, factory, _create, patch = RESOURCES[path]
    obj = factory(acme)
    assert outsider.get(f"/{path}").json()["results"] == []
    assert_problem(outsider.get(f"/{path}/{obj.pk}"), 404)
    assert_problem(outsider.patch(f"/{path}/{obj.pk}", patch), 404)
    assert_problem(outsider.delete(f"/{path}/{obj.pk}"), 404)
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("path", list(RESOURCES))
def test_viewer_cannot_write(viewer, acme, path):
    model, factory, create, patch = RESOURCES[path]
    obj = factory(acme)
    before = model.objects.count()
    assert viewer.get(f"/{path}/{obj.pk}").status_code == 200
    assert_problem(viewer.post(f"/{path}", create or {}), 403)
    assert_problem(viewer.patch(f"/{path}/{obj.pk}", patch), 403)
    assert_problem(viewer.delete(f"/{path}/{obj.pk}"), 403)
    assert model.objects.count() == before


@pytest.mark.parametrize("path", list(RESOURCES))
def test_unknown_fields_are_named_in_a_400(pm, acme, path):
    _model, factory, _create, _patch = RESOURCES[path]
    obj = factory(acme)
    body = assert_problem(pm.patch(f"/{path}/{obj.pk}", {"flavour": "x"}), 400, "flavour")
    assert "flavour" in body["detail"]


def test_stakeholder_email_taken_is_a_conflict(pm, acme):
    existing = StakeholderFactory(workspace=acme, email="ana@school.org")
    body = assert_problem(pm.post("/stakeholders", {"name": "A", "email": "ANA@school.org"}), 409)
    assert body["errors"]["email"] and body["existing"] == existing.pk


def test_stakeholder_bad_values_name_the_field(pm, acme):
    assert_problem(pm.post("/stakeholders", {"email": "a@b.org"}), 400, "name")
    assert_problem(pm.post("/stakeholders", {"name": "A", "email": "nope"}), 400, "email")
    assert_problem(pm.post("/stakeholders", {"name": "A", "weight": -1}), 400, "weight")
    assert_problem(pm.post("/stakeholders", {"name": "A", "segment": "alien"}), 400, "segment")


def test_stakeholder_list_filters(pm, acme):
    ana = StakeholderFactory(workspace=acme, name="Ana", email="ana@school.org")
    StakeholderFactory(workspace=acme, name="Bo")
    assert [r["id"] for r in pm.get("/stakeholders", q="ana").json()["results"]] == [ana.pk]
    assert [r["id"] for r in pm.get("/stakeholders", email="ana@school.org").json()["results"]] == [
        ana.pk
    ]


def test_need_segments_are_keys_and_unknown_ones_are_listed(pm, acme):
    body = assert_problem(pm.post("/needs", {"title": "A", "segments": ["alien"]}), 400, "segments")
    assert "student" in body["errors"]["segments"][0]
    body = pm.post("/needs", {"title": "A", "segments": ["mentor", "student"]}).json()
    assert body["segments"] == ["mentor", "student"] and body["insight_count"] == 0
    assert body["state"] == "open"


def test_link_and_unlink_an_insight_to_a_need(pm, acme, globex):
    need = NeedFactory(workspace=acme)
    insight = InsightFactory(workspace=acme, text="I want my projects on top")
    response = pm.post(
        f"/needs/{need.pk}/insights",
        {"insight": insight.pk, "highlight": "my projects", "importance": 3},
    )
    assert response.status_code == 201, response.content
    assert InsightLink.objects.get(need=need, insight=insight).importance == 3
    assert pm.get(f"/needs/{need.pk}").json()["insight_count"] == 1
    assert pm.get(f"/insights/{insight.pk}").json()["needs"] == [need.pk]
    assert [r["insight"] for r in pm.get(f"/needs/{need.pk}/insights").json()] == [insight.pk]
    foreign = InsightFactory(workspace=globex)
    assert_problem(pm.post(f"/needs/{need.pk}/insights", {"insight": foreign.pk}), 400, "insight")
    assert pm.delete(f"/needs/{need.pk}/insights/{insight.pk}").status_code == 204
    assert not InsightLink.objects.filter(need=need).exists()
    assert_problem(pm.delete(f"/needs/{need.pk}/insights/{insight.pk}"), 404)


def test_driver_name_taken_is_a_conflict(pm, acme):
    DriverFactory(workspace=acme, name="Acquisition")
    assert_problem(pm.post("/drivers", {"name": "acquisition"}), 409, "name")


def test_contributors_cannot_change_drivers(client, acme, carl):
    from quarterdeck.accounts.models import Membership
    from quarterdeck.api.tests.conftest import Api
    from quarterdeck.testing.factories import make_token

    token = make_token(Membership.objects.get(user=carl, workspace=acme))
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    assert_problem(Api(client).post("/drivers", {"name": "Automation"}), 403)
    assert not Driver.objects.exists()


def test_objective_with_key_results_created_together(pm, acme):
    squad = SquadFactory(workspace=acme)
    response = pm.post(
        "/objectives",
        {
            "title": "More engaged students",
            "quarter": "2026-Q4",
            "squad": squad.pk,
            "key_results": [
                {
                    "metric": "Absenteeism",
                    "unit": "%",
                    "baseline": 25,
                    "target": 20,
                    "direction": "decrease",
                },
                {"metric": "Weekly active students", "baseline": 100, "target": 150},
            ],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["squad"] == squad.pk
    krs = body["key_results"]
    assert [kr["metric"] for kr in krs] == ["Absenteeism", "Weekly active students"]
    assert krs[0]["objective"] == body["id"] and krs[0]["direction"] == "decrease"
    assert krs[1]["direction"] == "increase" and krs[1]["current"] is None
    assert KeyResult.objects.filter(objective_id=body["id"]).count() == 2


def test_objective_bad_key_result_creates_nothing(pm, acme):
    response = pm.post(
        "/objectives",
        {"title": "O", "quarter": "2026-Q4", "key_results": [{"metric": "M", "baseline": 1}]},
    )
    assert_problem(response, 400, "key_results.0.target")
    assert_problem(pm.post("/objectives", {"title": "O", "quarter": "Q4 2026"}), 400, "quarter")
    assert_problem(pm.post("/objectives", {"title": "O", "quarter": "0000-Q1"}), 400, "quarter")
    assert not Objective.objects.exists()


def test_key_results_crud(pm, acme, globex):
    objective = ObjectiveFactory(workspace=acme)
    payload = {"objective": objective.pk, "metric": "NPS", "baseline": 20, "target": 40}
    response = pm.post("/key-results", payload)
    assert response.status_code == 201, response.content
    kr = response.json()
    assert (kr["objective"], kr["metric"], kr["direction"]) == (objective.pk, "NPS", "increase")
    response = pm.patch(f"/key-results/{kr['id']}", {"direction": "keep_above"})
    assert response.json()["direction"] == "keep_above"
    assert_problem(pm.patch(f"/key-results/{kr['id']}", {"direction": "sideways"}), 400)
    foreign = ObjectiveFactory(workspace=globex)
    assert_problem(pm.post("/key-results", {**payload, "objective": foreign.pk}), 400, "objective")
    assert pm.get(f"/objectives/{objective.pk}").json()["key_results"][0]["id"] == kr["id"]
    assert pm.delete(f"/key-results/{kr['id']}").status_code == 204
    assert not KeyResult.objects.exists()


def test_check_ins_record_history_and_move_the_current_value(pm, acme):
    kr = KeyResultFactory(objective=ObjectiveFactory(workspace=acme))
    CheckInFactory(key_result=kr, value=24)
    response = pm.post(
        f"/key-results/{kr.pk}/check-ins",
        {"value": 22.5, "confidence": 0.6, "comment": "Better", "date": "2099-01-01"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["key_result"], body["value"], body["date"]) == (kr.pk, 22.5, "2099-01-01")
    assert body["comment"] == "Better" and body["confidence"] == 0.6
    kr.refresh_from_db()
    assert kr.current == 22.5
    rows, _pages = pm.all(f"/key-results/{kr.pk}/check-ins", limit=1)
    assert sorted(r["value"] for r in rows) == [22.5, 24]
    assert_problem(pm.post(f"/key-results/{kr.pk}/check-ins", {"value": 1, "confidence": 2}), 400)
    assert_problem(pm.post(f"/key-results/{kr.pk}/check-ins", {"value": "high"}), 400, "value")
    assert CheckIn.objects.count() == 2


def test_check_ins_of_another_workspace_are_404(outsider, viewer, acme):
    kr = KeyResultFactory(objective=ObjectiveFactory(workspace=acme))
    assert_problem(outsider.get(f"/key-results/{kr.pk}/check-ins"), 404)
    assert_problem(outsider.post(f"/key-results/{kr.pk}/check-ins", {"value": 1}), 404)
    assert_problem(viewer.post(f"/key-results/{kr.pk}/check-ins", {"value": 1}), 403)
    assert not CheckIn.objects.exists()


def test_squad_members_and_product_manager(pm, acme, paula, carl, oscar):
    response = pm.post(
        "/squads",
        {
            "name": "Growth",
            "product_manager": paula.pk,
            "members": [{"user": "carl@example.com", "role": "backend"}],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["product_manager"] == paula.pk
    assert {(m["email"], m["role"]) for m in body["members"]} == {
        ("paula@example.com", "product_manager"),
        ("carl@example.com", "backend"),
    }
    squad_id = body["id"]
    response = pm.patch(f"/squads/{squad_id}", {"members": [{"user": carl.pk, "role": "qa"}]})
    assert {(m["user"], m["role"]) for m in response.json()["members"]} == {
        (paula.pk, "product_manager"),
        (carl.pk, "qa"),
    }
    assert_problem(
        pm.patch(f"/squads/{squad_id}", {"members": [{"user": oscar.pk, "role": "qa"}]}),
        400,
        "members.0.user",
    )
    assert_problem(
        pm.patch(f"/squads/{squad_id}", {"members": [{"user": carl.pk, "role": "chef"}]}), 400
    )
    assert_problem(pm.patch(f"/squads/{squad_id}", {"product_manager": oscar.pk}), 400)
    assert SquadMember.objects.filter(squad_id=squad_id).count() == 2


def test_squad_name_taken_is_a_conflict(pm, acme):
    SquadFactory(workspace=acme, name="Growth")
    assert_problem(pm.post("/squads", {"name": "growth"}), 409, "name")


def test_squad_list_shows_members(pm, acme, carl):
    squad = SquadFactory(workspace=acme)
    SquadMemberFactory(squad=squad, user=carl, role="frontend")
    row = pm.get("/squads").json()["results"][0]
    assert row["members"] == [
        {"user": carl.pk, "email": "carl@example.com", "name": str(carl), "role": "frontend"}
    ]


def _rich(path, ws):
    """A row with the relations its list shows, so that a missing prefetch would show up."""
    if path == "features":
        from quarterdeck.testing.factories import FeatureDriverFactory, FeatureFactory

        feature = FeatureFactory(workspace=ws)
        FeatureDriverFactory(feature=feature)
        feature.needs.add(NeedFactory(workspace=ws))
        feature.key_results.add(KeyResultFactory(objective=ObjectiveFactory(workspace=ws)))
        return feature
    if path == "insights":
        from quarterdeck.testing.factories import InsightLinkFactory

        return InsightLinkFactory(need=NeedFactory(workspace=ws)).insight
    if path == "needs":
        need = NeedFactory(workspace=ws)
        need.segments.add(*Segment.objects.filter(workspace=ws))
        return need
    if path == "squads":
        squad = SquadFactory(workspace=ws)
        SquadMemberFactory(squad=squad)
        return squad
    if path == "objectives":
        kr = KeyResultFactory(objective=ObjectiveFactory(workspace=ws))
        return kr.objective
    return RESOURCES[path][1](ws)


@pytest.mark.parametrize("path", [*RESOURCES, "features", "insights"])
def test_list_queries_do_not_grow_with_rows(pm, acme, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        _rich(path, acme)
    pm.get(f"/{path}")  # token last-used stamp
    with CaptureQueriesContext(connection) as few:
        assert pm.get(f"/{path}").status_code == 200
    for _ in range(4):
        _rich(path, acme)
    with CaptureQueriesContext(connection) as more:
        response = pm.get(f"/{path}")
    assert len(response.json()["results"]) == 6
    assert len(more) == len(few), [q["sql"] for q in more]
