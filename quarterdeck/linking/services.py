"""Every write of the linking app: vectors, suggestions, the workspace's link model, duplicate
groups and themes. Entry points called by other apps after commit: `insights_arrived` and
`link_recorded`."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext as _

from quarterdeck.backlog.models import Feature
from quarterdeck.core import activity
from quarterdeck.insights.models import Insight, InsightLink, InsightState, Need, NeedState
from quarterdeck.linking import indexes
from quarterdeck.linking.engine import duplicates, themes
from quarterdeck.linking.engine.linker import Linker
from quarterdeck.linking.engine.providers import EmbeddingProvider, get_provider
from quarterdeck.linking.models import (
    InsightVector,
    ItemKind,
    ItemVector,
    LinkingProgress,
    LinkSuggestion,
    NotDuplicate,
    Theme,
    VectorRevision,
    WorkspaceLinker,
)

log = logging.getLogger(__name__)

SUGGESTIONS = 3
# Below this cosine similarity to every need, an insight fits no existing need.
NO_MATCH_SIMILARITY = 0.3
# At or above this cosine similarity, two insights say the same thing; a little below it, they
# do when this share of their words is the same (engine.duplicates.is_duplicate).
DUPLICATE_SIMILARITY = 0.9
DUPLICATE_WORD_OVERLAP = 0.6
DUPLICATE_NEIGHBOURS = 10
# An insight belongs to a theme when its cosine to the theme's centre is at least this; a theme
# needs THEME_MIN insights and is named by its THEME_TERMS most distinctive terms.
THEME_SIMILARITY = 0.3
THEME_MIN = 3
THEME_TERMS = 5
THEME_MAX_INSIGHTS = 3000
CHUNK = 200
# The model is refitted from scratch (hyper-parameters chosen again) when the links grow by half.
REFIT_GROWTH = 1.5


# ------------------------------------------------------------------------------------- provider


def embedder() -> EmbeddingProvider:
    """The embedding provider named by settings.EMBEDDING_PROVIDER."""
    name = getattr(settings, "EMBEDDING_PROVIDER", "default") or "default"
    if name == "http":
        return get_provider(
            "http",
            url=settings.EMBEDDING_HTTP_URL,
            model=settings.EMBEDDING_HTTP_MODEL,
            api_key=settings.EMBEDDING_HTTP_KEY or None,
        )
    return get_provider(name)


def text_hash(text: str) -> str:
    """What a stored vector records of the text it was computed from."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        norm = float(np.linalg.norm(matrix))
        return matrix / norm if norm > 0 else matrix
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    return embedder().embed(list(texts))


# -------------------------------------------------------------------------------------- vectors


def _take_revision(workspace_id: int) -> int:
    """The workspace's next vector revision, for the rows this transaction writes.

    The counter row stays locked until the transaction ends, so revisions become visible in the
    order they were taken (what lets each process's index catch up without missing a row)."""
    assert transaction.get_connection().in_atomic_block, "take a revision inside a transaction"
    VectorRevision.objects.get_or_create(workspace_id=workspace_id)
    VectorRevision.objects.filter(workspace_id=workspace_id).update(
        revision=F("revision") + 1, updated_at=timezone.now()
    )
    return VectorRevision.objects.values_list("revision", flat=True).get(workspace_id=workspace_id)


def _store_insight_vectors(provider: str, rows: Sequence[tuple[Insight, np.ndarray]]) -> None:
    """Write (or rewrite) the vectors of insights, stamped with a new revision per workspace."""
    by_workspace: dict[int, list[tuple[Insight, np.ndarray]]] = defaultdict(list)
    for insight, row in rows:
        by_workspace[insight.workspace_id].append((insight, row))
    for workspace_id, pairs in by_workspace.items():
        with transaction.atomic():
            revision = _take_revision(workspace_id)
            ids = [insight.pk for insight, _row in pairs]
            # Read under the counter's lock: a concurrent writer of these rows has committed.
            existing = dict(
                InsightVector.objects.filter(insight_id__in=ids).values_list("insight_id", "pk")
            )
            alive = set(Insight.objects.filter(pk__in=ids).values_list("pk", flat=True))
            now = timezone.now()
            updates, creates = [], []
            for insight, row in pairs:
                if insight.pk not in alive:
                    continue
                vector = InsightVector(
                    pk=existing.get(insight.pk),
                    workspace_id=workspace_id,
                    insight_id=insight.pk,
                    provider=provider,
                    dim=len(row),
                    vector=InsightVector.pack(row),
                    text_hash=text_hash(insight.text),
                    revision=revision,
                    updated_at=now,
                )
                (updates if vector.pk else creates).append(vector)
            InsightVector.objects.bulk_update(
                updates,
                ["provider", "dim", "vector", "text_hash", "revision", "updated_at"],
                batch_size=500,
            )
            InsightVector.objects.bulk_create(creates, batch_size=500)


