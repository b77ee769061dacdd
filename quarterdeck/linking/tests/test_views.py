import json

import pytest
from django.urls import reverse

from quarterdeck.insights import services as insight_services
from quarterdeck.insights.models import Insight, InsightLink
from quarterdeck.linking import services
from quarterdeck.linking.models import LinkingProgress, LinkSuggestion, Theme
from quarterdeck.testing.factories import FeatureFactory, NeedFactory, WorkspaceFactory


@pytest.fixture
def need(acme):
    return NeedFactory(workspace=acme, title="Watch course videos offline")


@pytest.fixture
def insight(acme):
    return Insight.objects.create(
        workspace=acme,
        text="I want offline course videos on the train",
        captured_at="2025-01-01T00:00Z",
    )


def url(name, **kw):
    return reverse(f"linking:{name}", kwargs={"ws": "acme", **kw})


def test_inbox_pane_shows_suggested_needs_with_features(pm_client, acme, need, insight):
    feature = FeatureFactory(workspace=acme, title="Download lessons")
    feature.needs.add(need)
    response = pm_client.get(url("suggestions", pk=insight.pk), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Watch course videos offline" in body and "Download lessons" in body
    assert "Accept" in body and "%" in body


def test_unrelated_insight_offers_a_new_need_prefilled(pm_client, acme, need):
    odd = Insight.objects.create(
        workspace=acme, text="Zzz qqq xylophone", captured_at="2025-01-01T00:00Z"
    )
    body = pm_client.get(url("suggestions", pk=odd.pk)).content.decode()
    assert "No existing need fits well" in body
    assert "Create a new need" in body and 'value="Zzz qqq xylophone"' in body
    assert reverse("insights:link", kwargs={"ws": "acme", "pk": odd.pk}) in body


def test_accept_links_from_suggestion_and_rerenders_the_inbox(pm_client, acme, need, insight):
    suggestion = services.suggestions_for(insight=insight)[0]
    response = pm_client.post(
        url("accept", pk=suggestion.pk),
        {"importance": "3", "return": "", "next": ""},
        headers={"HX-Request": "true", "HX-Target": "inbox"},
    )
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"])["toast"]["message"].startswith("Linked to")
    assert 'class="ibx' in response.content.decode()
    link = InsightLink.objects.get(insight=insight)
    assert link.need == need and link.from_suggestion and link.importance == 3
    assert LinkSuggestion.objects.get(pk=suggestion.pk).accepted


def test_viewer_cannot_accept(viewer_client, acme, need, insight):
    suggestion = services.suggestions_for(insight=insight)[0]
    assert viewer_client.post(url("accept", pk=suggestion.pk)).status_code == 403
    assert not InsightLink.objects.exists()


def test_outsider_cannot_see_suggestions(outsider_client, acme, insight):
    response = outsider_client.get(
        reverse("linking:suggestions", kwargs={"ws": "globex", "pk": insight.pk})
    )
    assert response.status_code == 404


def test_dismiss_hides_a_suggestion(pm_client, acme, need, insight):
    NeedFactory(workspace=acme, title="Offline lessons for the train")
    suggestion = services.suggestions_for(insight=insight)[0]
    response = pm_client.post(url("dismiss", pk=suggestion.pk), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert LinkSuggestion.objects.get(pk=suggestion.pk).dismissed
    assert suggestion.pk not in [s.pk for s in services.suggestions_for(insight=insight)]


def test_progress_partial_polls_while_running(pm_client, acme):
    LinkingProgress.objects.create(workspace=acme, total=10, done=4)
    body = pm_client.get(url("progress")).content.decode()
    assert "4 of 10" in body and 'hx-trigger="every 2s"' in body
    LinkingProgress.objects.filter(workspace=acme).update(done=10)
    body = pm_client.get(url("progress")).content.decode()
    assert "every 2s" not in body and "ready for the 10 insights that just arrived" in body


def test_search_page_groups_results_by_kind_within_the_workspace(pm_client, acme, need, insight):
    FeatureFactory(workspace=acme, title="Offline video downloads")
    other = WorkspaceFactory(slug="other")
    NeedFactory(workspace=other, title="Secret offline videos need")
    body = pm_client.get(url("search"), {"q": "offline videos"}).content.decode()
    assert "Watch course videos offline" in body and "Offline video downloads" in body
    assert "Secret" not in body
    assert "Find by meaning" in pm_client.get(url("search")).content.decode()


def test_duplicates_page_and_not_a_duplicate(pm_client, acme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = insight_services.insight_create(workspace=acme, text="Please add a dark mode")
    with django_capture_on_commit_callbacks(execute=True):
        second = insight_services.insight_create(workspace=acme, text="Please add a dark mode!")
    body = pm_client.get(url("duplicates")).content.decode()
    assert "Please add a dark mode!" in body and "Not a duplicate" in body
    response = pm_client.post(url("ungroup", pk=second.pk))
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.duplicate_of is None and first.duplicates.count() == 0
    assert "No duplicates found" in pm_client.get(url("duplicates")).content.decode()


def test_viewer_cannot_ungroup_or_recompute(viewer_client, acme):
    a = Insight.objects.create(workspace=acme, text="x", captured_at="2025-01-01T00:00Z")
    assert viewer_client.post(url("ungroup", pk=a.pk)).status_code == 403
    assert viewer_client.post(url("themes_recompute")).status_code == 403


def test_themes_recompute_and_turn_into_a_need(pm_client, acme):
    for t in (
        "The checkout page crashes when I pay by card",
        "Checkout crashes every time I pay with my card",
        "Paying by card makes the checkout page crash",
    ):
        Insight.objects.create(workspace=acme, text=t, captured_at="2025-01-01T00:00Z")
    assert "No themes yet" in pm_client.get(url("themes")).content.decode()
    pm_client.post(url("themes_recompute"))
    theme = Theme.objects.get(workspace=acme)
    body = pm_client.get(url("themes")).content.decode()
    assert theme.name in body and "Turn into a need" in body
    response = pm_client.post(
        url("theme_to_need", pk=theme.pk), {"title": "Card payments crash checkout"}
    )
    assert response.status_code == 302
    assert InsightLink.objects.filter(need__title="Card payments crash checkout").count() == 3
