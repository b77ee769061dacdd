"""Reads of the linking app: search, duplicate groups, themes, progress."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Prefetch, Q

from quarterdeck.backlog.models import Feature
from quarterdeck.insights.models import Insight, Need
from quarterdeck.linking import indexes, services
from quarterdeck.linking.models import (
    ItemKind,
    LinkingProgress,
    LinkSuggestion,
    Theme,
    WorkspaceLinker,
)

SEARCH_KINDS = ("insights", "needs", "features")
# Vector matches below this similarity are left out unless the words themselves match.
SEARCH_MIN_SIMILARITY = 0.25
# A result whose text contains the query gets this much added to its similarity.
TEXT_MATCH_BONUS = 0.3
# Up to this many stored vectors of a kind, the query's words are looked for in every row of the
# workspace; above, only among the WORD_POOL rows nearest in meaning (scanning every text would
# cost far more than the search itself: the inbox's text filter is there for exact words).
TEXT_SCAN_MAX = 20_000
WORD_POOL = 200


@dataclass
class Hit:
    kind: str
    obj: object
    similarity: float
    text_match: bool

    @property
    def score(self) -> float:
        return self.similarity + (TEXT_MATCH_BONUS if self.text_match else 0.0)


def _rank_hits(kind, objects, sims: dict[int, float], matched: set[int], limit: int) -> list[Hit]:
    hits = []
    for obj in objects:
        similarity = sims.get(obj.pk, 0.0)
        text_match = obj.pk in matched
        if text_match or similarity >= SEARCH_MIN_SIMILARITY:
            hits.append(Hit(kind, obj, similarity, text_match))
    hits.sort(key=lambda h: (-h.score, h.obj.pk))
    return hits[:limit]


def _nearest(workspace, provider: str, kind: str, query, k: int) -> tuple[list, int]:
    """The `k` nearest (object id, cosine) from this process's index, and the index's size."""
    with indexes.vector_index(workspace_id=workspace.pk, provider=provider, kind=kind) as index:
        if index is None or len(index) == 0:
            return [], 0
        return index.query(query, k=k)[0], len(index)


def _candidates(workspace, provider, kind, model, words: Q, query, pool: int):
    """Similarity of the nearest `pool` by meaning and of those whose words contain the query,
    and the ids of the latter."""
    nearest, size = _nearest(workspace, provider, kind, query, max(pool, WORD_POOL))
    by_meaning = dict(nearest)
    rows = model.objects.filter(workspace=workspace).filter(words).order_by()
    if size > TEXT_SCAN_MAX:
        rows = rows.filter(pk__in=list(by_meaning))
    matched = set(rows.values_list("pk", flat=True)[:pool])
    sims = dict(nearest[:pool])
    sims.update((pk, by_meaning[pk]) for pk in matched if pk in by_meaning)
    return sims, matched


def _drop_gone(workspace, provider: str, kind: str, sims: dict[int, float], objects) -> None:
    """Vector hits whose object is gone (deleted): out of the results and out of the index."""
    present = {obj.pk for obj in objects}
    gone = [pk for pk in sims if pk not in present]
    for pk in gone:
        del sims[pk]
    if gone:
        indexes.forget(workspace_id=workspace.pk, provider=provider, kind=kind, ids=gone)


def search(workspace, q: str, kinds=SEARCH_KINDS, limit: int = 10) -> dict[str, list[Hit]]:
    """Insights, needs and features of `workspace` nearest in meaning to `q` (served from the
    workspace's vector indexes), plus those whose words contain it (see TEXT_SCAN_MAX); grouped
    by kind, best first."""
    q = (q or "").strip()
    results: dict[str, list[Hit]] = {}
    if not q:
        return results
    query = services.embed_texts([q])[0]
    provider = services.embedder().name
    pool = limit * 3
    if "insights" in kinds:
        sims, matched = _candidates(
            workspace, provider, indexes.INSIGHT, Insight, Q(text__icontains=q), query, pool
        )
        objects = list(
            Insight.objects.filter(workspace=workspace, pk__in=set(sims) | matched)
            .select_related("stakeholder", "segment")
            .annotate(vector_hash=F("vector__text_hash"), vector_provider=F("vector__provider"))
            .order_by()  # ranked below; an ordering would lead the planner to scan the workspace
        )
        _drop_gone(workspace, provider, indexes.INSIGHT, sims, objects)
        for obj in objects:
            if obj.pk in sims and (
                obj.vector_provider != provider or obj.vector_hash != services.text_hash(obj.text)
            ):
                # The text changed and its new vector is still being computed: the old one no
                # longer speaks for it.
                del sims[obj.pk]
        results["insights"] = _rank_hits("insights", objects, sims, matched, limit)
    for kind, item_kind in (("needs", ItemKind.NEED), ("features", ItemKind.FEATURE)):
        if kind not in kinds:
            continue
        services.item_vectors_sync(workspace=workspace, kind=item_kind)
        model = services.ITEM_MODELS[item_kind]
        words = Q(title__icontains=q) | Q(description__icontains=q)
        sims, matched = _candidates(workspace, provider, item_kind, model, words, query, pool)
        objects = list(
            model.objects.filter(workspace=workspace, pk__in=set(sims) | matched).order_by()
        )
        _drop_gone(workspace, provider, item_kind, sims, objects)
        results[kind] = _rank_hits(kind, objects, sims, matched, limit)
    return results


def suggestion_for(workspace, pk: int) -> LinkSuggestion:
    return LinkSuggestion.objects.select_related("insight", "need", "insight__workspace").get(
        workspace=workspace, pk=pk
    )


def needs_with_features(need_ids) -> dict[int, list[Feature]]:
    needs = Need.objects.filter(pk__in=need_ids).prefetch_related(
        Prefetch("features", queryset=Feature.objects.order_by("title"))
    )
    return {n.pk: list(n.features.all()) for n in needs}


def linker_state(workspace) -> WorkspaceLinker | None:
    return (
        WorkspaceLinker.objects.filter(workspace=workspace, provider=services.embedder().name)
        .only("n_links", "n_needs", "trained_at", "provider", "workspace_id")
        .first()
    )


def duplicate_groups(workspace) -> list[Insight]:
    """The first insight of each duplicate group, with its duplicates prefetched."""
    return list(
        Insight.objects.filter(workspace=workspace, duplicates__isnull=False)
        .distinct()
        .select_related("stakeholder", "segment")
        .prefetch_related(
            Prefetch(
                "duplicates",
                queryset=Insight.objects.select_related("stakeholder", "segment").order_by(
                    "captured_at", "pk"
                ),
            )
        )
        .order_by("-captured_at")
    )


def themes(workspace):
    return (
        Theme.objects.filter(workspace=workspace)
        .select_related("need")
        .annotate(open_count=Count("insights", filter=Q(insights__state="new")))
    )


def progress(workspace) -> LinkingProgress | None:
    return LinkingProgress.objects.filter(workspace=workspace).first()


def demand_once_per_stakeholder(need: Need) -> int:
    """How many distinct voices a need has: a duplicate group from one stakeholder counts once."""
    keys = set()
    for insight_id, root_id, stakeholder_id in need.links.values_list(
        "insight_id", "insight__duplicate_of_id", "insight__stakeholder_id"
    ):
        keys.add((root_id or insight_id, stakeholder_id) if stakeholder_id else ("i", insight_id))
    return len(keys)