def insight_vectors(*, insights: Sequence[Insight]) -> dict[int, np.ndarray]:
    """The vector of each insight, computing (and storing) the missing or outdated ones."""
    provider = embedder()
    if not insights:
        return {}
    stored = {
        insight_id: (stored_hash, blob)
        for insight_id, stored_hash, blob in InsightVector.objects.filter(
            insight_id__in=[i.pk for i in insights], provider=provider.name
        ).values_list("insight_id", "text_hash", "vector")
    }
    result: dict[int, np.ndarray] = {}
    todo = []
    for insight in insights:
        stored_hash, blob = stored.get(insight.pk, ("", b""))
        if stored_hash == text_hash(insight.text):
            result[insight.pk] = np.frombuffer(bytes(blob), dtype=np.float16).astype(np.float32)
        else:
            todo.append(insight)
    if todo:
        matrix = provider.embed([i.text for i in todo])
        _store_insight_vectors(provider.name, list(zip(todo, matrix, strict=True)))
        for insight, row in zip(todo, matrix, strict=True):
            result[insight.pk] = row.astype(np.float32)
    return result


def item_text(title: str, description: str | None) -> str:
    """What a need's or a feature's vector is computed from."""
    return f"{title}\n{description or ''}".strip()


def _item_vectors_store(
    *, workspace, kind: str, items: Mapping[int, tuple[str, dt.datetime | None]]
) -> None:
    """Bring the vectors of needs or features (id → (`item_text`, updated_at)) up to date: those
    with no vector or another text are computed and stored under a new revision; the others
    only record the `updated_at` they were checked against."""
    provider = embedder()
    stored_rows = ItemVector.objects.filter(workspace=workspace, kind=kind, provider=provider.name)
    if len(items) <= 500:
        stored_rows = stored_rows.filter(object_id__in=list(items))
    stored = {
        object_id: (pk, stored_hash, checked)
        for pk, object_id, stored_hash, checked in stored_rows.values_list(
            "pk", "object_id", "text_hash", "source_updated_at"
        )
    }
    todo, checked = [], []
    for object_id, (text, updated_at) in items.items():
        pk, stored_hash, seen = stored.get(object_id, (None, "", None))
        if stored_hash != text_hash(text):
            todo.append(object_id)
        elif seen != updated_at:
            checked.append(ItemVector(pk=pk, source_updated_at=updated_at))
    if checked:
        ItemVector.objects.bulk_update(checked, ["source_updated_at"], batch_size=500)
    if not todo:
        return
    matrix = provider.embed([items[object_id][0] for object_id in todo])
    with transaction.atomic():
        revision = _take_revision(workspace.pk)
        existing = dict(
            ItemVector.objects.filter(
                workspace=workspace, kind=kind, provider=provider.name, object_id__in=todo
            ).values_list("object_id", "pk")
        )
        now = timezone.now()
        updates, creates = [], []
        for object_id, row in zip(todo, matrix, strict=True):
            text, updated_at = items[object_id]
            vector = ItemVector(
                pk=existing.get(object_id),
                workspace=workspace,
                kind=kind,
                object_id=object_id,
                provider=provider.name,
                dim=len(row),
                vector=ItemVector.pack(row),
                text_hash=text_hash(text),
                source_updated_at=updated_at,
                revision=revision,
                updated_at=now,
            )
            (updates if vector.pk else creates).append(vector)
        ItemVector.objects.bulk_update(
            updates,
            ["dim", "vector", "text_hash", "source_updated_at", "revision", "updated_at"],
            batch_size=500,
        )
        ItemVector.objects.bulk_create(creates, batch_size=500)


