from quarterdeck.api.tests.conftest import assert_problem
from quarterdeck.backlog.models import Feature, FeatureDriver
from quarterdeck.core.models import Activity
from quarterdeck.testing.factories import (
    DriverFactory,
    FeatureDriverFactory,
    FeatureFactory,
    KeyResultFactory,
    NeedFactory,
    ObjectiveFactory,
    SquadFactory,
)


def test_create_a_feature_with_its_relations(pm, acme, paula):
    squad = SquadFactory(workspace=acme)
    need = NeedFactory(workspace=acme)
    driver = DriverFactory(workspace=acme, name="Acquisition")
    kr = KeyResultFactory(objective=ObjectiveFactory(workspace=acme))
    response = pm.post(
        "/features",
        {
            "title": "Project shortcuts",
            "description": "Pin projects on the home page",
            "squad": squad.pk,
            "owner": "paula@example.com",
            "needs": [need.pk],
            "drivers": [{"driver": driver.pk, "contribution": 3}],
            "key_results": [kr.pk],
            "expected_outcomes": "Fewer clicks",
            "target_release": "2026-06-30",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    feature = Feature.objects.get(pk=body["id"], workspace=acme)
    assert body["status"] == "new"
    assert (body["squad"], body["owner"], body["parent"]) == (squad.pk, paula.pk, None)
    assert body["needs"] == [need.pk] and body["key_results"] == [kr.pk]
    assert body["drivers"] == [{"driver": driver.pk, "name": "Acquisition", "contribution": 3}]
    assert body["target_release"] == "2026-06-30"
    assert "score" in body and "created_at" in body
    assert FeatureDriver.objects.get(feature=feature).contribution == 3


def test_owner_may_be_a_user_id(pm, acme, paula):
    body = pm.post("/features", {"title": "A", "owner": paula.pk}).json()
    assert body["owner"] == paula.pk


def test_a_slice_names_its_parent(pm, acme):
    parent = FeatureFactory(workspace=acme)
    body = pm.post("/features", {"title": "Slice", "parent": parent.pk}).json()
    assert body["parent"] == parent.pk
    assert [r["id"] for r in pm.get("/features", parent=parent.pk).json()["results"]] == [
        body["id"]
    ]


def test_patch_replaces_relations_and_keeps_the_rest(pm, acme):
    feature = FeatureFactory(workspace=acme, description="Keep me")
    old = FeatureDriverFactory(feature=feature)
    new_driver = DriverFactory(workspace=acme)
    response = pm.patch(
        f"/features/{feature.pk}",
        {"title": "Renamed", "drivers": [{"driver": new_driver.pk, "contribution": 1}]},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Renamed" and body["description"] == "Keep me"
    assert [d["driver"] for d in body["drivers"]] == [new_driver.pk]
    assert not FeatureDriver.objects.filter(pk=old.pk).exists()
    assert Activity.objects.filter(verb="updated", target_id=feature.pk).exists()


def test_put_replaces_the_feature(pm, acme):
    feature = FeatureFactory(workspace=acme, description="Old")
    response = pm.put(f"/features/{feature.pk}", {"title": "Whole"})
    assert response.status_code == 200, response.content
    assert response.json()["description"] == ""


def test_status_cannot_be_patched(pm, acme):
    feature = FeatureFactory(workspace=acme)
    body = assert_problem(pm.patch(f"/features/{feature.pk}", {"status": "shipped"}), 400, "status")
    assert "transition" in body["errors"]["status"][0]
    feature.refresh_from_db()
    assert feature.status == "new"


def test_a_new_feature_cannot_start_shipped(pm, acme):
    assert_problem(pm.post("/features", {"title": "A", "status": "shipped"}), 400, "status")


def test_delete_a_feature(pm, acme):
    feature = FeatureFactory(workspace=acme)
    assert pm.delete(f"/features/{feature.pk}").status_code == 204
    assert not Feature.objects.filter(pk=feature.pk).exists()
    assert Activity.objects.filter(verb="deleted", target_type="feature").exists()


def test_a_feature_with_slices_is_not_deleted(pm, acme):
    parent = FeatureFactory(workspace=acme)
    FeatureFactory(workspace=acme, parent=parent)
    assert_problem(pm.delete(f"/features/{parent.pk}"), 409)
    assert Feature.objects.filter(pk=parent.pk).exists()


def test_transition_moves_the_feature(pm, acme):
    feature = FeatureFactory(workspace=acme)
    response = pm.post(f"/features/{feature.pk}/transition", {"to": "under_consideration"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "under_consideration"
    feature.refresh_from_db()
    assert feature.status == "under_consideration"
    assert Activity.objects.filter(verb="status_changed", target_id=feature.pk).exists()


def test_declining_without_a_reason_is_a_409_naming_the_guard(pm, acme):
    feature = FeatureFactory(workspace=acme)
    body = assert_problem(
        pm.post(f"/features/{feature.pk}/transition", {"to": "declined"}), 409, "to"
    )
    assert body["guard"] == "reason_required"
    assert "reason_required" in body["guards"]
    feature.refresh_from_db()
    assert feature.status == "new"
    response = pm.post(
        f"/features/{feature.pk}/transition", {"to": "declined", "reason": "Out of scope"}
    )
    assert response.status_code == 200
    assert response.json()["decline_reason"] == "Out of scope"


def test_a_move_the_machine_does_not_allow_is_a_409(pm, acme):
    feature = FeatureFactory(workspace=acme)
    body = assert_problem(pm.post(f"/features/{feature.pk}/transition", {"to": "shipped"}), 409)
    assert body["guard"] == "not_allowed"


def test_transition_to_an_unknown_status_is_a_400(pm, acme):
    feature = FeatureFactory(workspace=acme)
    assert_problem(pm.post(f"/features/{feature.pk}/transition", {"to": "done"}), 400, "to")


def test_list_pages_through_every_feature(pm, acme):
    made = {FeatureFactory(workspace=acme).pk for _ in range(5)}
    rows, _pages = pm.all("/features", limit=2)
    assert sorted(r["id"] for r in rows) == sorted(made)


def test_ordering_by_score_puts_unscored_last_across_pages(pm, acme):
    low = FeatureFactory(workspace=acme, score=1.0)
    none = FeatureFactory(workspace=acme, score=None)
    high = FeatureFactory(workspace=acme, score=9.0)
    mid = FeatureFactory(workspace=acme, score=5.0)
    rows, _pages = pm.all("/features", limit=2, ordering="-score")
    assert [r["id"] for r in rows] == [high.pk, mid.pk, low.pk, none.pk]
    rows, _pages = pm.all("/features", limit=3, ordering="score")
    assert [r["id"] for r in rows] == [low.pk, mid.pk, high.pk, none.pk]
    assert_problem(pm.get("/features", ordering="random"), 400, "ordering")


def test_list_filters(pm, acme):
    squad = SquadFactory(workspace=acme)
    hit = FeatureFactory(workspace=acme, title="Dark mode", squad=squad, status="studying")
    FeatureFactory(workspace=acme, title="Other")
    ids = lambda r: [x["id"] for x in r.json()["results"]]  # noqa: E731
    assert ids(pm.get("/features", q="dark")) == [hit.pk]
    assert ids(pm.get("/features", squad=squad.pk)) == [hit.pk]
    assert ids(pm.get("/features", status="studying")) == [hit.pk]
    assert_problem(pm.get("/features", status="nope"), 400, "status")


def test_foreign_ids_in_the_payload_are_refused_by_field(pm, acme, globex, oscar):
    cases = {
        "squad": SquadFactory(workspace=globex).pk,
        "parent": FeatureFactory(workspace=globex).pk,
        "needs": [NeedFactory(workspace=globex).pk],
        "key_results": [KeyResultFactory(objective=ObjectiveFactory(workspace=globex)).pk],
        "drivers": [{"driver": DriverFactory(workspace=globex).pk, "contribution": 1}],
        "owner": oscar.pk,
    }
    for field, value in cases.items():
        assert_problem(pm.post("/features", {"title": "A", field: value}), 400, field)
    assert not Feature.objects.filter(workspace=acme).exists()


def test_contribution_out_of_range_is_refused(pm, acme):
    driver = DriverFactory(workspace=acme)
    response = pm.post(
        "/features", {"title": "A", "drivers": [{"driver": driver.pk, "contribution": 5}]}
    )
    assert_problem(response, 400, "drivers.0.contribution")


def test_outsider_cannot_see_or_move_acme_features(outsider, acme):
    feature = FeatureFactory(workspace=acme)
    assert outsider.get("/features").json()["results"] == []
    assert_problem(outsider.get(f"/features/{feature.pk}"), 404)
    assert_problem(outsider.post(f"/features/{feature.pk}/transition", {"to": "parked"}), 404)
    feature.refresh_from_db()
    assert feature.status == "new"


def test_viewer_cannot_write_features(viewer, acme):
    feature = FeatureFactory(workspace=acme)
    assert_problem(viewer.post("/features", {"title": "x"}), 403)
    assert_problem(viewer.patch(f"/features/{feature.pk}", {"title": "x"}), 403)
    assert_problem(viewer.post(f"/features/{feature.pk}/transition", {"to": "parked"}), 403)
    assert_problem(viewer.delete(f"/features/{feature.pk}"), 403)
    feature.refresh_from_db()
    assert (feature.title, feature.status) != ("x", "parked")
