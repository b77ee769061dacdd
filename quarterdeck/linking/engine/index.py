"""In-memory nearest-neighbour index for one workspace (cosine on L2-normalised vectors).

Vectors are stored as int8 with one float scale per row (a quarter of float32's memory: 1M
384-d vectors take about 390 MB). Up to ``flat_limit`` vectors every query scans all of them
(exact up to the int8 rounding). Past it, the index trains an inverted file: spherical k-means
centres (the coarse quantizer) and one list of rows per centre; a query scans the rows of its
``nprobe`` nearest lists. ``add`` / ``remove`` are incremental (``add`` of a known id replaces its
vector); ``rebuild()`` re-trains the centres, which ``add`` does by itself once the collection has
grown ``retrain_growth`` times since the last training. A bulk load passes ``defer_training=True``
to each ``add`` and calls ``rebuild()`` once at the end, so the centres are trained on all the rows.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Hashable, Sequence

import numpy as np


def _quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = np.abs(vectors).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.rint(vectors / scale[:, None]).astype(np.int8)
    return q, scale.astype(np.float32)


class VectorIndex:
    def __init__(
        self,
        dim: int,
        *,
        flat_limit: int = 50_000,
        nlist: int | None = None,
        nprobe: int | None = None,
        retrain_growth: float = 4.0,
    ):
        self.dim = dim
        self.flat_limit = flat_limit
        self.retrain_growth = retrain_growth
        self._trained_on = 0  # live rows when the centres were trained
        self._nlist = nlist
        self._nprobe = nprobe
        self._codes = np.zeros((0, dim), dtype=np.int8)
        self._scales = np.zeros(0, dtype=np.float32)
        self._alive = np.zeros(0, dtype=bool)
        self._slot_ids: list[Hashable] = []
        self._slots: dict[Hashable, int] = {}
        self._free: list[int] = []
        self._size = 0  # slots in use, alive or not
        self._free_reused = False  # a freed slot went back into a list: lists may repeat it
        self.centres: np.ndarray | None = None
        self._lists: list[array] = []
        self._slot_list = np.zeros(0, dtype=np.int32)

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, item: Hashable) -> bool:
        return item in self._slots

    @property
    def nbytes(self) -> int:
        """Memory held by the rows and lists (roughly)."""
        lists = sum(len(lst) for lst in self._lists) * 8
        return self._codes.nbytes + self._scales.nbytes + self._slot_list.nbytes + lists

    # -- writes -------------------------------------------------------------------
    def _grow(self, needed: int) -> None:
        capacity = len(self._codes)
        if needed <= capacity:
            return
        new_cap = max(needed, int(capacity * 1.5) + 1024)
        codes = np.zeros((new_cap, self.dim), dtype=np.int8)
        codes[:capacity] = self._codes
        self._codes = codes
        self._scales = np.concatenate([self._scales, np.ones(new_cap - capacity, np.float32)])
        self._alive = np.concatenate([self._alive, np.zeros(new_cap - capacity, bool)])
        self._slot_list = np.concatenate([self._slot_list, -np.ones(new_cap - capacity, np.int32)])

    def add(
        self, ids: Sequence[Hashable], vectors: np.ndarray, *, defer_training: bool = False
    ) -> None:
        """Insert or replace vectors by id.

        With ``defer_training`` the index stays as it is trained (flat, or its current lists)
        even when it has grown past ``flat_limit``: call ``rebuild()`` after the last batch."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate ids in one add()")
        self.remove([i for i in ids if i in self._slots])
        codes, scales = _quantize(vectors)
        slots = []
        for item in ids:
            if self._free:
                slot = self._free.pop()
                self._free_reused = self.centres is not None
            else:
                slot = self._size
                self._size += 1
                self._grow(self._size)
                self._slot_ids.append(None)
            self._slots[item] = slot
            self._slot_ids[slot] = item
            slots.append(slot)
        slots_arr = np.asarray(slots, dtype=np.int64)
        self._codes[slots_arr] = codes
        self._scales[slots_arr] = scales
        self._alive[slots_arr] = True
        if self.centres is not None:
            self._assign(slots_arr, vectors)
        if defer_training:
            return
        size = len(self._slots)
        if self.centres is None and size > self.flat_limit:
            self.rebuild()
        elif self.centres is not None and size >= self.retrain_growth * self._trained_on:
            self.rebuild()

    def remove(self, ids: Sequence[Hashable]) -> None:
        """Forget ids (unknown ids are ignored)."""
        for item in ids:
            slot = self._slots.pop(item, None)
            if slot is None:
                continue
            self._alive[slot] = False
            self._slot_ids[slot] = None
            self._slot_list[slot] = -1
            self._free.append(slot)  # its list entry stays until rebuild, skipped while dead

    def _assign(self, slots: np.ndarray, vectors: np.ndarray, chunk: int = 8192) -> None:
        assert self.centres is not None
        for s in range(0, len(slots), chunk):
            lists = (vectors[s : s + chunk] @ self.centres.T).argmax(axis=1)
            for slot, lst in zip(slots[s : s + chunk].tolist(), lists.tolist(), strict=True):
                self._lists[lst].append(slot)
                self._slot_list[slot] = lst

    def _decode(self, slots: np.ndarray) -> np.ndarray:
        return self._codes[slots].astype(np.float32) * self._scales[slots, None]

    def rebuild(self, seed: int = 0, sample: int = 50_000, iters: int = 10) -> None:
        """Train the coarse quantizer on the current vectors and re-file every row."""
        live = np.flatnonzero(self._alive[: self._size])
        n = len(live)
        if n <= self.flat_limit and self._nlist is None:
            self.centres, self._lists = None, []
            self._slot_list[:] = -1
            self._trained_on = 0
            return
        if n == 0:
            self.centres, self._lists, self._trained_on = None, [], 0
            return
        nlist = min(n, self._nlist or int(min(1024, max(16, round(math.sqrt(n))))))
        rng = np.random.default_rng(seed)
        train = self._decode(rng.choice(live, size=min(sample, n), replace=False))
        centres = train[rng.choice(len(train), size=nlist, replace=False)].copy()
        for _ in range(iters):
            assign = (train @ centres.T).argmax(axis=1)
            sums = np.zeros_like(centres)
            np.add.at(sums, assign, train)
            counts = np.bincount(assign, minlength=nlist)
            empty = counts == 0
            sums[empty] = train[rng.choice(len(train), size=int(empty.sum()))]
            centres = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        self.centres = centres.astype(np.float32)
        self._lists = [array("q") for _ in range(nlist)]
        self._free_reused = False
        self._trained_on = n
        for s in range(0, n, 65536):
            chunk = live[s : s + 65536]
            self._assign(chunk, self._decode(chunk))

    # -- reads ---------------------------------------------------------------------
    @property
    def nprobe(self) -> int:
        if self._nprobe:
            return self._nprobe
        nlist = len(self._lists)
        return max(8, nlist // 32)

    def query(self, vectors: np.ndarray, k: int = 10) -> list[list[tuple[Hashable, float]]]:
        """Top-k ``(id, cosine)`` per query row, best first."""
        Q = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if self.centres is None:
            candidates = [np.flatnonzero(self._alive[: self._size])] * len(Q)
        else:
            probe = np.argsort(-(Q @ self.centres.T), axis=1)[:, : self.nprobe]
            candidates = []
            for row in probe:
                parts = []
                for c in row.tolist():
                    if len(self._lists[c]):
                        part = np.frombuffer(self._lists[c], dtype=np.int64)
                        # a slot freed and reused may have moved list: keep only its current one
                        parts.append(part[self._alive[part] & (self._slot_list[part] == c)])
                slots = np.concatenate(parts) if parts else np.zeros(0, np.int64)
                candidates.append(np.unique(slots) if self._free_reused else slots)
        results = []
        for q, slots in zip(Q, candidates, strict=True):
            if len(slots) == 0:
                results.append([])
                continue
            # einsum runs the int8 × float32 products vectorised; `@` on int8 rows does not.
            scores = np.einsum("ij,j->i", self._codes[slots], q) * self._scales[slots]
            kk = min(k, len(slots))
            top = np.argpartition(-scores, kk - 1)[:kk]
            top = top[np.argsort(-scores[top])]
            results.append([(self._slot_ids[int(slots[t])], float(scores[t])) for t in top])
        return results