ITEM_MODELS = {ItemKind.NEED: Need, ItemKind.FEATURE: Feature}


def item_vectors_sync(*, workspace, kind: str) -> None:
    """Bring the stored vectors of all the workspace's needs or features up to date.

    Only the objects changed since their vector was last checked (`updated_at` differs from
    the vector's `source_updated_at`) or without one are read, so a search that finds nothing
    to do costs one query."""
    fresh = ItemVector.objects.filter(
        workspace=workspace,
        kind=kind,
        provider=embedder().name,
        object_id=OuterRef("pk"),
        source_updated_at=OuterRef("updated_at"),
    )
    stale = (
        ITEM_MODELS[kind]
        .objects.filter(workspace=workspace)
        .filter(~Exists(fresh))
        .values_list("pk", "title", "description", "updated_at")
    )
    items = {pk: (item_text(title, description), at) for pk, title, description, at in stale}
    if items:
        _item_vectors_store(workspace=workspace, kind=kind, items=items)


def item_vectors(*, workspace, kind: str, objects: Sequence) -> dict[int, np.ndarray]:
    """Vectors of needs or features (title + description), kept up to date by text hash."""
    items = {obj.pk: (item_text(obj.title, obj.description), obj.updated_at) for obj in objects}
    _item_vectors_store(workspace=workspace, kind=kind, items=items)
    return {
        object_id: np.frombuffer(bytes(blob), dtype=np.float16).astype(np.float32)
        for object_id, blob in ItemVector.objects.filter(
            workspace=workspace, kind=kind, provider=embedder().name
        ).values_list("object_id", "vector")
        if object_id in items
    }


def need_profiles(*, workspace) -> tuple[list[Need], np.ndarray]:
    """Each open need as one vector: its title and description, averaged with the centroid of
    the insights linked to it."""
    needs = list(Need.objects.filter(workspace=workspace, state=NeedState.OPEN))
    if not needs:
        return [], np.zeros((0, 0), dtype=np.float32)
    titles = item_vectors(workspace=workspace, kind=ItemKind.NEED, objects=needs)
    sums: dict[int, np.ndarray] = {}
    counts: Counter = Counter()
    rows = InsightVector.objects.filter(
        workspace=workspace,
        provider=embedder().name,
        insight__links__need__in=needs,
    ).values_list("insight__links__need_id", "vector")
    for need_id, blob in rows:
        vector = np.frombuffer(bytes(blob), dtype=np.float16).astype(np.float32)
        sums[need_id] = sums.get(need_id, 0) + vector
        counts[need_id] += 1
    profile = []
    for need in needs:
        vector = titles[need.pk]
        if counts[need.pk]:
            vector = 0.5 * vector + 0.5 * _normalise(sums[need.pk] / counts[need.pk])
        profile.append(_normalise(vector))
    return needs, np.vstack(profile)


# ---------------------------------------------------------------------------------- link model


def _training_rows(workspace, link_ids: Iterable[int] | None = None):
    links = InsightLink.objects.filter(workspace=workspace, need__state=NeedState.OPEN)
    if link_ids is not None:
        links = links.filter(pk__in=list(link_ids))
    links = list(links.select_related("insight").order_by("pk"))
    vectors = insight_vectors(
        insights=list({link.insight_id: link.insight for link in links}.values())
    )
    X = np.vstack([vectors[link.insight_id] for link in links]) if links else None
    return links, X


def linker_train(*, workspace, link_id: int | None = None) -> WorkspaceLinker | None:
    """Fit (or, for one new link, warm-update) the workspace's link model.

    With fewer than two needs with links there is nothing to learn: the model is removed and
    suggestions come from similarity alone."""
    provider = embedder()
    current = WorkspaceLinker.objects.filter(workspace=workspace, provider=provider.name).first()
    total = InsightLink.objects.filter(workspace=workspace, need__state=NeedState.OPEN).count()
    n_needs = (
        InsightLink.objects.filter(workspace=workspace, need__state=NeedState.OPEN)
        .values("need_id")
        .distinct()
        .count()
    )
    if n_needs < 2:
        if current is not None:
            current.delete()
        return None
    incremental = (
        current is not None
        and link_id is not None
        and total <= current.full_fit_links * REFIT_GROWTH
    )
    if incremental:
        links, X = _training_rows(workspace, [link_id])
        if not links:
            return current
        linker = Linker.from_bytes(bytes(current.blob))
        linker.partial_fit(
            X, [link.need_id for link in links], [link.insight.text for link in links]
        )
        full_fit_links = current.full_fit_links
    else:
        links, X = _training_rows(workspace)
        linker = Linker().fit(
            X, [link.need_id for link in links], [link.insight.text for link in links]
        )
        full_fit_links = len(links)
    current, _created = WorkspaceLinker.objects.update_or_create(
        workspace=workspace,
        provider=provider.name,
        defaults={
            "blob": linker.to_bytes(),
            "n_links": total,
            "n_needs": n_needs,
            "full_fit_links": full_fit_links,
            "trained_at": timezone.now(),
        },
    )
    return current


