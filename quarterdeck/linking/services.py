"""Every write of the linking app: vectors, suggestions, the workspace's link model, duplicate
groups and themes. Entry points called by other apps after commit: `insights_arrived` and
`link_recorded`."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext as _

from quarterdeck.core import activity
from quarterdeck.insights.models import Insight, InsightLink, InsightState, Need, NeedState
from quarterdeck.linking.engine.linker import Linker
from quarterdeck.linking.engine.providers import EmbeddingProvider, get_provider
from quarterdeck.linking.engine.text import tokens
from quarterdeck.linking.models import (
    InsightVector,
    ItemKind,
    ItemVector,
    LinkingProgress,
    LinkSuggestion,
    NotDuplicate,
    Theme,
    WorkspaceLinker,
)

log = logging.getLogger(__name__)

SUGGESTIONS = 3
# Below this cosine similarity to every need, an insight fits no existing need.
NO_MATCH_SIMILARITY = 0.3
# At or above this cosine similarity, two insights say the same thing.
DUPLICATE_SIMILARITY = 0.9
# Insights at least this similar are gathered into one theme; a theme needs THEME_MIN insights.
THEME_SIMILARITY = 0.45
THEME_MIN = 3
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


def _hash(text: str) -> str:
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


def insight_vectors(*, insights: Sequence[Insight]) -> dict[int, np.ndarray]:
    """The vector of each insight, computing (and storing) the missing or outdated ones."""
    provider = embedder()
    if not insights:
        return {}
    stored = {
        v.insight_id: v
        for v in InsightVector.objects.filter(
            insight_id__in=[i.pk for i in insights], provider=provider.name
        )
    }
    result: dict[int, np.ndarray] = {}
    todo = []
    for insight in insights:
        vector = stored.get(insight.pk)
        if vector is not None and vector.text_hash == _hash(insight.text):
            result[insight.pk] = vector.array
        else:
            todo.append(insight)
    if todo:
        matrix = provider.embed([i.text for i in todo])
        for insight, row in zip(todo, matrix, strict=True):
            InsightVector.objects.update_or_create(
                insight=insight,
                defaults={
                    "workspace_id": insight.workspace_id,
                    "provider": provider.name,
                    "dim": len(row),
                    "vector": InsightVector.pack(row),
                    "text_hash": _hash(insight.text),
                },
            )
            result[insight.pk] = row.astype(np.float32)
    return result


def _item_text(obj) -> str:
    return f"{obj.title}\n{obj.description or ''}".strip()


def item_vectors(*, workspace, kind: str, objects: Sequence) -> dict[int, np.ndarray]:
    """Vectors of needs or features (title + description), kept up to date by text hash."""
    provider = embedder()
    stored = {
        v.object_id: v
        for v in ItemVector.objects.filter(workspace=workspace, kind=kind, provider=provider.name)
    }
    result: dict[int, np.ndarray] = {}
    todo = []
    for obj in objects:
        vector = stored.get(obj.pk)
        if vector is not None and vector.text_hash == _hash(_item_text(obj)):
            result[obj.pk] = vector.array
        else:
            todo.append(obj)
    if todo:
        matrix = provider.embed([_item_text(o) for o in todo])
        for obj, row in zip(todo, matrix, strict=True):
            ItemVector.objects.update_or_create(
                workspace=workspace,
                kind=kind,
                object_id=obj.pk,
                provider=provider.name,
                defaults={
                    "dim": len(row),
                    "vector": ItemVector.pack(row),
                    "text_hash": _hash(_item_text(obj)),
                },
            )
            result[obj.pk] = row.astype(np.float32)
    return result


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


def _group_root(insight: Insight) -> Insight:
    return insight.duplicate_of if insight.duplicate_of_id else insight


def duplicates_detect(*, workspace, insights: Sequence[Insight]) -> int:
    """Group each insight with the most similar earlier insight saying the same thing.

    The group's first insight stays the root; the others point to it with `duplicate_of`.
    Nothing is deleted, and a pair marked "not a duplicate" is never grouped again."""
    provider = embedder()
    insights = [i for i in insights if not i.duplicate_of_id]
    if not insights:
        return 0
    vectors = insight_vectors(insights=insights)
    others = list(
        InsightVector.objects.filter(workspace=workspace, provider=provider.name).values_list(
            "insight_id", "vector"
        )
    )
    if len(others) < 2:
        return 0
    other_ids = np.array([o[0] for o in others])
    M = np.vstack([np.frombuffer(bytes(o[1]), dtype=np.float16) for o in others]).astype(np.float32)
    refused = set(
        NotDuplicate.objects.filter(workspace=workspace).values_list("insight_id", "other_id")
    )
    meta = {
        row[0]: row
        for row in Insight.objects.filter(workspace=workspace).values_list(
            "pk", "captured_at", "duplicate_of_id"
        )
    }
    grouped = 0
    for insight in insights:
        sims = M @ vectors[insight.pk]
        order = np.argsort(-sims)[:10]
        for j in order:
            other_id = int(other_ids[j])
            if sims[j] < DUPLICATE_SIMILARITY:
                break
            if other_id == insight.pk or other_id not in meta:
                continue
            if (insight.pk, other_id) in refused or (other_id, insight.pk) in refused:
                continue
            root_id = meta[other_id][2] or other_id
            if root_id == insight.pk:
                continue
            has_followers = any(m[2] == insight.pk for m in meta.values())
            if has_followers:
                # This insight already heads a group: the later of the two joins the other.
                break
            root = Insight.objects.get(pk=root_id)
            if (insight.captured_at, insight.pk) < (root.captured_at, root.pk) and not meta[
                other_id
            ][2]:
                # The new arrival is older: it becomes the root of the pair.
                Insight.objects.filter(pk=other_id).update(duplicate_of=insight)
                meta[other_id] = (other_id, meta[other_id][1], insight.pk)
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
                meta[insight.pk] = (insight.pk, insight.captured_at, root.pk)
                activity.record(
                    workspace=workspace,
                    actor=None,
                    verb="grouped_duplicate",
                    target=insight,
                    message=root.summary,
                )
            grouped += 1
            break
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
    return insight


# --------------------------------------------------------------------------------------- themes

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most my
    no nor not now of off on once only or other our ours out over own same she should so some such
    than that the their theirs them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours im
    dont cant ive get got also really still like would could one want need please thanks thank
    would us use using""".split()
)


