import json

import pytest
from django.urls import reverse

from quarterdeck.insights import services
from quarterdeck.insights.models import Insight, InsightLink, InsightState, Need, Stakeholder
from quarterdeck.testing.factories import (
    FeatureFactory,
    InsightFactory,
    InsightLinkFactory,
    NeedFactory,
    StakeholderFactory,
)

pytestmark = pytest.mark.django_db


def url(name, **kwargs):
    return reverse(f"insights:{name}", kwargs={"ws": "acme", **kwargs})


@pytest.fixture
def need(acme):
    return NeedFactory(workspace=acme, title="Quicker access to my projects")


@pytest.fixture
def insight(acme):
    return InsightFactory(workspace=acme, text="I can never find my project after logging in.")


# --------------------------------------------------------------------------------- inbox


def test_inbox_lists_new_insights_and_selects_the_first(pm_client, acme):
    older = InsightFactory(workspace=acme, text="Older feedback")
    newer = InsightFactory(workspace=acme, text="Newer feedback")
    InsightFactory(workspace=acme, text="Already triaged", state=InsightState.TRIAGED)
    older.captured_at = newer.captured_at.replace(year=newer.captured_at.year - 1)
    older.save()

    response = pm_client.get(url("inbox"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Older feedback" in body and "Newer feedback" in body
    assert "Already triaged" not in body
    assert response.context["selected"] == newer
    assert response.context["counts"]["new"] == 2
    assert response.context["counts"]["triaged"] == 1


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "triaged"}, {"triaged"}),
        ({"state": "archived"}, {"archived"}),
        ({"state": "all"}, {"student new", "mentor new", "triaged", "archived", "survey"}),
        ({"segment": "mentor"}, {"mentor new"}),
        ({"source": "survey"}, {"survey"}),
        ({"q": "MENTOR"}, {"mentor new"}),
    ],
)
def test_inbox_filters(pm_client, acme, params, expected):
    mentor = StakeholderFactory(workspace=acme, segment=acme_segment(acme, "mentor"))
    InsightFactory(workspace=acme, text="student new")
    InsightFactory(workspace=acme, text="mentor new", stakeholder=mentor)
    InsightFactory(workspace=acme, text="triaged", state=InsightState.TRIAGED)
    InsightFactory(workspace=acme, text="archived", state=InsightState.ARCHIVED)
    InsightFactory(workspace=acme, text="survey", source="survey", channel="survey")

    response = pm_client.get(url("inbox"), params)

    assert {i.text for i in response.context["page"].object_list} == expected


def test_inbox_filters_by_stakeholder(pm_client, acme):
    nora = StakeholderFactory(workspace=acme, name="Nora")
    InsightFactory(workspace=acme, text="from nora", stakeholder=nora)
    InsightFactory(workspace=acme, text="from someone else")

    response = pm_client.get(url("inbox"), {"stakeholder": nora.pk})

    assert [i.text for i in response.context["page"].object_list] == ["from nora"]
    assert b"Nora" in response.content


def acme_segment(acme, key):
    from quarterdeck.insights.models import Segment

    return Segment.objects.get(workspace=acme, key=key)


def test_inbox_paginates_fifty_per_page_with_counts(pm_client, acme):
    InsightFactory.create_batch(55, workspace=acme)

    first = pm_client.get(url("inbox"))
    second = pm_client.get(url("inbox"), {"page": 2})

    assert len(first.context["items"]) == 50
    assert len(second.context["items"]) == 5
    assert "1–50 of 55" in first.content.decode()


def test_inbox_selected_param_shows_that_insight(pm_client, acme, insight):
    InsightFactory(workspace=acme, text="another one")

    response = pm_client.get(url("inbox"), {"selected": insight.pk})

    assert response.context["selected"] == insight