def _load_linker(workspace) -> tuple[WorkspaceLinker | None, Linker | None]:
    row = WorkspaceLinker.objects.filter(workspace=workspace, provider=embedder().name).first()
    if row is None:
        return None, None
    try:
        return row, Linker.from_bytes(bytes(row.blob))
    except (ValueError, KeyError) as exc:  # a model saved by an older format: refit later
        log.warning("unreadable link model for workspace %s: %s", workspace.pk, exc)
        return None, None


# ---------------------------------------------------------------------------------- suggestions


def _rank(insights, vectors, needs, profile, linker_row, linker) -> dict[int, list[tuple]]:
    """(need, confidence, no_match, method) for each insight, best first."""
    by_id = {n.pk: n for n in needs}
    X = np.vstack([vectors[i.pk] for i in insights])
    similarity = X @ profile.T if len(needs) else np.zeros((len(insights), 0))
    results: dict[int, list[tuple]] = {}
    linked = _linked_needs([i.pk for i in insights])
    model_results = None
    if linker is not None:
        model_results = linker.link(X, [i.text for i in insights], k=SUGGESTIONS + 5)
    for row, insight in enumerate(insights):
        best_similarity = float(similarity[row].max()) if len(needs) else 0.0
        too_far = best_similarity < NO_MATCH_SIMILARITY
        picks: list[tuple] = []
        if model_results is not None:
            result = model_results[row]
            no_match = result.no_match or too_far
            for s in result.suggestions:
                need = by_id.get(int(s.need_id))
                if need is not None and need.pk not in linked[insight.pk]:
                    picks.append((need, s.confidence, no_match, LinkSuggestion.Method.MODEL))
        else:
            no_match = too_far
            for j in np.argsort(-similarity[row]):
                need = needs[int(j)]
                if need.pk not in linked[insight.pk]:
                    picks.append(
                        (
                            need,
                            max(0.0, float(similarity[row, j])),
                            no_match,
                            LinkSuggestion.Method.SIMILARITY,
                        )
                    )
                if len(picks) >= SUGGESTIONS:
                    break
        results[insight.pk] = picks[:SUGGESTIONS]
    return results


def _linked_needs(insight_ids) -> dict[int, set[int]]:
    linked: dict[int, set[int]] = defaultdict(set)
    for insight_id, need_id in InsightLink.objects.filter(insight_id__in=insight_ids).values_list(
        "insight_id", "need_id"
    ):
        linked[insight_id].add(need_id)
    return linked


@transaction.atomic
def suggestions_compute(
    *, workspace, insights: Sequence[Insight]
) -> dict[int, list[LinkSuggestion]]:
    """Suggest needs for `insights` and store them (replacing earlier open suggestions)."""
    insights = list(insights)
    if not insights:
        return {}
    vectors = insight_vectors(insights=insights)
    needs, profile = need_profiles(workspace=workspace)
    linker_row, linker = _load_linker(workspace)
    ranked = _rank(insights, vectors, needs, profile, linker_row, linker) if needs else {}
    version = linker_row.version if linker_row else f"{embedder().name}/similarity"
    LinkSuggestion.objects.filter(insight__in=insights, accepted=False, dismissed=False).delete()
    kept = set(
        LinkSuggestion.objects.filter(insight__in=insights).values_list("insight_id", "need_id")
    )
    stored: dict[int, list[LinkSuggestion]] = {}
    rows = []
    for insight in insights:
        stored[insight.pk] = []
        for rank, (need, confidence, no_match, method) in enumerate(ranked.get(insight.pk, []), 1):
            if (insight.pk, need.pk) in kept:
                continue
            suggestion = LinkSuggestion(
                workspace=workspace,
                insight=insight,
                need=need,
                rank=rank,
                confidence=round(float(confidence), 4),
                no_match=no_match,
                method=method,
                model_version=version,
            )
            rows.append(suggestion)
            stored[insight.pk].append(suggestion)
    LinkSuggestion.objects.bulk_create(rows)
    return stored