def _terms(texts: Sequence[str]) -> list[Counter]:
    return [
        Counter(t for t in tokens(text) if t not in STOPWORDS and len(t) > 2 and not t.isdigit())
        for text in texts
    ]


def _cluster(X: np.ndarray, threshold: float, min_size: int) -> list[list[int]]:
    """Densest-first grouping: the insight with the most close neighbours gathers them, again and
    again, until no group of `min_size` is left."""
    S = X @ X.T
    close = S >= threshold
    free = np.ones(len(X), dtype=bool)
    clusters = []
    while free.sum() >= min_size:
        counts = (close & free[None, :] & free[:, None]).sum(axis=1)
        centre = int(np.argmax(counts))
        if counts[centre] < min_size:
            break
        members = np.flatnonzero(close[centre] & free)
        clusters.append(members.tolist())
        free[members] = False
    return clusters


@transaction.atomic
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
    Theme.objects.filter(workspace=workspace, need__isnull=True).delete()
    if len(insights) < THEME_MIN:
        return []
    vectors = insight_vectors(insights=insights)
    X = np.vstack([vectors[i.pk] for i in insights])
    counters = _terms([i.text for i in insights])
    df = Counter()
    for c in counters:
        df.update(c.keys())
    n = len(insights)
    themes = []
    for members in _cluster(X, THEME_SIMILARITY, THEME_MIN):
        tf = Counter()
        for m in members:
            tf.update(set(counters[m]))
        size = len(members)
        # Words frequent in this theme and rare elsewhere (boilerplate shared by all scores 0).
        scored = sorted(
            tf,
            key=lambda t: (-(tf[t] / size - (df[t] - tf[t]) / max(1, n - size)), t),
        )
        terms = scored[:5]
        centroid = _normalise(X[members].mean(axis=0))
        closest = sorted(members, key=lambda m: -float(X[m] @ centroid))
        quotes = [{"id": insights[m].pk, "text": insights[m].summary} for m in closest[:3]]
        segments = Counter(
            (insights[m].segment.name if insights[m].segment else _("No segment")) for m in members
        )
        theme = Theme.objects.create(
            workspace=workspace,
            name=" · ".join(terms[:3]) or quotes[0]["text"][:60],
            terms=terms,
            quotes=quotes,
            segment_counts=dict(segments.most_common()),
            size=len(members),
        )
        theme.insights.set([insights[m].pk for m in closest])
        themes.append(theme)
    return themes


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
