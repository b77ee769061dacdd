"""Reads of the linking app: search, duplicate groups, themes, progress."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Prefetch, Q

from quarterdeck.backlog.models import Feature
from quarterdeck.insights.models import Insight, Need
from quarterdeck.linking import services
from quarterdeck.linking.models import (
    InsightVector,
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


def search(workspace, q: str, kinds=SEARCH_KINDS, limit: int = 10) -> dict[str, list[Hit]]:
    """Insights, needs and features of `workspace` nearest in meaning to `q`, plus those whose
    words contain it; grouped by kind, best first."""
    q = (q or "").strip()
    results: dict[str, list[Hit]] = {}
    if not q:
        return results
    query = services.embed_texts([q])[0]
    provider = services.embedder().name
    if "insights" in kinds:
        sims: dict[int, float] = {}
        rows = list(
            InsightVector.objects.filter(workspace=workspace, provider=provider).values_list(
                "insight_id", "vector"
            )
        )
        if rows:
            M = np.vstack([np.frombuffer(bytes(v), dtype=np.float16) for _, v in rows])
            scores = M.astype(np.float32) @ query
            top = np.argsort(-scores)[: limit * 3]
            sims = {rows[int(j)][0]: float(scores[j]) for j in top}
        matched = set(
            Insight.objects.filter(workspace=workspace, text__icontains=q).values_list(
                "pk", flat=True
            )[: limit * 3]
        )
        objects = Insight.objects.filter(workspace=workspace, pk__in=set(sims) | matched)
        objects = objects.select_related("stakeholder", "segment")
        results["insights"] = _rank_hits("insights", objects, sims, matched, limit)
    for kind, model, item_kind in (
        ("needs", Need, ItemKind.NEED),
        ("features", Feature, ItemKind.FEATURE),
    ):
        if kind not in kinds:
            continue
        objects = list(model.objects.filter(workspace=workspace))
        vectors = services.item_vectors(workspace=workspace, kind=item_kind, objects=objects)
        sims = {pk: float(v @ query) for pk, v in vectors.items()}
        matched = set(
            model.objects.filter(workspace=workspace)
            .filter(Q(title__icontains=q) | Q(description__icontains=q))
            .values_list("pk", flat=True)
        )
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
