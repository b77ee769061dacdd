import pytest

from quarterdeck.insights import services as insight_services
from quarterdeck.insights.models import Insight, InsightLink, InsightState
from quarterdeck.linking import selectors, services
from quarterdeck.linking.models import (
    InsightVector,
    LinkingProgress,
    LinkSuggestion,
    NotDuplicate,
    Theme,
    WorkspaceLinker,
)
from quarterdeck.testing.factories import NeedFactory, StakeholderFactory, WorkspaceFactory

OFFLINE = [
    "I want to download course videos to watch offline on the train",
    "Offline mode please, I lose the videos when there is no internet connection",
    "Can I save the lessons to my phone and watch the videos without internet?",
]
EXPORT = [
    "Export the grades of my class to a spreadsheet file",
    "I need to export student grades as CSV for the school office",
    "Please let teachers download the grade book as an Excel spreadsheet",
]


@pytest.fixture
def needs(acme):
    return {
        "offline": NeedFactory(workspace=acme, title="Watch course videos offline"),
        "export": NeedFactory(workspace=acme, title="Export grades to a spreadsheet"),
    }


def _insight(workspace, text, django_capture_on_commit_callbacks, **kw):
    with django_capture_on_commit_callbacks(execute=True):
        return insight_services.insight_create(workspace=workspace, text=text, **kw)


def _link(insight, need, django_capture_on_commit_callbacks, **kw):
    with django_capture_on_commit_callbacks(execute=True):
        return insight_services.insight_link(insight=insight, need=need, **kw)


@pytest.fixture
def trained(acme, needs, django_capture_on_commit_callbacks):
    for key, texts in (("offline", OFFLINE), ("export", EXPORT)):
        for text in texts:
            insight = _insight(acme, text, django_capture_on_commit_callbacks)
            _link(insight, needs[key], django_capture_on_commit_callbacks)
    return needs


def test_insight_creation_stores_its_vector_and_suggestions(
    acme, needs, django_capture_on_commit_callbacks
):
    insight = _insight(
        acme, "Watching videos offline would help me a lot", django_capture_on_commit_callbacks
    )
    assert InsightVector.objects.filter(insight=insight).exists()
    top = LinkSuggestion.objects.filter(insight=insight).order_by("rank").first()
    assert top.need == needs["offline"]
    assert top.method == LinkSuggestion.Method.SIMILARITY


def test_links_train_the_workspace_model_which_ranks_the_right_need(
    acme, trained, django_capture_on_commit_callbacks
):
    model = WorkspaceLinker.objects.get(workspace=acme)
    assert model.n_links == 6 and model.n_needs == 2
    insight = _insight(
        acme,
        "Our school office wants the grades exported to a spreadsheet",
        django_capture_on_commit_callbacks,
    )
    suggestions = list(LinkSuggestion.objects.filter(insight=insight).order_by("rank"))
    assert suggestions[0].need == trained["export"]
    assert suggestions[0].method == LinkSuggestion.Method.MODEL
    assert suggestions[0].confidence > suggestions[1].confidence


def test_unrelated_text_fits_no_existing_need(acme, trained, django_capture_on_commit_callbacks):
    insight = _insight(acme, "Zzz qqq xylophone", django_capture_on_commit_callbacks)
    rows = services.suggestions_for(insight=insight)
    assert rows and all(s.no_match for s in rows)


def test_accepting_a_suggestion_links_it_as_from_suggestion(
    acme, paula, trained, django_capture_on_commit_callbacks
):
    insight = _insight(
        acme, "Offline videos on the train please", django_capture_on_commit_callbacks
    )
    suggestion = services.suggestions_for(insight=insight)[0]
    with django_capture_on_commit_callbacks(execute=True):
        link = services.suggestion_accept(suggestion=suggestion, by=paula)
    assert link.from_suggestion and link.need == trained["offline"]
    suggestion.refresh_from_db()
    assert suggestion.accepted
    insight.refresh_from_db()
    assert insight.state == InsightState.TRIAGED
    assert WorkspaceLinker.objects.get(workspace=acme).n_links == 7


def test_suggestions_are_computed_on_demand_when_missing(acme, needs):
    insight = Insight.objects.create(
        workspace=acme, text="offline course videos", captured_at="2025-01-01T00:00Z"
    )
    assert not LinkSuggestion.objects.filter(insight=insight).exists()
    rows = services.suggestions_for(insight=insight)
    assert rows[0].need == needs["offline"]