def insights_arrived(*, insight_ids: Sequence[int]) -> None:
    """New or changed insights (after commit): vectors, suggestions and duplicates in the
    background, in chunks, with the workspace's progress counted."""
    from quarterdeck.linking import tasks

    by_workspace: dict[int, list[int]] = defaultdict(list)
    for insight_id, workspace_id in Insight.objects.filter(pk__in=list(insight_ids)).values_list(
        "pk", "workspace_id"
    ):
        by_workspace[workspace_id].append(insight_id)
    for workspace_id, ids in by_workspace.items():
        progress_add(workspace_id=workspace_id, count=len(ids))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            tasks.process_insights.enqueue(workspace_id=workspace_id, insight_ids=chunk)


def insights_process(*, workspace_id: int, insight_ids: Sequence[int]) -> None:
    """The background work for arrived insights: idempotent."""
    from quarterdeck.accounts.models import Workspace

    workspace = Workspace.objects.get(pk=workspace_id)
    insights = list(
        Insight.objects.filter(workspace=workspace, pk__in=list(insight_ids)).select_related(
            "workspace"
        )
    )
    try:
        if insights:
            insight_vectors(insights=insights)  # stored and committed before anything reads them
            suggestions_compute(workspace=workspace, insights=insights)
            duplicates_detect(workspace=workspace, insights=insights)
    finally:
        progress_advance(workspace_id=workspace_id, count=len(insight_ids))


def link_recorded(*, link_id: int) -> None:
    """An insight was linked to a need (after commit): the link model learns from it."""
    from quarterdeck.linking import tasks

    link = InsightLink.objects.filter(pk=link_id).only("workspace_id").first()
    if link is not None:
        tasks.learn_link.enqueue(workspace_id=link.workspace_id, link_id=link_id)


def suggestions_for(*, insight: Insight) -> list[LinkSuggestion]:
    """The open suggestions of an insight, computed now if the background work has not run."""
    rows = list(
        LinkSuggestion.objects.filter(insight=insight, accepted=False, dismissed=False)
        .select_related("need")
        .order_by("rank")
    )
    stale = any(s.need.state != NeedState.OPEN for s in rows) or any(
        s.need_id in _linked_needs([insight.pk])[insight.pk] for s in rows
    )
    if not rows or stale:
        computed = suggestions_compute(workspace=insight.workspace, insights=[insight])
        rows = computed.get(insight.pk, [])
    return rows


@transaction.atomic
def suggestion_accept(
    *, suggestion: LinkSuggestion, by, highlight: str = "", importance: int = 2
) -> InsightLink:
    """Link the insight to the suggested need, recorded as an accepted suggestion."""
    from quarterdeck.insights.services import insight_link

    link = insight_link(
        insight=suggestion.insight,
        need=suggestion.need,
        by=by,
        highlight=highlight,
        importance=importance,
        from_suggestion=True,
    )
    suggestion.accepted = True
    suggestion.save(update_fields=["accepted", "updated_at"])
    return link


@transaction.atomic
def suggestion_dismiss(*, suggestion: LinkSuggestion, by) -> LinkSuggestion:
    suggestion.dismissed = True
    suggestion.save(update_fields=["dismissed", "updated_at"])
    activity.record(
        workspace=suggestion.workspace,
        actor=by,
        verb="suggestion_dismissed",
        target=suggestion.insight,
        changes={"need": [str(suggestion.need), None]},
    )
    return suggestion


# ------------------------------------------------------------------------------------- progress


def progress_add(*, workspace_id: int, count: int) -> None:
    with transaction.atomic():
        progress, _created = LinkingProgress.objects.select_for_update().get_or_create(
            workspace_id=workspace_id
        )
        if progress.done >= progress.total:  # the previous batch is over: start counting afresh
            progress.total = progress.done = 0
        progress.total += count
        progress.save(update_fields=["total", "done", "updated_at"])