def test_inbox_htmx_selection_renders_only_the_work_panes(pm_client, acme, insight):
    response = pm_client.get(
        url("inbox"), {"selected": insight.pk}, headers={"HX-Request": "true", "HX-Target": "work"}
    )

    body = response.content.decode()
    assert insight.text in body
    assert "<html" not in body
    assert 'class="ibx-list"' not in body


def test_inbox_first_page_is_a_few_queries_however_many_insights(
    pm_client, acme, need, django_assert_max_num_queries
):
    InsightFactory.create_batch(60, workspace=acme)
    InsightLinkFactory(need=need, insight=Insight.objects.filter(workspace=acme).first())

    with django_assert_max_num_queries(10):
        response = pm_client.get(url("inbox"))

    assert response.status_code == 200


def test_inbox_offers_no_suggestions_region_content_without_the_linking_page(pm_client, insight):
    response = pm_client.get(url("inbox"))

    assert b'id="suggestions"' in response.content
    assert response.context["suggestions_url"] is None or "linking" in str(
        response.context["suggestions_url"]
    )


def test_user_text_is_escaped(pm_client, acme):
    InsightFactory(workspace=acme, text="<script>alert('x')</script> please")

    response = pm_client.get(url("inbox"))

    assert b"<script>alert" not in response.content
    assert b"&lt;script&gt;alert" in response.content


# ------------------------------------------------------------------------------- linking


def test_link_via_post_quotes_the_highlight_and_goes_to_the_next(pm_client, acme, need, insight):
    following = InsightFactory(workspace=acme, text="next one")

    response = pm_client.post(
        url("link", pk=insight.pk),
        {
            "need": need.pk,
            "importance": 3,
            "highlight": "never find my project",
            "next": following.pk,
            "return": "state=new",
        },
    )

    assert response.status_code == 302
    assert f"selected={following.pk}" in response["Location"]
    link = InsightLink.objects.get(insight=insight, need=need)
    assert (link.highlight, link.importance) == ("never find my project", 3)
    insight.refresh_from_db()
    assert insight.state == InsightState.TRIAGED


def test_link_with_htmx_redraws_the_inbox_on_the_next_insight(pm_client, acme, need, insight):
    following = InsightFactory(workspace=acme, text="the next insight")

    response = pm_client.post(
        url("link", pk=insight.pk),
        {"need": need.pk, "importance": 2, "next": following.pk, "return": ""},
        headers={"HX-Request": "true", "HX-Target": "inbox"},
    )

    assert response.status_code == 200
    assert response.context["selected"] == following
    assert insight not in response.context["items"]
    assert f"selected={following.pk}" in response["HX-Push-Url"]
    assert "Linked to" in json.loads(response["HX-Trigger"])["toast"]["message"]


def test_link_with_a_made_up_quote_is_refused(pm_client, need, insight):
    response = pm_client.post(
        url("link", pk=insight.pk), {"need": need.pk, "importance": 2, "highlight": "made up"}
    )

    assert response.status_code == 302
    assert not InsightLink.objects.exists()
    assert f"selected={insight.pk}" in response["Location"]


def test_link_to_another_workspaces_need_is_404(pm_client, globex, insight):
    foreign = NeedFactory(workspace=globex)

    response = pm_client.post(url("link", pk=insight.pk), {"need": foreign.pk, "importance": 2})

    assert response.status_code == 404
    assert not InsightLink.objects.exists()


def test_create_need_from_insight_links_it(pm_client, acme, insight):
    response = pm_client.post(
        url("link", pk=insight.pk),
        {
            "action": "create",
            "title": "Find my project straight after login",
            "importance": 3,
            "highlight": "never find my project",
        },
    )

    assert response.status_code == 302
    need = Need.objects.get(workspace=acme, title="Find my project straight after login")
    link = InsightLink.objects.get(need=need)
    assert (link.insight, link.highlight, link.importance) == (
        insight,
        "never find my project",
        3,
    )


def test_create_need_takes_the_quote_as_title_when_none_is_typed(pm_client, acme, insight):
    pm_client.post(
        url("link", pk=insight.pk),
        {"need": "new", "importance": 2, "highlight": "never find my project"},
    )

    assert Need.objects.filter(workspace=acme, title="never find my project").exists()


