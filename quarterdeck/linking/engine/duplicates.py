"""Near-duplicate insights: nearest neighbours by cosine, and groups of near-duplicates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .text import tokens


def nearest(
    query_vecs: np.ndarray,
    matrix: np.ndarray,
    k: int = 5,
    *,
    exclude_self: bool = False,
    chunk: int = 2048,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k rows of ``matrix`` by cosine (rows are L2-normalised) for each query.

    Returns ``(indices, similarities)``, both ``(len(query_vecs), k')`` with ``k' = min(k, rows)``,
    best first. ``exclude_self`` assumes the queries *are* ``matrix`` (row i never answers i).
    """
    Q = np.asarray(query_vecs, dtype=np.float32)
    M = np.asarray(matrix, dtype=np.float32)
    k = max(0, min(k, len(M) - (1 if exclude_self else 0)))
    idx = np.zeros((len(Q), k), dtype=np.int64)
    sims = np.zeros((len(Q), k), dtype=np.float32)
    if k == 0 or len(Q) == 0:
        return idx, sims
    for start in range(0, len(Q), chunk):
        S = Q[start : start + chunk] @ M.T
        if exclude_self:
            rows = np.arange(S.shape[0])
            S[rows, rows + start] = -np.inf
        part = np.argpartition(-S, k - 1, axis=1)[:, :k]
        part_sims = np.take_along_axis(S, part, axis=1)
        order = np.argsort(-part_sims, axis=1)
        idx[start : start + chunk] = np.take_along_axis(part, order, axis=1)
        sims[start : start + chunk] = np.take_along_axis(part_sims, order, axis=1)
    return idx, sims


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def duplicate_pairs(
    vectors: np.ndarray,
    texts: Sequence[str] | None = None,
    *,
    threshold: float = 0.9,
    lexical_threshold: float = 0.6,
    k: int = 10,
) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, similarity)`` with ``i < j`` that look like the same insight.

    A pair qualifies when its cosine is at least ``threshold``, or — when texts are given — when
    its cosine is at least ``threshold - 0.1`` and the word-set Jaccard overlap is at least
    ``lexical_threshold`` (catches copies with small edits that the model scores a bit lower).
    Only each row's ``k`` nearest neighbours are considered.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if len(vectors) < 2:
        return []
    idx, sims = nearest(vectors, vectors, k, exclude_self=True)
    words = [set(tokens(t)) for t in texts] if texts is not None else None
    floor = threshold - 0.1 if words is not None else threshold
    pairs: dict[tuple[int, int], float] = {}
    for i in range(len(vectors)):
        for j, s in zip(idx[i], sims[i], strict=True):
            if s < floor:
                break
            a, b = (i, int(j)) if i < j else (int(j), i)
            if (a, b) in pairs:
                continue
            if s >= threshold or (
                words is not None and _jaccard(words[a], words[b]) >= lexical_threshold
            ):
                pairs[(a, b)] = float(s)
    return sorted(((a, b, s) for (a, b), s in pairs.items()), key=lambda p: -p[2])


def duplicate_groups(
    vectors: np.ndarray,
    texts: Sequence[str] | None = None,
    ids: Sequence | None = None,
    *,
    threshold: float = 0.9,
    lexical_threshold: float = 0.6,
    k: int = 10,
) -> list[list]:
    """Groups (connected components) of near-duplicates, largest first; singletons are left out.

    Members are row indices, or the matching ``ids`` when given.
    """
    n = len(vectors)
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, _ in duplicate_pairs(
        vectors, texts, threshold=threshold, lexical_threshold=lexical_threshold, k=k
    ):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    result = sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))
    if ids is not None:
        return [[ids[i] for i in g] for g in result]
    return result