def progress_advance(*, workspace_id: int, count: int) -> None:
    LinkingProgress.objects.filter(workspace_id=workspace_id).update(
        done=Least(F("done") + count, F("total")), updated_at=timezone.now()
    )


# ----------------------------------------------------------------------------------- duplicates


def _texts_of(workspace):
    def texts(ids: list) -> dict[int, str]:
        return dict(
            Insight.objects.filter(workspace=workspace, pk__in=ids).values_list("pk", "text")
        )

    return texts


def duplicates_detect(*, workspace, insights: Sequence[Insight]) -> int:
    """Group each insight with the most similar earlier insight saying the same thing.

    Candidates are the insight's nearest neighbours in the workspace's vector index, judged by
    the engine's duplicate rule. The group's first insight stays the root; the others point to it
    with `duplicate_of`. Nothing is deleted, and a pair marked "not a duplicate" is never grouped
    again."""
    insights = [i for i in insights if not i.duplicate_of_id]
    if not insights:
        return 0
    provider = embedder().name
    vectors = insight_vectors(insights=insights)
    ids = [i.pk for i in insights]
    with indexes.vector_index(
        workspace_id=workspace.pk, provider=provider, kind=indexes.INSIGHT
    ) as index:
        if index is None:
            return 0
        matches = duplicates.index_duplicates(
            index,
            np.vstack([vectors[i.pk] for i in insights]),
            ids,
            [i.text for i in insights],
            texts_of=_texts_of(workspace),
            threshold=DUPLICATE_SIMILARITY,
            lexical_threshold=DUPLICATE_WORD_OVERLAP,
            k=DUPLICATE_NEIGHBOURS,
        )
    candidates = {other_id for row in matches for other_id, _sim in row}
    if not candidates:
        return 0
    # captured_at and duplicate_of of every insight in play, read once
    meta = {
        pk: (captured_at, root_id)
        for pk, captured_at, root_id in Insight.objects.filter(
            workspace=workspace, pk__in=candidates | set(ids)
        ).values_list("pk", "captured_at", "duplicate_of_id")
    }
    gone = candidates - set(meta)
    if gone:
        indexes.forget(
            workspace_id=workspace.pk, provider=provider, kind=indexes.INSIGHT, ids=list(gone)
        )
    refused = set(
        NotDuplicate.objects.filter(workspace=workspace)
        .filter(Q(insight_id__in=ids) | Q(other_id__in=ids))
        .values_list("insight_id", "other_id")
    )
    # the insights in play that head a group already
    heads = set(
        Insight.objects.filter(workspace=workspace, duplicate_of_id__in=set(meta)).values_list(
            "duplicate_of_id", flat=True
        )
    )
    loaded = {i.pk: i for i in insights}
    loaded.update(
        Insight.objects.filter(workspace=workspace).in_bulk(
            {root_id or pk for pk, (_at, root_id) in meta.items()} - set(loaded)
        )
    )
    grouped = 0
    regrouped: list[int] = []
    with transaction.atomic():
        for insight, row in zip(insights, matches, strict=True):
            for other_id, _similarity in row:
                if other_id not in meta:
                    continue
                if (insight.pk, other_id) in refused or (other_id, insight.pk) in refused:
                    continue
                root_id = meta[other_id][1] or other_id
                if root_id == insight.pk:
                    continue
                if insight.pk in heads:
                    # This insight already heads a group: the later of the two joins the other.
                    break
                root = loaded[root_id]
                if (
                    (insight.captured_at, insight.pk) < (root.captured_at, root.pk)
                    and not meta[other_id][1]
                    and other_id not in heads
                ):
                    # The new arrival is older: it becomes the root of the pair.
                    Insight.objects.filter(pk=other_id).update(duplicate_of=insight)
                    meta[other_id] = (meta[other_id][0], insight.pk)
                    heads.add(insight.pk)
                    activity.record(
                        workspace=workspace,
                        actor=None,
                        verb="grouped_duplicate",
                        target=root,
                        message=insight.summary,
                    )
                else:
                    Insight.objects.filter(pk=insight.pk).update(duplicate_of=root)
                    insight.duplicate_of = root
                    meta[insight.pk] = (insight.captured_at, root.pk)
                    heads.add(root.pk)
                    activity.record(
                        workspace=workspace,
                        actor=None,
                        verb="grouped_duplicate",
                        target=insight,
                        message=root.summary,
                    )
                grouped += 1
                regrouped += [insight.pk, other_id]
                break
    if regrouped:  # an anonymous group counts once in the demand of its needs
        from quarterdeck.insights.services import evidence_changed

        evidence_changed(insight_ids=regrouped)
    return grouped