def test_need_search_finds_open_needs_by_title(pm_client, acme, need):
    NeedFactory(workspace=acme, title="Export grades to CSV")
    NeedFactory(workspace=acme, title="Projects archive", state="archived")

    response = pm_client.get(url("need_search"), {"title": "project"})

    body = response.content.decode()
    assert "Quicker access to my projects" in body
    assert "Export grades" not in body
    assert "Projects archive" not in body
    assert "Create “project”" in body


def test_archive_then_undo(pm_client, acme, insight):
    following = InsightFactory(workspace=acme, text="after the archived one")

    response = pm_client.post(
        url("archive", pk=insight.pk),
        {"next": following.pk, "return": "state=new"},
        headers={"HX-Request": "true", "HX-Target": "inbox"},
    )

    insight.refresh_from_db()
    assert insight.state == InsightState.ARCHIVED
    assert response.context["selected"] == following
    toast = json.loads(response["HX-Trigger"])["toast"]
    assert toast["undo"].startswith(url("unarchive", pk=insight.pk))

    undo = pm_client.post(toast["undo"], headers={"HX-Request": "true", "HX-Target": "inbox"})

    insight.refresh_from_db()
    assert insight.state == InsightState.NEW
    assert undo.context["selected"] == insight


def test_archive_without_javascript_redirects_to_the_next(pm_client, acme, insight):
    following = InsightFactory(workspace=acme)

    response = pm_client.post(url("archive", pk=insight.pk), {"next": following.pk})

    assert response.status_code == 302
    assert f"selected={following.pk}" in response["Location"]


@pytest.mark.parametrize("persona", ["victor", "stella"])
def test_read_only_members_get_403_on_every_write(client, request, persona, acme, need, insight):
    client.force_login(request.getfixturevalue(persona))
    link = InsightLinkFactory(need=need, insight=InsightFactory(workspace=acme))

    posts = [
        (url("link", pk=insight.pk), {"need": need.pk, "importance": 2}),
        (url("archive", pk=insight.pk), {}),
        (url("unarchive", pk=insight.pk), {}),
        (url("unlink", pk=link.pk), {}),
        (url("insight_new"), {"text": "hello"}),
        (url("insight_edit", pk=insight.pk), {"text": "changed"}),
        (url("need_new"), {"title": "A new need"}),
        (url("need_edit", pk=need.pk), {"title": "Renamed"}),
        (url("need_state", pk=need.pk), {"state": "archived"}),
    ]
    for path, data in posts:
        assert client.post(path, data).status_code == 403, path

    assert InsightLink.objects.count() == 1
    insight.refresh_from_db()
    assert insight.state == InsightState.NEW


def test_viewer_sees_the_inbox_without_write_buttons(viewer_client, insight):
    response = viewer_client.get(url("inbox"))

    assert response.status_code == 200
    assert b"data-link-form" not in response.content
    assert b"data-archive" not in response.content
    assert b"read-only" in response.content


@pytest.mark.parametrize("page", ["detail", "need", "stakeholder"])
def test_outsider_gets_404_for_acme_pages(outsider_client, acme, need, insight, page):
    pk = {"detail": insight.pk, "need": need.pk, "stakeholder": insight.stakeholder.pk}[page]

    assert outsider_client.get(url(page, pk=pk)).status_code == 404


def test_member_gets_404_for_another_workspaces_insight(pm_client, globex):
    foreign = InsightFactory(workspace=globex)

    assert pm_client.get(url("detail", pk=foreign.pk)).status_code == 404
    assert pm_client.post(url("archive", pk=foreign.pk)).status_code == 404


# ------------------------------------------------------------------------------ insights


