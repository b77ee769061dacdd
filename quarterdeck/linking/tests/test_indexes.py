"""Search and duplicate detection are served from each process's vector index, which catches up
with the database before every use."""

import threading

import pytest
from django.db import connection, transaction

from quarterdeck.insights import services as insight_services
from quarterdeck.insights.models import Insight, Need
from quarterdeck.linking import indexes, selectors, services
from quarterdeck.linking.models import InsightVector, ItemVector, VectorRevision
from quarterdeck.testing.factories import NeedFactory, WorkspaceFactory


def _insight(workspace, text, capture, **kw):
    with capture(execute=True):
        return insight_services.insight_create(workspace=workspace, text=text, **kw)


def _found(workspace, q):
    return [h.obj.pk for h in selectors.search(workspace, q, kinds=("insights",))["insights"]]


def _nearest(workspace, text, k=5):
    return indexes.nearest(
        workspace_id=workspace.pk,
        provider=services.embedder().name,
        kind=indexes.INSIGHT,
        vector=services.embed_texts([text])[0],
        k=k,
    )


def _builds(workspace, kind=indexes.INSIGHT):
    return indexes.builds(workspace_id=workspace.pk, provider=services.embedder().name, kind=kind)


def test_a_vector_stored_after_the_first_search_is_found_by_the_next(
    acme, django_capture_on_commit_callbacks
):
    first = _insight(acme, "Offline videos on the train please", django_capture_on_commit_callbacks)
    assert _found(acme, "offline videos") == [first.pk]
    later = _insight(
        acme, "Dark mode for the mobile app at night", django_capture_on_commit_callbacks
    )
    # Found by meaning, not only by its words: the index caught up instead of being rebuilt.
    assert [pk for pk, _sim in _nearest(acme, "dark mode mobile app night")][:1] == [later.pk]
    assert _found(acme, "mobile app dark mode") == [later.pk]
    assert _builds(acme) == 1


def test_an_edited_text_is_found_by_its_new_wording_and_not_the_old(
    acme, paula, django_capture_on_commit_callbacks
):
    insight = _insight(
        acme, "Dark mode for the mobile app at night", django_capture_on_commit_callbacks
    )
    assert _found(acme, "dark mode mobile app") == [insight.pk]
    with django_capture_on_commit_callbacks(execute=True):
        insight_services.insight_update(
            insight=insight, by=paula, text="Export the grades of my class to a spreadsheet"
        )
    assert InsightVector.objects.get(insight=insight).text_hash == services.text_hash(insight.text)
    assert _found(acme, "dark mode mobile app") == []
    assert _found(acme, "grades spreadsheet export") == [insight.pk]
    top = _nearest(acme, "Export the grades of my class to a spreadsheet", k=1)
    assert top[0][0] == insight.pk and top[0][1] > 0.95
    assert _builds(acme) == 1


def test_an_insight_whose_new_vector_is_not_stored_yet_is_not_found_by_its_old_meaning(acme):
    insight = Insight.objects.create(
        workspace=acme, text="Dark mode for the mobile app", captured_at="2025-01-01T00:00Z"
    )
    services.insight_vectors(insights=[insight])
    assert _found(acme, "mobile app dark mode") == [insight.pk]
    Insight.objects.filter(pk=insight.pk).update(text="Invoices are charged twice")
    assert _found(acme, "mobile app dark mode") == []


def test_a_deleted_insight_leaves_the_results_and_the_index(
    acme, django_capture_on_commit_callbacks
):
    keep = _insight(acme, "Offline videos on the train", django_capture_on_commit_callbacks)
    gone = _insight(acme, "Offline videos in the metro", django_capture_on_commit_callbacks)
    assert set(_found(acme, "offline videos")) == {keep.pk, gone.pk}
    gone_pk = gone.pk
    gone.delete()
    assert _found(acme, "offline videos") == [keep.pk]
    assert gone_pk not in [pk for pk, _sim in _nearest(acme, "offline videos in the metro")]


def test_search_and_the_index_never_cross_workspaces(
    acme, globex, django_capture_on_commit_callbacks
):
    ours = _insight(acme, "Offline videos on the train", django_capture_on_commit_callbacks)
    theirs = _insight(globex, "Offline videos on the train", django_capture_on_commit_callbacks)
    NeedFactory(workspace=globex, title="Offline videos on the train")
    results = selectors.search(acme, "offline videos on the train")
    assert [h.obj.pk for h in results["insights"]] == [ours.pk]
    assert results["needs"] == []
    assert [pk for pk, _sim in _nearest(acme, "offline videos on the train")] == [ours.pk]
    assert [pk for pk, _sim in _nearest(globex, "offline videos on the train")] == [theirs.pk]
    # The same words in another workspace are not a duplicate.
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.duplicate_of is None and theirs.duplicate_of is None


