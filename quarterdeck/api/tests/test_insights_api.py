from django.db import connection
from django.test.utils import CaptureQueriesContext

from quarterdeck.api.tests.conftest import assert_problem
from quarterdeck.core.models import Activity
from quarterdeck.insights.models import Insight, Stakeholder
from quarterdeck.testing.factories import (
    InsightFactory,
    InsightLinkFactory,
    NeedFactory,
    StakeholderFactory,
)


def test_create_insight_answers_201_with_the_object(pm, acme):
    stakeholder = StakeholderFactory(workspace=acme)
    response = pm.post(
        "/insights",
        {
            "text": "I can never find my projects",
            "source": "interview",
            "stakeholder": stakeholder.pk,
            "segment": "mentor",
            "captured_at": "2026-03-02T10:00:00Z",
            "importance": 3,
            "tags": ["navigation", "projects"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    insight = Insight.objects.get(pk=body["id"])
    assert insight.workspace == acme
    assert body["text"] == "I can never find my projects"
    assert body["stakeholder"] == stakeholder.pk
    assert body["segment"] == "mentor"
    assert body["captured_at"].startswith("2026-03-02T10:00:00")
    assert body["state"] == "new"
    assert body["importance"] == 3
    assert body["tags"] == ["navigation", "projects"]
    assert body["source"] == "interview" and body["channel"] == "interview"
    assert body["external_id"] == "" and body["needs"] == []
    assert Activity.objects.filter(target_type="insight", target_id=insight.pk).exists()


def test_insight_defaults_to_the_api_source_and_the_stakeholders_segment(pm, acme):
    stakeholder = StakeholderFactory(workspace=acme)  # a student
    body = pm.post("/insights", {"text": "Too slow", "stakeholder": stakeholder.pk}).json()
    assert body["source"] == "api"
    assert body["segment"] == "student"


def test_stakeholder_email_finds_or_creates_the_stakeholder(pm, acme):
    existing = StakeholderFactory(workspace=acme, email="ana@school.org")
    body = pm.post("/insights", {"text": "A", "stakeholder_email": "Ana@school.org"}).json()
    assert body["stakeholder"] == existing.pk
    body = pm.post(
        "/insights",
        {"text": "B", "stakeholder_email": "new@school.org", "stakeholder_name": "Neo"},
    ).json()
    created = Stakeholder.objects.get(pk=body["stakeholder"])
    assert (created.workspace, created.email, created.name) == (acme, "new@school.org", "Neo")
    response = pm.post("/insights", {"text": "C", "stakeholder_email": "not-an-email"})
    assert_problem(response, 400, "stakeholder_email")
    assert not Insight.objects.filter(text="C").exists()


def test_posting_the_same_source_and_external_id_updates_the_insight(pm, acme):
    first = pm.post("/insights", {"text": "Old text", "source": "zendesk", "external_id": "T-1"})
    assert first.status_code == 201
    again = pm.post("/insights", {"text": "New text", "source": "zendesk", "external_id": "T-1"})
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["text"] == "New text"
    assert Insight.objects.filter(workspace=acme).count() == 1
    other_source = pm.post("/insights", {"text": "X", "source": "intercom", "external_id": "T-1"})
    assert other_source.status_code == 201
    assert Insight.objects.filter(workspace=acme).count() == 2


def test_upsert_keeps_fields_not_sent(pm, acme):
    pm.post(
        "/insights",
        {"text": "A", "source": "zendesk", "external_id": "T-2", "tags": ["x"], "importance": 2},
    )
    body = pm.post("/insights", {"text": "B", "source": "zendesk", "external_id": "T-2"}).json()
    assert body["tags"] == ["x"] and body["importance"] == 2


def test_get_patch_put_and_delete_an_insight(pm, acme):
    insight = InsightFactory(workspace=acme, text="Before")
    response = pm.get(f"/insights/{insight.pk}")
    assert response.status_code == 200
    assert response.json()["text"] == "Before"

    response = pm.patch(f"/insights/{insight.pk}", {"text": "After", "state": "archived"})
    assert response.status_code == 200, response.content
    insight.refresh_from_db()
    assert (insight.text, insight.state) == ("After", "archived")
    assert insight.stakeholder is not None  # untouched

    response = pm.patch(f"/insights/{insight.pk}", {"stakeholder": None, "segment": None})
    assert response.json()["stakeholder"] is None and response.json()["segment"] is None

    response = pm.put(f"/insights/{insight.pk}", {"text": "Whole", "source": "survey"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["text"], body["source"], body["state"], body["tags"]) == (
        "Whole",
        "survey",
        "new",
        [],
    )

    response = pm.delete(f"/insights/{insight.pk}")
    assert response.status_code == 204
    assert not Insight.objects.filter(pk=insight.pk).exists()
    assert Activity.objects.filter(verb="deleted", target_id=insight.pk).exists()
    assert_problem(pm.get(f"/insights/{insight.pk}"), 404)


def test_patch_onto_a_taken_external_id_is_a_conflict(pm, acme):
    InsightFactory(workspace=acme, source="zendesk", external_id="T-9")
    other = InsightFactory(workspace=acme, source="zendesk", external_id="T-10")
    body = assert_problem(
        pm.patch(f"/insights/{other.pk}", {"external_id": "T-9"}), 409, "external_id"
    )
    assert body["existing"]


def test_list_pages_through_every_insight_once(pm, acme):
    made = {InsightFactory(workspace=acme).pk for _ in range(5)}
    rows, pages = pm.all("/insights", limit=2)
    assert [r["id"] for r in rows] == sorted(made, reverse=True)
    assert pages == 3


def test_list_accepts_the_cursor_as_next(pm, acme):
    for _ in range(3):
        InsightFactory(workspace=acme)
    first = pm.get("/insights", limit=2).json()
    second = pm.get("/insights", limit=2, next=first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None


def test_list_filters(pm, acme):
    student = StakeholderFactory(workspace=acme)
    hit = InsightFactory(
        workspace=acme, text="Dark mode please", source="zendesk", external_id="Z1"
    )
    InsightFactory(workspace=acme, text="Other", stakeholder=student, state="triaged")
    ids = lambda r: [x["id"] for x in r.json()["results"]]  # noqa: E731
    assert ids(pm.get("/insights", q="dark mode")) == [hit.pk]
    assert ids(pm.get("/insights", source="zendesk")) == [hit.pk]
    assert ids(pm.get("/insights", external_id="Z1")) == [hit.pk]
    assert len(ids(pm.get("/insights", state="triaged"))) == 1
    assert len(ids(pm.get("/insights", stakeholder=student.pk))) == 1
    assert len(ids(pm.get("/insights", segment="student"))) == 2
    assert ids(pm.get("/insights", segment="mentor")) == []
    assert_problem(pm.get("/insights", state="weird"), 400, "state")
    assert_problem(pm.get("/insights", segment="martian"), 400, "segment")


def test_list_shows_linked_need_ids_without_a_query_per_row(pm, acme):
    need = NeedFactory(workspace=acme)
    for _ in range(5):
        InsightLinkFactory(need=need)
    pm.get("/insights")  # warm up: token last-used stamp
    with CaptureQueriesContext(connection) as queries:
        response = pm.get("/insights")
    assert response.status_code == 200
    assert all(row["needs"] == [need.pk] for row in response.json()["results"])
    assert len(queries) <= 4, [q["sql"] for q in queries]


def test_bad_payloads_are_400_problems_naming_the_field(pm, acme):
    assert_problem(pm.post("/insights", {"source": "x"}), 400, "text")
    assert_problem(pm.post("/insights", {"text": "a", "importance": 7}), 400, "importance")
    assert_problem(pm.post("/insights", {"text": "a", "state": "done"}), 400, "state")
    assert_problem(pm.post("/insights", {"text": "a", "tags": "nope"}), 400, "tags")
    assert_problem(pm.post("/insights", {"text": "a", "captured_at": "soon"}), 400, "captured_at")
    body = assert_problem(pm.post("/insights", {"text": "a", "segment": "martian"}), 400, "segment")
    assert "student" in body["errors"]["segment"][0]
    body = assert_problem(pm.post("/insights", {"text": "a", "colour": "red"}), 400, "colour")
    assert "colour" in body["detail"]
    assert_problem(pm.patch(f"/insights/{InsightFactory(workspace=acme).pk}", {"text": None}), 400)
    assert Insight.objects.filter(text="a").count() == 0


def test_another_workspaces_stakeholder_is_refused(pm, acme, globex):
    foreign = StakeholderFactory(workspace=globex)
    assert_problem(
        pm.post("/insights", {"text": "a", "stakeholder": foreign.pk}), 400, "stakeholder"
    )
    assert not Insight.objects.filter(workspace=acme).exists()


def test_outsider_cannot_see_or_touch_acme_insights(outsider, acme):
    insight = InsightFactory(workspace=acme)
    assert outsider.get("/insights").json()["results"] == []
    assert_problem(outsider.get(f"/insights/{insight.pk}"), 404)
    assert_problem(outsider.patch(f"/insights/{insight.pk}", {"text": "x"}), 404)
    assert_problem(outsider.delete(f"/insights/{insight.pk}"), 404)
    insight.refresh_from_db()
    assert insight.text != "x"


def test_outsider_upsert_never_touches_acme_rows(outsider, acme, globex):
    mine = InsightFactory(workspace=acme, source="zendesk", external_id="T-1", text="acme")
    response = outsider.post("/insights", {"text": "g", "source": "zendesk", "external_id": "T-1"})
    assert response.status_code == 201
    assert response.json()["id"] != mine.pk
    mine.refresh_from_db()
    assert mine.text == "acme"


def test_viewer_cannot_write_insights(viewer, acme):
    insight = InsightFactory(workspace=acme)
    assert_problem(viewer.post("/insights", {"text": "x"}), 403)
    assert_problem(viewer.post("/insights", {"bogus": 1}), 403)
    assert_problem(viewer.patch(f"/insights/{insight.pk}", {"text": "x"}), 403)
    assert_problem(viewer.delete(f"/insights/{insight.pk}"), 403)
    assert viewer.get(f"/insights/{insight.pk}").status_code == 200
    assert Insight.objects.count() == 1