def test_add_insight_creates_the_stakeholder_by_email(pm_client, acme, paula):
    response = pm_client.post(
        url("insight_new"),
        {
            "text": "Interview notes: the calendar export breaks every week.",
            "stakeholder_email": "Maria@uni.example",
            "stakeholder_name": "Maria Lopez",
            "segment": acme_segment(acme, "mentor").pk,
            "channel": "interview",
            "captured_on": "2024-03-05",
            "importance": "3",
            "tags": "calendar, export",
        },
    )

    insight = Insight.objects.get(workspace=acme)
    assert response.status_code == 302
    assert response["Location"] == insight.get_absolute_url()
    assert insight.stakeholder.email == "maria@uni.example"
    assert insight.stakeholder.name == "Maria Lopez"
    assert insight.segment.key == "mentor"
    assert insight.importance == 3
    assert insight.tags == ["calendar", "export"]
    assert insight.captured_at.date().isoformat() == "2024-03-05"
    assert insight.captured_by == paula


def test_add_insight_with_a_bad_email_says_so(pm_client, acme):
    response = pm_client.post(
        url("insight_new"), {"text": "Notes", "stakeholder_email": "nope", "channel": "email"}
    )

    assert response.status_code == 200
    assert "stakeholder_email" in response.context["form"].errors
    assert not Insight.objects.exists()


def test_add_insight_picks_an_existing_stakeholder(pm_client, acme):
    nora = StakeholderFactory(workspace=acme, email="nora@example.org")

    pm_client.post(
        url("insight_new"),
        {"text": "Notes", "stakeholder_email": "nora@example.org", "channel": "email"},
    )

    assert Insight.objects.get().stakeholder == nora
    assert Stakeholder.objects.filter(workspace=acme).count() == 1


def test_detail_shows_text_links_and_history(pm_client, acme, need, insight, paula):
    services.insight_link(insight=insight, need=need, by=paula, highlight="find my project")

    response = pm_client.get(url("detail", pk=insight.pk))

    body = response.content.decode()
    assert insight.text in body
    assert "Quicker access to my projects" in body
    assert "find my project" in body
    assert "Unlink" in body
    assert "linked" in body  # the activity history


def test_edit_insight(pm_client, acme, insight):
    response = pm_client.post(
        url("insight_edit", pk=insight.pk),
        {
            "text": "Edited text",
            "channel": "support",
            "captured_on": "2024-01-02",
            "importance": "1",
            "tags": "a, b",
        },
    )

    assert response.status_code == 302
    insight.refresh_from_db()
    assert (insight.text, insight.channel, insight.importance, insight.tags) == (
        "Edited text",
        "support",
        1,
        ["a", "b"],
    )


def test_unlink_from_the_detail_page(pm_client, acme, need, insight, paula):
    link = services.insight_link(insight=insight, need=need, by=paula)

    response = pm_client.post(url("unlink", pk=link.pk), {"next": url("detail", pk=insight.pk)})

    assert response.status_code == 302
    assert response["Location"] == url("detail", pk=insight.pk)
    assert not InsightLink.objects.exists()


def test_unlink_ignores_an_offsite_next(pm_client, need, insight, paula):
    link = services.insight_link(insight=insight, need=need, by=paula)

    response = pm_client.post(url("unlink", pk=link.pk), {"next": "https://evil.example/"})

    assert response["Location"] == insight.get_absolute_url()


# --------------------------------------------------------------------------------- needs


def test_needs_list_counts_insights_people_and_features(pm_client, acme, need):
    nora = StakeholderFactory(workspace=acme)
    for _ in range(2):
        InsightLinkFactory(need=need, insight=InsightFactory(workspace=acme, stakeholder=nora))
    InsightLinkFactory(need=need, insight=InsightFactory(workspace=acme))
    FeatureFactory(workspace=acme).needs.add(need)

    response = pm_client.get(url("needs"))

    row = response.context["page"].object_list[0]
    assert (row.insight_count, row.people_count, row.feature_count) == (3, 2, 1)