def test_a_counter_that_went_back_or_changed_epoch_rebuilds_the_index(
    acme, django_capture_on_commit_callbacks
):
    insight = _insight(acme, "Offline videos on the train", django_capture_on_commit_callbacks)
    assert _found(acme, "offline videos") == [insight.pk]
    assert _builds(acme) == 1
    VectorRevision.objects.filter(workspace=acme).update(revision=0)  # a write rolled back
    assert _found(acme, "offline videos") == [insight.pk]
    assert _builds(acme) == 2
    VectorRevision.objects.filter(workspace=acme).update(epoch="another")
    assert _found(acme, "offline videos") == [insight.pk]
    assert _builds(acme) == 3
    assert _found(acme, "offline videos") == [insight.pk]
    assert _builds(acme) == 3


def test_each_write_takes_the_next_revision_and_stamps_its_rows(acme):
    rows = [
        Insight.objects.create(workspace=acme, text=t, captured_at="2025-01-01T00:00Z")
        for t in ("Offline videos", "Dark mode")
    ]
    services.insight_vectors(insights=rows[:1])
    services.insight_vectors(insights=rows[1:])
    revisions = dict(InsightVector.objects.values_list("insight_id", "revision"))
    assert revisions == {rows[0].pk: 1, rows[1].pk: 2}
    assert VectorRevision.objects.get(workspace=acme).revision == 2


def test_needs_and_features_are_searched_from_their_index_and_follow_edits(acme, paula):
    need = NeedFactory(workspace=acme, title="Watch course videos offline")
    assert [h.obj for h in selectors.search(acme, "offline videos")["needs"]] == [need]
    insight_services.need_update(need=need, by=paula, title="Export grades to a spreadsheet")
    assert selectors.search(acme, "course videos offline")["needs"] == []
    assert [h.obj for h in selectors.search(acme, "grades spreadsheet")["needs"]] == [need]
    assert _builds(acme, kind="need") == 1


def test_a_warm_search_reads_a_fixed_number_of_rows(
    acme, django_capture_on_commit_callbacks, django_assert_num_queries
):
    for n in range(5):
        _insight(
            acme, f"Offline videos on the train, number {n}", django_capture_on_commit_callbacks
        )
    selectors.search(acme, "offline videos", kinds=("insights",))
    # the revision counter, the text matches and the hits with their stakeholder and segment
    with django_assert_num_queries(3):
        hits = selectors.search(acme, "offline videos", kinds=("insights",))["insights"]
    assert len(hits) == 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite", reason="needs a second database connection")
def test_a_vector_committed_by_another_connection_is_found():
    workspace = WorkspaceFactory(slug="elsewhere")
    first = Insight.objects.create(
        workspace=workspace, text="Offline videos on the train", captured_at="2025-01-01T00:00Z"
    )
    services.insight_vectors(insights=[first])
    assert _found(workspace, "offline videos") == [first.pk]
    other = Insight.objects.create(
        workspace=workspace, text="Dark mode for the mobile app", captured_at="2025-01-01T00:00Z"
    )

    def elsewhere():  # another process: its own connection, its own transaction
        try:
            with transaction.atomic():
                services.insight_vectors(insights=[other])
        finally:
            connection.close()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert [pk for pk, _sim in _nearest(workspace, "dark mode for the mobile app", k=1)] == [
        other.pk
    ]


def test_a_need_changed_without_new_words_is_checked_not_embedded_again(
    acme, paula, django_assert_num_queries
):
    need = NeedFactory(workspace=acme, title="Watch course videos offline")
    selectors.search(acme, "offline videos", kinds=("needs",))
    revision = VectorRevision.objects.get(workspace=acme).revision
    insight_services.need_update(need=need, by=paula, state="archived")
    assert [h.obj for h in selectors.search(acme, "offline videos", kinds=("needs",))["needs"]]
    assert VectorRevision.objects.get(workspace=acme).revision == revision
    vector = ItemVector.objects.get(workspace=acme, kind="need", object_id=need.pk)
    assert vector.source_updated_at == Need.objects.get(pk=need.pk).updated_at
    # up to date: what is stale, the revision counter, the text matches, the hits
    with django_assert_num_queries(4):
        selectors.search(acme, "offline videos", kinds=("needs",))


def test_in_a_large_workspace_words_are_matched_among_the_nearest_by_meaning(
    acme, monkeypatch, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    near = _insight(acme, "Offline videos on the train please", capture)
    for n in range(6):  # close in meaning, without the words "offline videos"
        _insight(acme, f"Videos offline on the train, lesson {n}", capture)
    far = _insight(
        acme,
        "Invoices are charged twice and refunds take weeks, my bank keeps calling about it; "
        "offline videos aside, billing is a mess",
        capture,
    )

    def top_two():
        hits = selectors.search(acme, "offline videos", kinds=("insights",), limit=2)["insights"]
        return [(h.obj.pk, h.text_match) for h in hits]

    assert top_two() == [(near.pk, True), (far.pk, True)]
    monkeypatch.setattr(selectors, "TEXT_SCAN_MAX", 5)
    monkeypatch.setattr(selectors, "WORD_POOL", 0)
    (first, second) = top_two()
    assert first == (near.pk, True) and second[0] != far.pk and not second[1]