@transaction.atomic
def duplicate_ungroup(*, insight: Insight, by) -> Insight:
    """ "Not a duplicate": take `insight` out of its group (or, for a group's first insight,
    dissolve the group) and remember the decision."""
    if insight.duplicate_of_id:
        pairs = [(insight, insight.duplicate_of)]
        Insight.objects.filter(pk=insight.pk).update(duplicate_of=None)
        insight.duplicate_of = None
    else:
        followers = list(Insight.objects.filter(duplicate_of=insight))
        if not followers:
            raise ValidationError({"insight": _("This insight is not in a duplicate group.")})
        pairs = [(f, insight) for f in followers]
        Insight.objects.filter(duplicate_of=insight).update(duplicate_of=None)
    for a, b in pairs:
        NotDuplicate.objects.get_or_create(workspace_id=insight.workspace_id, insight=a, other=b)
    activity.record(
        workspace=insight.workspace,
        actor=by,
        verb="not_duplicate",
        target=insight,
        changes={"duplicate_of": [pairs[0][1].pk, None]},
    )
    from quarterdeck.insights.services import evidence_changed

    evidence_changed(insight_ids=[a.pk for pair in pairs for a in pair])
    return insight


# --------------------------------------------------------------------------------------- themes


def themes_compute(*, workspace) -> list[Theme]:
    """Cluster the new, unlinked insights into named themes (replacing the earlier ones that were
    not turned into needs)."""
    insights = list(
        Insight.objects.filter(
            workspace=workspace,
            state=InsightState.NEW,
            links__isnull=True,
            duplicate_of__isnull=True,
        )
        .select_related("segment")
        .order_by("-captured_at")[:THEME_MAX_INSIGHTS]
    )
    found: list[themes.Theme] = []
    if len(insights) >= THEME_MIN:
        vectors = insight_vectors(insights=insights)
        found = themes.cluster_themes(
            np.vstack([vectors[i.pk] for i in insights]),
            [i.text for i in insights],
            min_size=THEME_MIN,
            min_similarity=THEME_SIMILARITY,
            n_terms=THEME_TERMS,
        )
    stored = []
    with transaction.atomic():
        Theme.objects.filter(workspace=workspace, need__isnull=True).delete()
        for found_theme in found:
            members = [insights[m] for m in found_theme.members]
            quotes = [
                {"id": insights[m].pk, "text": insights[m].summary}
                for m in found_theme.representatives
            ]
            segments = Counter((i.segment.name if i.segment else _("No segment")) for i in members)
            theme = Theme.objects.create(
                workspace=workspace,
                name=found_theme.name[:200],
                terms=found_theme.terms,
                quotes=quotes,
                segment_counts=dict(segments.most_common()),
                size=len(members),
            )
            theme.insights.set([i.pk for i in members])
            stored.append(theme)
    return stored


@transaction.atomic
def theme_to_need(*, theme: Theme, by, title: str = "") -> Need:
    """Create a need from a theme and link every insight of the theme to it."""
    from quarterdeck.insights.services import insight_link, need_create

    if theme.need_id:
        raise ValidationError({"theme": _("This theme is already a need.")})
    insights = list(theme.insights.filter(state=InsightState.NEW))
    if not insights:
        raise ValidationError({"theme": _("Every insight of this theme has been triaged already.")})
    representative = theme.quotes[0]["id"] if theme.quotes else insights[0].pk
    first = next((i for i in insights if i.pk == representative), insights[0])
    title = (title or "").strip() or first.summary or theme.name
    need = need_create(
        workspace=theme.workspace,
        title=title[:200],
        by=by,
        description=_("Gathered from the theme “%(name)s”.") % {"name": theme.name},
    )
    for insight in insights:
        insight_link(insight=insight, need=need, by=by)
    theme.need = need
    theme.save(update_fields=["need", "updated_at"])
    return need
