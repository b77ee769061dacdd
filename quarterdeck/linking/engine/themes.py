"""Themes: cluster the vectors of unlinked insights and name each cluster.

Spherical k-means (k-means++ seeding, cosine), rows far from their cluster's centre and small
clusters dropped as noise, then a name from
the cluster's most distinctive words (class-based TF-IDF against all the texts) and the texts
closest to its centre as representatives.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .text import tokens

# A short English stop list: names are made of content words.
STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    im ive dont cant wont didnt doesnt isnt get got also still please hi hello thanks thank us
    one would like want need
    """.split()
)


@dataclass(frozen=True)
class Theme:
    name: str
    terms: list[str]
    members: list[int]  # row indices into the input
    representatives: list[int]  # members closest to the centre, best first
    cohesion: float  # mean cosine of members to the centre


def _kmeans(
    X: np.ndarray, k: int, rng: np.random.Generator, iters: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    n = len(X)
    centres = np.empty((k, X.shape[1]), dtype=np.float32)
    centres[0] = X[rng.integers(n)]
    dist = 1.0 - X @ centres[0]
    for c in range(1, k):
        p = np.clip(dist, 0, None) ** 2
        total = p.sum()
        i = rng.choice(n, p=p / total) if total > 0 else rng.integers(n)
        centres[c] = X[i]
        dist = np.minimum(dist, 1.0 - X @ centres[c])
    assign = np.zeros(n, dtype=np.int64)
    for it in range(iters):
        new = (X @ centres.T).argmax(axis=1)
        if it and np.array_equal(new, assign):
            break
        assign = new
        for c in range(k):
            rows = X[assign == c]
            if len(rows):
                m = rows.sum(axis=0)
                centres[c] = m / (np.linalg.norm(m) or 1.0)
    return assign, centres


def _trim(X: np.ndarray, members: np.ndarray, min_similarity: float) -> np.ndarray:
    """The members whose cosine to the centre of the *other* members is at least
    ``min_similarity``; the farthest go first, a tenth at a time, as the centre moves without
    them."""
    while len(members) > 1:
        rest = X[members].sum(axis=0)[None, :] - X[members]
        norms = np.maximum(np.linalg.norm(rest, axis=1), 1e-12)
        sims = np.einsum("ij,ij->i", X[members], rest) / norms
        below = np.flatnonzero(sims < min_similarity)
        if not len(below):
            break
        worst = below[np.argsort(sims[below])][: max(1, len(members) // 10)]
        members = np.delete(members, worst)
    return members


def _terms(
    texts: Sequence[str], assign: np.ndarray, clusters: list[int], top: int
) -> dict[int, list[str]]:
    """Class-based TF-IDF: frequent in the cluster, rare across clusters."""
    counts: dict[int, Counter[str]] = {c: Counter() for c in clusters}
    for text, c in zip(texts, assign, strict=True):
        if c in counts:
            words = [
                w for w in tokens(text) if w not in STOP_WORDS and len(w) > 2 and not w.isdigit()
            ]
            grams = words + [a + " " + b for a, b in zip(words, words[1:], strict=False)]
            counts[c].update(set(grams))
    df: Counter[str] = Counter()
    for counter in counts.values():
        df.update(counter.keys())
    n_clusters = max(len(clusters), 1)
    result = {}
    for c, counter in counts.items():
        size = max(int((assign == c).sum()), 1)
        scored = [
            (cnt / size * math.log(1 + n_clusters / df[g]) * (1.3 if " " in g else 1.0), g)
            for g, cnt in counter.items()
            if cnt >= 2 or size < 4
        ]
        scored.sort(reverse=True)
        chosen: list[str] = []
        for _, g in scored:
            if any(g in other or other in g for other in chosen):
                continue
            chosen.append(g)
            if len(chosen) == top:
                break
        result[c] = chosen
    return result


def cluster_themes(
    vectors: np.ndarray,
    texts: Sequence[str],
    *,
    n_themes: int | None = None,
    min_size: int = 3,
    n_terms: int = 4,
    n_representatives: int = 3,
    min_similarity: float = 0.0,
    seed: int = 0,
) -> list[Theme]:
    """Themes among the given (unlinked) insights, largest first; rows in no theme are left out.

    ``n_themes`` defaults to about √(n/2), at most 50. A row whose cosine to its cluster's
    centre is below ``min_similarity`` belongs to no theme (k-means places every row somewhere,
    even one that speaks of nothing else in the set).
    """
    X = np.asarray(vectors, dtype=np.float32)
    n = len(X)
    if n < max(min_size, 2):
        return []
    k = n_themes or int(round(math.sqrt(n / 2)))
    k = max(1, min(k, 50, n // max(min_size, 1) or 1))
    assign, centres = _kmeans(X, k, np.random.default_rng(seed))
    sims = np.einsum("ij,ij->i", X, centres[assign])
    if min_similarity > 0:
        for c in range(k):
            kept = _trim(X, np.flatnonzero(assign == c), min_similarity)
            assign[(assign == c) & ~np.isin(np.arange(n), kept)] = -1
            if len(kept):
                m = X[kept].sum(axis=0)
                centres[c] = m / (np.linalg.norm(m) or 1.0)
        sims = np.einsum("ij,ij->i", X, centres[np.maximum(assign, 0)])
    clusters = [c for c in range(k) if (assign == c).sum() >= min_size]
    terms = _terms(texts, assign, clusters, n_terms)
    themes = []
    for c in clusters:
        members = np.flatnonzero(assign == c)
        order = members[np.argsort(-sims[members])]
        words = terms.get(c) or []
        name = ", ".join(words[:3]) if words else texts[int(order[0])][:60]
        themes.append(
            Theme(
                name=name,
                terms=words,
                members=[int(i) for i in members],
                representatives=[int(i) for i in order[:n_representatives]],
                cohesion=float(sims[members].mean()),
            )
        )
    themes.sort(key=lambda t: (-len(t.members), -t.cohesion))
    return themes
