"""The nearest-neighbour indexes this process keeps over the stored vectors: one
:class:`~quarterdeck.linking.engine.index.VectorIndex` per workspace, provider and kind (insights,
needs, features).

An index is built from the database on first use and caught up before every use, so any number of
web and worker processes can each keep their own, with nothing shared between them but the
database:

* every transaction that stores vectors takes the workspace's next revision from its
  `VectorRevision` counter and stamps it on the rows it writes (services `_take_revision`); the
  counter row stays locked until that transaction ends, so revisions become visible in order;
* before answering, the index reads the counter (one indexed row) and, if it moved, loads the rows
  above the revision it has: new vectors are added, a rewritten one (an insight whose text changed)
  replaces the earlier vector of the same object;
* a counter with another epoch, or one that went back (a rolled-back write this process had seen),
  means the index is built again from scratch;
* rows deleted with their object (an insight deleted) are dropped when a query meets them: the
  caller that finds the object gone calls `forget`.

The least recently used indexes are let go when their memory passes `MEMORY_BUDGET`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from quarterdeck.linking.engine.index import VectorIndex
from quarterdeck.linking.models import InsightVector, ItemVector, VectorRevision

INSIGHT = "insight"  # the other kinds are ItemKind's values: "need", "feature"
# Rows read from the database per batch while building or catching up.
BATCH = 50_000
# Index memory this process keeps before it lets the least recently used indexes go.
MEMORY_BUDGET = 2 * 2**30

Key = tuple[int, str, str]


@dataclass
class _Entry:
    epoch: str | None = None
    revision: int = -1
    index: VectorIndex | None = None
    builds: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


_entries: OrderedDict[Key, _Entry] = OrderedDict()
_registry = threading.Lock()


def _rows(workspace_id: int, provider: str, kind: str):
    if kind == INSIGHT:
        rows = InsightVector.objects.filter(workspace_id=workspace_id, provider=provider)
        return rows.values_list("insight_id", "vector")
    rows = ItemVector.objects.filter(workspace_id=workspace_id, provider=provider, kind=kind)
    return rows.values_list("object_id", "vector")


def _load(entry: _Entry, rows, *, building: bool) -> None:
    """Add `rows` (object id, float16 bytes) to the entry's index."""
    batch: list[tuple[int, bytes]] = []

    def flush() -> None:
        if not batch:
            return
        if entry.index is None:
            entry.index = VectorIndex(len(batch[0][1]) // 2)
        dim = entry.index.dim
        rows = [(pk, blob) for pk, blob in batch if len(blob) == 2 * dim]
        if rows:
            matrix = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float16)
            entry.index.add(
                [pk for pk, _ in rows],
                matrix.reshape(len(rows), dim).astype(np.float32),
                defer_training=building,
            )
        batch.clear()

    for pk, blob in rows.iterator(chunk_size=BATCH):
        batch.append((pk, bytes(blob)))
        if len(batch) >= BATCH:
            flush()
    flush()
    if building and entry.index is not None:
        entry.index.rebuild()


def _catch_up(entry: _Entry, key: Key) -> None:
    workspace_id, provider, kind = key
    epoch, revision = VectorRevision.objects.filter(workspace_id=workspace_id).values_list(
        "epoch", "revision"
    ).first() or ("", 0)
    building = entry.epoch != epoch or revision < entry.revision or entry.revision < 0
    if building:
        entry.epoch, entry.revision, entry.index = epoch, -1, None
        entry.builds += 1
    elif revision == entry.revision:
        return
    rows = _rows(workspace_id, provider, kind).filter(revision__gt=entry.revision).order_by()
    _load(entry, rows, building=building)
    # Rows above the counter as read (committed since) are read again next time: harmless.
    entry.revision = revision


def _evict(keep: Key) -> None:
    with _registry:
        total = sum(e.index.nbytes for e in _entries.values() if e.index is not None)
        for key in list(_entries):
            if total <= MEMORY_BUDGET:
                break
            if key == keep:
                continue
            gone = _entries.pop(key)
            if gone.index is not None:
                total -= gone.index.nbytes


@contextmanager
def vector_index(*, workspace_id: int, provider: str, kind: str) -> Iterator[VectorIndex | None]:
    """The caught-up index of the workspace's `kind` vectors by `provider`, held for the block
    (None while there are none)."""
    key = (workspace_id, provider, kind)
    with _registry:
        entry = _entries.get(key)
        if entry is None:
            entry = _entries[key] = _Entry()
        _entries.move_to_end(key)
    with entry.lock:
        _catch_up(entry, key)
        yield entry.index
    _evict(key)


def nearest(
    *, workspace_id: int, provider: str, kind: str, vector: np.ndarray, k: int
) -> list[tuple[Hashable, float]]:
    """The `k` stored vectors nearest to `vector`: (object id, cosine), best first."""
    with vector_index(workspace_id=workspace_id, provider=provider, kind=kind) as index:
        if index is None or len(index) == 0:
            return []
        return index.query(vector, k=k)[0]


def forget(*, workspace_id: int, provider: str, kind: str, ids: Sequence[Hashable]) -> None:
    """Drop objects found gone from this process's index (their rows went with them)."""
    with _registry:
        entry = _entries.get((workspace_id, provider, kind))
    if entry is not None and ids:
        with entry.lock:
            if entry.index is not None:
                entry.index.remove(list(ids))


def builds(*, workspace_id: int, provider: str, kind: str) -> int:
    """How many times this process has built the index from scratch (0: never used)."""
    entry = _entries.get((workspace_id, provider, kind))
    return entry.builds if entry is not None else 0


def clear() -> None:
    """Let every index go (the next use builds it again)."""
    with _registry:
        _entries.clear()