def test_bulk_arrival_counts_progress(acme, needs, django_capture_on_commit_callbacks):
    ids = [
        Insight.objects.create(workspace=acme, text=t, captured_at="2025-01-01T00:00Z").pk
        for t in OFFLINE + EXPORT
    ]
    services.insights_arrived(insight_ids=ids)
    progress = LinkingProgress.objects.get(workspace=acme)
    assert (progress.done, progress.total) == (6, 6)
    assert LinkSuggestion.objects.filter(insight_id__in=ids, rank=1).count() == 6


def test_the_same_request_sent_twice_is_grouped_not_deleted(
    acme, django_capture_on_commit_callbacks
):
    person = StakeholderFactory(workspace=acme)
    first = _insight(
        acme,
        "Please add a dark mode to the mobile app",
        django_capture_on_commit_callbacks,
        stakeholder=person,
    )
    _insight(
        acme, "Something entirely different about invoices", django_capture_on_commit_callbacks
    )
    second = _insight(
        acme,
        "Please add a dark mode to the mobile app!",
        django_capture_on_commit_callbacks,
        stakeholder=person,
    )
    second.refresh_from_db()
    assert second.duplicate_of == first
    assert Insight.objects.filter(workspace=acme).count() == 3
    assert [g.pk for g in selectors.duplicate_groups(acme)] == [first.pk]


def test_a_copy_with_small_edits_is_grouped_and_an_unrelated_text_is_not(
    acme, django_capture_on_commit_callbacks
):
    first = _insight(
        acme, "Please add a dark mode to the mobile app", django_capture_on_commit_callbacks
    )
    edited = _insight(
        acme, "please add dark mode in the mobile app", django_capture_on_commit_callbacks
    )
    other = _insight(
        acme, "Please add an invoice export to the web app", django_capture_on_commit_callbacks
    )
    edited.refresh_from_db()
    other.refresh_from_db()
    assert edited.duplicate_of == first
    assert other.duplicate_of is None


def test_not_a_duplicate_ungroups_and_is_remembered(
    acme, paula, django_capture_on_commit_callbacks
):
    first = _insight(
        acme, "Please add a dark mode to the mobile app", django_capture_on_commit_callbacks
    )
    second = _insight(
        acme, "Please add a dark mode to the mobile app.", django_capture_on_commit_callbacks
    )
    second.refresh_from_db()
    services.duplicate_ungroup(insight=second, by=paula)
    second.refresh_from_db()
    assert second.duplicate_of is None
    assert NotDuplicate.objects.filter(insight=second, other=first).exists()
    services.duplicates_detect(workspace=acme, insights=[second])
    second.refresh_from_db()
    assert second.duplicate_of is None


def test_demand_counts_a_duplicate_group_once_per_stakeholder(
    acme, needs, django_capture_on_commit_callbacks
):
    person = StakeholderFactory(workspace=acme)
    a = _insight(
        acme,
        "Offline videos on the train please",
        django_capture_on_commit_callbacks,
        stakeholder=person,
    )
    b = _insight(
        acme,
        "Offline videos on the train please!",
        django_capture_on_commit_callbacks,
        stakeholder=person,
    )
    for i in (a, b):
        _link(i, needs["offline"], django_capture_on_commit_callbacks)
    assert selectors.demand_once_per_stakeholder(needs["offline"]) == 1


def test_themes_gather_unlinked_insights_and_become_a_need(acme, paula):
    texts = [
        "The checkout page crashes when I pay by card",
        "Checkout crashes every time I pay with my card",
        "Paying by card makes the checkout page crash",
        "I love the new colours",
    ]
    for t in texts:
        Insight.objects.create(workspace=acme, text=t, captured_at="2025-01-01T00:00Z")
    themes = services.themes_compute(workspace=acme)
    assert len(themes) == 1
    theme = themes[0]
    assert theme.size == 3 and "checkout" in theme.terms
    need = services.theme_to_need(theme=theme, by=paula)
    assert InsightLink.objects.filter(need=need).count() == 3
    assert Theme.objects.get(pk=theme.pk).need == need
    # Recomputing keeps the theme that became a need and finds nothing else to group.
    services.themes_compute(workspace=acme)
    assert list(Theme.objects.filter(workspace=acme)) == [theme]


def test_search_finds_by_meaning_and_words_within_the_workspace(
    acme, needs, django_capture_on_commit_callbacks
):
    _insight(acme, "Offline videos on the train please", django_capture_on_commit_callbacks)
    other = WorkspaceFactory(slug="other")
    NeedFactory(workspace=other, title="Watch course videos offline")
    Insight.objects.create(workspace=other, text="Offline videos", captured_at="2025-01-01T00:00Z")
    results = selectors.search(acme, "offline videos")
    assert [h.obj for h in results["needs"]][:1] == [needs["offline"]]
    assert all(h.obj.workspace_id == acme.pk for hits in results.values() for h in hits)
    assert len(results["insights"]) == 1
