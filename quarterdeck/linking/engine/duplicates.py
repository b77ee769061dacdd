"""Near-duplicate insights: nearest neighbours by cosine, and groups of near-duplicates.

One rule says when two insights are the same (``is_duplicate``); ``duplicate_pairs`` and
``duplicate_groups`` apply it to a batch of vectors, ``index_duplicates`` to new rows against a
:class:`~.index.VectorIndex` of everything stored.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence

import numpy as np

from .index import VectorIndex
from .text import tokens

# A pair this far below the threshold still qualifies when its words overlap enough.
LEXICAL_MARGIN = 0.1


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


def words(text: str) -> set[str]:
    """The word set the lexical rule compares."""
    return set(tokens(text))


def is_duplicate(
    similarity: float,
    words_a: set[str] | None = None,
    words_b: set[str] | None = None,
    *,
    threshold: float = 0.9,
    lexical_threshold: float = 0.6,
) -> bool:
    """Whether two insights look like the same one.

    Yes when their cosine is at least ``threshold``, or — when both word sets are given — when
    it is at least ``threshold - LEXICAL_MARGIN`` and the word-set Jaccard overlap is at least
    ``lexical_threshold`` (catches copies with small edits that the model scores a bit lower).
    """
    if similarity >= threshold:
        return True
    if words_a is None or words_b is None or similarity < threshold - LEXICAL_MARGIN:
        return False
    return _jaccard(words_a, words_b) >= lexical_threshold


def duplicate_pairs(
    vectors: np.ndarray,
    texts: Sequence[str] | None = None,
    *,
    threshold: float = 0.9,
    lexical_threshold: float = 0.6,
    k: int = 10,
) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, similarity)`` with ``i < j`` that look like the same insight
    (``is_duplicate``; the lexical part only when texts are given).

    Only each row's ``k`` nearest neighbours are considered.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if len(vectors) < 2:
        return []
    idx, sims = nearest(vectors, vectors, k, exclude_self=True)
    word_sets = [words(t) for t in texts] if texts is not None else None
    floor = threshold - LEXICAL_MARGIN if word_sets is not None else threshold
    pairs: dict[tuple[int, int], float] = {}
    for i in range(len(vectors)):
        for j, s in zip(idx[i], sims[i], strict=True):
            if s < floor:
                break
            a, b = (i, int(j)) if i < j else (int(j), i)
            if (a, b) in pairs:
                continue
            if is_duplicate(
                float(s),
                word_sets[a] if word_sets is not None else None,
                word_sets[b] if word_sets is not None else None,
                threshold=threshold,
                lexical_threshold=lexical_threshold,
            ):
                pairs[(a, b)] = float(s)
    return sorted(((a, b, s) for (a, b), s in pairs.items()), key=lambda p: -p[2])


def index_duplicates(
    index: VectorIndex,
    vectors: np.ndarray,
    ids: Sequence[Hashable],
    texts: Sequence[str] | None = None,
    *,
    texts_of: Callable[[list[Hashable]], Mapping[Hashable, str]] | None = None,
    threshold: float = 0.9,
    lexical_threshold: float = 0.6,
    k: int = 10,
) -> list[list[tuple[Hashable, float]]]:
    """For each row ``vectors[i]`` (the vector of ``ids[i]``, which the index may hold already),
    the rows of ``index`` that look like the same insight: ``(id, similarity)``, best first.

    Only the ``k`` nearest neighbours of each row are considered. With the rows' ``texts`` and
    ``texts_of`` (the texts of index rows by id, asked once for every near miss), the lexical
    part of ``is_duplicate`` applies too; an id that ``texts_of`` leaves out is judged by its
    cosine alone.
    """
    if len(ids) == 0 or len(index) == 0:
        return [[] for _ in ids]
    lexical = texts is not None and texts_of is not None
    floor = threshold - LEXICAL_MARGIN if lexical else threshold
    found = index.query(np.asarray(vectors, dtype=np.float32), k=k + 1)
    candidates = [
        [(j, s) for j, s in row if j != ids[i] and s >= floor][:k] for i, row in enumerate(found)
    ]
    other_words: dict[Hashable, set[str]] = {}
    if lexical:
        assert texts is not None and texts_of is not None
        near_misses = list(dict.fromkeys(j for row in candidates for j, s in row if s < threshold))
        if near_misses:
            other_words = {j: words(t) for j, t in texts_of(near_misses).items()}
    result = []
    for i, row in enumerate(candidates):
        own = words(texts[i]) if lexical and texts is not None else None
        result.append(
            [
                (j, s)
                for j, s in row
                if is_duplicate(
                    s,
                    own,
                    other_words.get(j),
                    threshold=threshold,
                    lexical_threshold=lexical_threshold,
                )
            ]
        )
    return result


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
