"""Backlog pages: the table, the board, the feature page and its forms, and who may do what."""

import re
import time

import pytest
from django.urls import reverse

from quarterdeck.backlog.models import (
    Evaluation,
    EvaluationRequest,
    Feature,
    QaCheck,
    RolloutStage,
    Status,
    UxTest,
)
from quarterdeck.testing.factories import (
    DriverFactory,
    EvaluationFactory,
    FeatureDriverFactory,
    FeatureFactory,
    InsightLinkFactory,
    NeedFactory,
    SquadFactory,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, **kwargs):
    return reverse(f"backlog:{name}", kwargs={"ws": "acme", **kwargs})


def titles(response):
    """Feature titles in the order the backlog table lists them."""
    html = response.content.decode()
    return re.findall(r'<td class="title-cell"[^>]*>.*?<a href="[^"]+">([^<]+)</a>', html, re.S)


# --- backlog ------------------------------------------------------------------------------------


def test_backlog_lists_features_with_their_numbers(pm_client, acme):
    squad = SquadFactory(workspace=acme, name="Careers")
    feature = FeatureFactory(workspace=acme, title="Job board", squad=squad, score=7.5)
    FeatureDriverFactory(feature=feature, driver=DriverFactory(workspace=acme, name="Placement"))
    EvaluationFactory(feature=feature, effort=4)
    need = NeedFactory(workspace=acme)
    feature.needs.add(need)
    InsightLinkFactory(need=need)
    InsightLinkFactory(need=need)
    response = pm_client.get(url("list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Job board" in html and "Careers" in html and "Placement" in html
    assert "7.5" in html and "4 pw" in html
    row = html[html.index("Job board") :]
    assert re.search(r'class="num">2</td>', row), "demand counts the two linked insights"


def test_backlog_filters_by_status_squad_driver_and_text(pm_client, acme):
    squad = SquadFactory(workspace=acme)
    driver = DriverFactory(workspace=acme)
    a = FeatureFactory(workspace=acme, title="Alpha reminders", status=Status.NEW, squad=squad)
    FeatureFactory(workspace=acme, title="Beta search", status=Status.STUDYING)
    FeatureFactory(workspace=acme, title="Gamma export", status=Status.SHIPPED)
    FeatureDriverFactory(feature=a, driver=driver)
    assert set(titles(pm_client.get(url("list"), {"status": ["new", "studying"]}))) == {
        "Alpha reminders",
        "Beta search",
    }
    assert titles(pm_client.get(url("list"), {"squad": squad.pk})) == ["Alpha reminders"]
    assert titles(pm_client.get(url("list"), {"driver": driver.pk})) == ["Alpha reminders"]
    assert titles(pm_client.get(url("list"), {"q": "export"})) == ["Gamma export"]
    empty = pm_client.get(url("list"), {"q": "nothing like this"})
    assert b"No feature matches these filters" in empty.content


def test_backlog_sorts_by_the_ordering_parameter(pm_client, acme):
    FeatureFactory(workspace=acme, title="B", score=1, demand=5)
    FeatureFactory(workspace=acme, title="A", score=3, demand=1)
    FeatureFactory(workspace=acme, title="C", score=None, demand=9)
    assert titles(pm_client.get(url("list"))) == ["A", "B", "C"]  # best score first
    assert titles(pm_client.get(url("list"), {"ordering": "title"})) == ["A", "B", "C"]
    assert titles(pm_client.get(url("list"), {"ordering": "-title"})) == ["C", "B", "A"]
    assert titles(pm_client.get(url("list"), {"ordering": "-demand"})) == ["C", "B", "A"]


def test_backlog_indents_slices_under_their_parent(pm_client, acme):
    parent = FeatureFactory(workspace=acme, title="Mobile", score=1)
    FeatureFactory(workspace=acme, title="Other", score=5)
    FeatureFactory(workspace=acme, title="Offline", parent=parent, score=9, status=Status.SHIPPED)
    FeatureFactory(workspace=acme, title="Quizzes", parent=parent, score=2)
    response = pm_client.get(url("list"))
    assert titles(response) == ["Other", "Mobile", "Offline", "Quizzes"]
    html = response.content.decode()
    assert html.count('class="slice depth-1"') == 2
    assert "1/2" in html  # slice progress of the parent


def test_a_slice_whose_parent_is_filtered_out_heads_its_own_row(pm_client, acme):
    parent = FeatureFactory(workspace=acme, title="Mobile", status=Status.DESIGNING)
    FeatureFactory(workspace=acme, title="Offline", parent=parent, status=Status.IN_QA)
    response = pm_client.get(url("list"), {"status": "in_qa"})
    assert titles(response) == ["Offline"]
    assert "slice of Mobile" in response.content.decode()


def test_backlog_groups_by_status_in_flow_order(pm_client, acme):
    FeatureFactory(workspace=acme, title="Shipped one", status=Status.SHIPPED, score=9)
    FeatureFactory(workspace=acme, title="New one", status=Status.NEW, score=1)
    response = pm_client.get(url("list"), {"group": "status"})
    assert titles(response) == ["New one", "Shipped one"]
    assert response.content.decode().count('class="group-row"') == 2


def test_backlog_htmx_request_returns_only_the_table(pm_client, acme):
    FeatureFactory(workspace=acme, title="Alpha")
    response = pm_client.get(url("list"), {"q": "Alpha"}, **HTMX)
    assert response.content.decode().lstrip().startswith('<div id="backlog-table">')
    assert "HX-Request" in response["Vary"]


def test_backlog_first_page_of_ten_thousand_features_in_few_queries(
    pm_client, acme, django_assert_max_num_queries
):
    squad = SquadFactory(workspace=acme)
    Feature.objects.bulk_create(
        Feature(workspace=acme, title=f"Feature {i}", squad=squad, score=i % 97, demand=i % 13)
        for i in range(10_000)
    )
    parents = list(Feature.objects.filter(workspace=acme).order_by("-score")[:20])
    Feature.objects.bulk_create(
        Feature(workspace=acme, title=f"Slice of {p.title}", parent=p) for p in parents
    )
    for feature in parents[:5]:
        FeatureDriverFactory(feature=feature)
        EvaluationFactory(feature=feature)
    start = time.perf_counter()
    with django_assert_max_num_queries(13):
        response = pm_client.get(url("list"))
    elapsed = time.perf_counter() - start
    assert response.status_code == 200
    assert len(titles(response)) >= 50
    assert "Page 1 of" in response.content.decode()
    assert elapsed < 2, f"first page took {elapsed:.2f}s"


def test_empty_backlog_teaches_and_offers_to_create(pm_client, acme):
    response = pm_client.get(url("list"))
    assert b"The backlog is empty" in response.content
    assert url("feature_new").encode() in response.content


# --- create and edit ----------------------------------------------------------------------------


def test_new_feature_from_a_need_prefills_title_and_links_the_need(pm_client, acme):
    need = NeedFactory(workspace=acme, title="I'd like to study offline")
    response = pm_client.get(url("feature_new"), {"need": need.pk})
    html = response.content.decode()
    assert 'value="I&#x27;d like to study offline"' in html
    assert re.search(rf'value="{need.pk}"[^>]*checked', html)


def test_new_feature_from_a_parent_creates_a_slice(pm_client, acme, paula):
    squad = SquadFactory(workspace=acme)
    parent = FeatureFactory(workspace=acme, title="Mobile", squad=squad)
    page = pm_client.get(url("feature_new"), {"parent": parent.pk})
    assert b"New slice" in page.content
    response = pm_client.post(
        url("feature_new"),
        {"title": "Offline lessons", "parent": parent.pk, "squad": squad.pk, "owner": paula.pk},
    )
    slice_ = Feature.objects.get(title="Offline lessons")
    assert response.status_code == 302 and response["Location"] == slice_.get_absolute_url()
    assert slice_.parent == parent and slice_.squad == squad


def test_create_feature_with_drivers_and_needs(pm_client, acme):
    driver = DriverFactory(workspace=acme, name="Engagement")
    need = NeedFactory(workspace=acme)
    response = pm_client.post(
        url("feature_new"),
        {
            "title": "Reminders",
            "needs": [need.pk],
            f"driver_{driver.pk}": "3",
            "expected_outcomes": "Fewer absences",
            "target_release": "2027-01-31",
        },
    )
    assert response.status_code == 302
    feature = Feature.objects.get(title="Reminders")
    assert list(feature.needs.all()) == [need]
    assert feature.driver_links.get().contribution == 3


def test_create_feature_without_title_shows_the_error(pm_client, acme):
    response = pm_client.post(url("feature_new"), {"title": ""})
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert not Feature.objects.exists()


def test_edit_feature(pm_client, acme):
    feature = FeatureFactory(workspace=acme, title="Old title")
    assert pm_client.get(url("feature_edit", pk=feature.pk)).status_code == 200
    response = pm_client.post(url("feature_edit", pk=feature.pk), {"title": "New title"})
    assert response.status_code == 302
    assert Feature.objects.get(pk=feature.pk).title == "New title"


# --- feature page -------------------------------------------------------------------------------


def test_feature_page_overview_shows_needs_with_demand_drivers_and_moves(pm_client, acme):
    feature = FeatureFactory(
        workspace=acme,
        title="Reminders",
        status=Status.STUDYING,
        expected_outcomes="Fewer absences",
    )
    need = NeedFactory(workspace=acme, title="Don't miss sessions")
    feature.needs.add(need)
    InsightLinkFactory(need=need)
    FeatureDriverFactory(feature=feature, driver=DriverFactory(workspace=acme, name="Engagement"))
    html = pm_client.get(url("feature", pk=feature.pk)).content.decode()
    assert "Don&#x27;t miss sessions" in html and "1 insight" in html
    assert "Engagement" in html and "Fewer absences" in html
    assert 'data-to="designing"' in html and 'data-to="under_consideration"' in html
    assert "Decline…" in html


@pytest.mark.parametrize("tab", ["evidence", "delivery", "communication", "slices", "activity"])
def test_feature_page_sections_render(pm_client, acme, tab):
    feature = FeatureFactory(workspace=acme)
    response = pm_client.get(url("feature", pk=feature.pk), {"tab": tab})
    assert response.status_code == 200
    assert 'aria-current="page"' in response.content.decode()


def test_feature_page_tab_via_htmx_returns_the_panel(pm_client, acme):
    feature = FeatureFactory(workspace=acme)
    response = pm_client.get(
        url("feature", pk=feature.pk), {"tab": "delivery"}, HTTP_HX_TARGET="tab-panel", **HTMX
    )
    assert response.content.decode().lstrip().startswith('<div id="tab-panel">')


def test_evidence_tab_quotes_customers_with_stakeholder_and_segment(pm_client, acme):
    feature = FeatureFactory(workspace=acme)
    need = NeedFactory(workspace=acme)
    feature.needs.add(need)
    link = InsightLinkFactory(need=need, highlight="I keep missing the live sessions")
    html = pm_client.get(url("feature", pk=feature.pk), {"tab": "evidence"}).content.decode()
    assert "I keep missing the live sessions" in html
    assert link.insight.stakeholder.name in html
    assert "Student" in html


def test_unknown_tab_is_404(pm_client, acme):
    feature = FeatureFactory(workspace=acme)
    assert pm_client.get(url("feature", pk=feature.pk), {"tab": "nope"}).status_code == 404


def test_transition_through_htmx_swaps_the_header(pm_client, acme):
    feature = FeatureFactory(workspace=acme, status=Status.NEW)
    response = pm_client.post(
        url("transition", pk=feature.pk), {"to": "under_consideration"}, **HTMX
    )
    assert response.status_code == 200
    assert b'id="feature-head"' in response.content
    assert b"pill-status-under_consideration" in response.content
    assert Feature.objects.get(pk=feature.pk).status == Status.UNDER_CONSIDERATION


def test_refused_move_shows_the_guard_message_in_place(pm_client, acme):
    feature = FeatureFactory(workspace=acme, status=Status.DESIGNING)
    response = pm_client.post(url("transition", pk=feature.pk), {"to": "in_engineering"}, **HTMX)
    html = response.content.decode()
    assert 'role="alert"' in html and "evaluation (effort and risk)" in html
    assert Feature.objects.get(pk=feature.pk).status == Status.DESIGNING


def test_refused_move_without_htmx_answers_409_with_the_message(pm_client, acme):
    feature = FeatureFactory(workspace=acme, status=Status.IN_QA)
    response = pm_client.post(url("transition", pk=feature.pk), {"to": "ready_to_deploy"})
    assert response.status_code == 409
    assert b"at least one QA check" in response.content


def test_decline_needs_a_reason_on_the_page(pm_client, acme):
    feature = FeatureFactory(workspace=acme, status=Status.STUDYING)
    refused = pm_client.post(url("transition", pk=feature.pk), {"to": "declined"}, **HTMX)
    assert b"Declining needs a reason" in refused.content
    pm_client.post(
        url("transition", pk=feature.pk), {"to": "declined", "reason": "Not our market"}, **HTMX
    )
    feature.refresh_from_db()
    assert (feature.status, feature.decline_reason) == (Status.DECLINED, "Not our market")


def test_add_slice_inline(pm_client, acme):
    feature = FeatureFactory(workspace=acme, title="Mobile")
    response = pm_client.post(url("slice_create", pk=feature.pk), {"title": "Offline"}, **HTMX)
    assert response.status_code == 200
    assert b"Offline" in response.content and b"0 of 1 shipped" in response.content
    assert feature.children.get().title == "Offline"


def test_add_slice_without_htmx_redirects_to_the_slices_tab(pm_client, acme):
    feature = FeatureFactory(workspace=acme)
    response = pm_client.post(url("slice_create", pk=feature.pk), {"title": "Part one"})
    assert response.status_code == 302
    assert response["Location"].endswith("?tab=slices")


def test_add_evaluation_and_see_it(pm_client, acme, paula):
    feature = FeatureFactory(workspace=acme)
    response = pm_client.post(
        url("evaluation_create", pk=feature.pk),
        {"effort": "2.5", "risk": "low", "confidence": "80", "risk_notes": "Easy"},
        **HTMX,
    )
    assert b"2.5 pw" in response.content
    evaluation = Evaluation.objects.get(feature=feature)
    assert (evaluation.confidence, evaluation.by) == (0.8, paula)


def test_invalid_evaluation_shows_errors_and_keeps_form_open(pm_client, acme):
    feature = FeatureFactory(workspace=acme)
    response = pm_client.post(
        url("evaluation_create", pk=feature.pk), {"effort": "-1", "risk": "low"}, **HTMX
    )
    assert b"errorlist" in response.content
    assert b'class="add-record" open' in response.content
    assert not Evaluation.objects.exists()


def test_qa_check_result_update_and_ux_iterate(pm_client, acme):
    feature = FeatureFactory(workspace=acme, status=Status.IN_QA)
    pm_client.post(url("qa_check_create", pk=feature.pk), {"outcome": "Works", "result": "pending"})
    check = QaCheck.objects.get()
    pm_client.post(url("qa_check_update", pk=feature.pk, cid=check.pk), {"result": "pass"}, **HTMX)
    assert QaCheck.objects.get().result == "pass"
    response = pm_client.post(
        url("ux_test_create", pk=feature.pk), {"verdict": "iterate", "findings": "Lost"}, **HTMX
    )
    assert b'hx-swap-oob="true"' in response.content  # the header follows the status change
    assert Feature.objects.get(pk=feature.pk).status == Status.DESIGNING
    assert UxTest.objects.get().verdict == "iterate"


def test_qa_checks_from_outcomes_and_rollout_stage_forms(pm_client, acme):
    feature = FeatureFactory(workspace=acme, expected_outcomes="Fast\nAccurate")
    pm_client.post(url("qa_from_outcomes", pk=feature.pk), **HTMX)
    assert QaCheck.objects.filter(feature=feature).count() == 2
    again = pm_client.post(url("qa_from_outcomes", pk=feature.pk), **HTMX)
    assert b"already has a check" in again.content
    missing = pm_client.post(
        url("rollout_stage_create", pk=feature.pk), {"state": "planned"}, **HTMX
    )
    assert b"share of users" in missing.content
    pm_client.post(
        url("rollout_stage_create", pk=feature.pk), {"percent": "20", "state": "planned"}, **HTMX
    )
    stage = RolloutStage.objects.get()
    pm_client.post(url("rollout_stage_update", pk=feature.pk, sid=stage.pk), {"state": "active"})
    assert RolloutStage.objects.get().state == "active"


def test_demo_comms_and_onboarding_forms(pm_client, acme):
    feature = FeatureFactory(workspace=acme)
    pm_client.post(
        url("demo_create", pk=feature.pk), {"held_on": "2026-11-10", "audience": "Sales"}, **HTMX
    )
    pm_client.post(
        url("comms_create", pk=feature.pk),
        {"audience": "Students", "channel": "email", "message": "It's live"},
        **HTMX,
    )
    item = feature.comms_items.get()
    pm_client.post(url("comms_update", pk=feature.pk, cid=item.pk), {"sent": "1"}, **HTMX)
    response = pm_client.post(
        url("onboarding_create", pk=feature.pk), {"title": "Pin a project"}, **HTMX
    )
    assert b"Pin a project" in response.content
    assert feature.demos.count() == 1 and feature.comms_items.get().sent
    step = feature.onboarding_steps.get()
    pm_client.post(url("onboarding_delete", pk=feature.pk, sid=step.pk), **HTMX)
    assert not feature.onboarding_steps.exists()


# --- evaluation requests ------------------------------------------------------------------------


def test_request_an_estimate_then_engineer_answers_from_my_requests(client, acme, paula, carl):
    feature = FeatureFactory(workspace=acme, title="Reminders")
    client.force_login(paula)
    client.post(
        url("evaluation_request_create", pk=feature.pk), {"assignee": carl.pk, "note": "Rough"}
    )
    request = EvaluationRequest.objects.get()
    client.force_login(carl)
    page = client.get(url("my_requests"))
    assert b"Reminders" in page.content and b"Rough" in page.content
    response = client.post(
        url("request_answer", rid=request.pk),
        {"effort": "3", "risk": "medium", "confidence": "60"},
        **HTMX,
    )
    assert b"Estimate sent" in response.content
    assert EvaluationRequest.objects.get().state == "answered"
    assert Evaluation.objects.get().by == carl
    assert b"No open request" in client.get(url("my_requests")).content


# --- board --------------------------------------------------------------------------------------


def test_board_shows_columns_in_flow_order_with_cards(pm_client, acme):
    FeatureFactory(workspace=acme, title="Card A", status=Status.IN_QA, score=3)
    FeatureFactory(workspace=acme, title="Card B", status=Status.PARKED)
    html = pm_client.get(url("board")).content.decode()
    columns = re.findall(r'data-status="([a-z_]+)" aria-labelledby', html)
    assert columns[:3] == ["new", "under_consideration", "studying"]
    assert columns[-2:] == ["parked", "declined"]
    assert "Card A" in html and "Card B" in html
    assert 'class="board-col collapsed"' in html


def test_board_filters_by_squad(pm_client, acme):
    squad = SquadFactory(workspace=acme)
    FeatureFactory(workspace=acme, title="In squad", squad=squad)
    FeatureFactory(workspace=acme, title="Elsewhere")
    html = pm_client.get(url("board"), {"squad": squad.pk}).content.decode()
    assert "In squad" in html and "Elsewhere" not in html


def test_board_move_refused_shows_the_message_on_the_card(pm_client, acme):
    feature = FeatureFactory(workspace=acme, title="Card", status=Status.IN_QA)
    response = pm_client.post(url("board_move", pk=feature.pk), {"to": "ready_to_deploy"}, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith(f'<article id="card-{feature.pk}"')
    assert "card-refusal" in html and "at least one QA check" in html
    assert Feature.objects.get(pk=feature.pk).status == Status.IN_QA


def test_board_move_allowed_rerenders_the_board(pm_client, acme):
    feature = FeatureFactory(workspace=acme, title="Card", status=Status.NEW)
    response = pm_client.post(
        url("board_move", pk=feature.pk), {"to": "under_consideration"}, **HTMX
    )
    assert response["HX-Retarget"] == "#board"
    assert 'data-status="under_consideration" draggable' in response.content.decode()
    assert Feature.objects.get(pk=feature.pk).status == Status.UNDER_CONSIDERATION


# --- permissions --------------------------------------------------------------------------------


def _write_urls(feature, ids):
    return [
        (url("feature_new"), {"title": "x"}),
        (url("feature_edit", pk=feature.pk), {"title": "x"}),
        (url("transition", pk=feature.pk), {"to": "under_consideration"}),
        (url("board_move", pk=feature.pk), {"to": "under_consideration"}),
        (url("slice_create", pk=feature.pk), {"title": "x"}),
        (url("evaluation_create", pk=feature.pk), {"effort": 1, "risk": "low", "confidence": 50}),
        (url("qa_check_create", pk=feature.pk), {"outcome": "x", "result": "pass"}),
        (url("qa_check_update", pk=feature.pk, cid=ids["qa"]), {"result": "pass"}),
        (url("ux_test_create", pk=feature.pk), {"verdict": "proceed"}),
        (url("rollout_stage_create", pk=feature.pk), {"percent": 5, "state": "planned"}),
        (url("demo_create", pk=feature.pk), {"held_on": "2026-01-01", "audience": "x"}),
        (url("comms_create", pk=feature.pk), {"audience": "x", "channel": "email", "message": "m"}),
        (url("onboarding_create", pk=feature.pk), {"title": "x"}),
        (url("request_answer", rid=ids["request"]), {"effort": 1, "risk": "low", "confidence": 5}),
    ]


@pytest.fixture
def records(acme, carl):
    feature = FeatureFactory(workspace=acme, status=Status.NEW)
    check = QaCheck.objects.create(feature=feature, outcome="x")
    request = EvaluationRequest.objects.create(feature=feature, assignee=carl)
    return feature, {"qa": check.pk, "request": request.pk}


@pytest.mark.parametrize("persona", ["victor", "stella"])
def test_viewers_and_stakeholders_read_but_cannot_write(client, records, persona, request):
    client.force_login(request.getfixturevalue(persona))
    feature, ids = records
    assert client.get(url("list")).status_code == 200
    page = client.get(url("feature", pk=feature.pk), {"tab": "delivery"})
    assert page.status_code == 200
    assert b"Add an evaluation" not in page.content and b"data-to=" not in page.content
    assert client.get(url("board")).status_code == 200
    assert client.get(url("feature_new")).status_code == 403
    for target, data in _write_urls(feature, ids):
        assert client.post(target, data).status_code == 403, target
    assert Feature.objects.get(pk=feature.pk).status == Status.NEW
    assert QaCheck.objects.count() == 1 and not Evaluation.objects.exists()


def test_outsiders_get_404_everywhere(outsider_client, records):
    feature, ids = records
    assert outsider_client.get(url("list")).status_code == 404
    assert outsider_client.get(url("feature", pk=feature.pk)).status_code == 404
    for target, data in _write_urls(feature, ids):
        assert outsider_client.post(target, data).status_code == 404, target


def test_features_of_another_workspace_are_404_for_members(pm_client, globex):
    other = FeatureFactory(workspace=globex)
    assert pm_client.get(url("feature", pk=other.pk)).status_code == 404
    assert pm_client.post(url("transition", pk=other.pk), {"to": "parked"}).status_code == 404


def test_board_move_refused_without_javascript_redirects_with_the_message(pm_client, acme):
    feature = FeatureFactory(workspace=acme, title="Card", status=Status.ROLLING_OUT)
    response = pm_client.post(url("board_move", pk=feature.pk), {"to": "shipped"}, follow=True)
    assert response.redirect_chain[-1][0] == url("board")
    assert "rollout plan" in response.content.decode()