def test_needs_list_search_and_segment_filter(pm_client, acme, need):
    other = NeedFactory(workspace=acme, title="Export grades")
    other.segments.add(acme_segment(acme, "mentor"))

    by_text = pm_client.get(url("needs"), {"q": "grades"})
    by_segment = pm_client.get(url("needs"), {"segment": "mentor"})

    assert list(by_text.context["page"].object_list) == [other]
    assert list(by_segment.context["page"].object_list) == [other]


def test_new_need_form(pm_client, acme):
    response = pm_client.post(
        url("need_new"),
        {
            "title": "Know when my mentor replies",
            "description": "Students miss replies.",
            "segments": [acme_segment(acme, "student").pk],
        },
    )

    need = Need.objects.get(workspace=acme)
    assert response["Location"] == need.get_absolute_url()
    assert list(need.segments.values_list("key", flat=True)) == ["student"]


def test_need_page_shows_quotes_demand_and_features(pm_client, acme, need, paula):
    nora = StakeholderFactory(workspace=acme, name="Nora Quinn")
    insight = InsightFactory(workspace=acme, stakeholder=nora, text="I lose ten minutes a day.")
    services.insight_link(
        insight=insight, need=need, by=paula, highlight="ten minutes", importance=3
    )
    FeatureFactory(workspace=acme, title="Pinned projects", status="designing").needs.add(need)

    response = pm_client.get(url("need", pk=need.pk))

    body = response.content.decode()
    assert "Nora Quinn" in body
    assert "ten minutes" in body
    assert "Critical" in body
    assert "Pinned projects" in body
    assert "pill-status-designing" in body
    assert response.context["demand"][0]["insights"] == 1


def test_need_page_is_a_few_queries_however_many_quotes(
    pm_client, acme, need, django_assert_max_num_queries
):
    for _ in range(30):
        InsightLinkFactory(need=need, insight=InsightFactory(workspace=acme))
    FeatureFactory(workspace=acme).needs.add(need)

    with django_assert_max_num_queries(18):
        response = pm_client.get(url("need", pk=need.pk))

    assert response.status_code == 200


def test_edit_need_problem_statement(pm_client, acme, need):
    response = pm_client.post(
        url("need_edit", pk=need.pk),
        {"title": "Open my project in one click", "description": "Every morning students…"},
    )

    assert response.status_code == 302
    need.refresh_from_db()
    assert need.title == "Open my project in one click"
    assert need.description == "Every morning students…"


def test_archived_need_leaves_the_search(pm_client, need):
    pm_client.post(url("need_state", pk=need.pk), {"state": "archived"})

    response = pm_client.get(url("need_search"), {"title": "Quicker"})

    assert b"Quicker access" not in response.content


# -------------------------------------------------------------------------- stakeholders


def test_stakeholders_list_and_page(pm_client, acme, need, paula):
    nora = StakeholderFactory(workspace=acme, name="Nora Quinn", organisation="Quinn College")
    insight = InsightFactory(workspace=acme, stakeholder=nora, text="Grades are late")
    services.insight_link(insight=insight, need=need, by=paula)

    listing = pm_client.get(url("stakeholders"), {"q": "quinn college"})
    page = pm_client.get(url("stakeholder", pk=nora.pk))

    assert [s.name for s in listing.context["page"].object_list] == ["Nora Quinn"]
    assert listing.context["page"].object_list[0].insight_count == 1
    assert b"Grades are late" in page.content
    assert b"Quicker access to my projects" in page.content


def test_linked_quotes_are_marked_in_the_insight_text_and_stay_escaped(
    pm_client, acme, need, paula
):
    insight = InsightFactory(workspace=acme, text="Before <b>bold</b> the quoted part, after.")
    services.insight_link(insight=insight, need=need, by=paula, highlight="<b>bold</b> the quoted")

    response = pm_client.get(url("inbox"), {"state": "triaged", "selected": insight.pk})

    body = response.content.decode()
    assert "Before <mark>&lt;b&gt;bold&lt;/b&gt; the quoted</mark> part, after." in body
