"""Stored need demand: each need's counted demand kept between workspace re-scores.

Summing the demand of every need again (each insight link joined to its insight, stakeholder
and segment, the strongest insight per stakeholder kept) is most of the reading a workspace
re-score does. `NeedDemand` keeps each need's sums as of the re-score that made them; the next
re-score reads them back, decays them on to its own time, and sums again only the needs without
a row (`ranking.load_columns`).

A row is forgotten (`forget`) whenever anything its sums depend on changes: the services call
`ranking.features_changed` for the features whose demand moved, which forgets the demand of
their needs first. Each forgetting moves the workspace's `DemandRevision` on; a re-score keeps
the sums it made only if the revision it read before reading the links is still the current one
when it writes them (under a row lock on PostgreSQL), so sums made from links read before a
change never outlive it.

Decaying on is exact arithmetic: every counted insight's weight is multiplied by the same
2^(−elapsed / half-life), so both sums are, and which insight of a stakeholder is the strongest
stays the same. This holds while no counted insight is dated after the sums' time; needs with
such an insight are summed afresh each time instead of stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from quarterdeck.strategy.models import DemandRevision, NeedDemand


@dataclass
class Fresh:
    """Need demand summed by a re-score, to keep: parallel arrays, with the workspace revision
    read before the links were and the decay they were made with."""

    revision: int
    need: np.ndarray
    amount: np.ndarray
    weight: np.ndarray
    stakeholders: np.ndarray
    groups: np.ndarray
    rate: float
    as_of: float  # POSIX time

    def __len__(self) -> int:
        return len(self.need)


def revision(workspace_id: int) -> int:
    """The workspace's current demand revision (its row is made here if missing, so that
    `keep` always has a row to lock)."""
    found = DemandRevision.objects.filter(workspace_id=workspace_id).values_list("value", flat=True)
    value = found.first()
    if value is not None:
        return value
    try:
        with transaction.atomic():
            DemandRevision.objects.create(workspace_id=workspace_id)
    except IntegrityError:  # made meanwhile by another process
        pass
    return found.first() or 0


def forget(workspace_id: int, need_ids: Iterable[int] | None = None) -> None:
    """Forget the stored demand of `need_ids` (every need of the workspace when None)."""
    need_ids = None if need_ids is None else sorted(set(need_ids))
    if need_ids is not None and not need_ids:
        return
    revision(workspace_id)
    with transaction.atomic():
        DemandRevision.objects.filter(workspace_id=workspace_id).update(value=F("value") + 1)
        rows = NeedDemand.objects.filter(workspace_id=workspace_id)
        if need_ids is None:
            rows.delete()
            return
        for start in range(0, len(need_ids), 5000):
            rows.filter(need_id__in=need_ids[start : start + 5000]).delete()


def forget_for_features(feature_ids: Iterable[int]) -> None:
    """Forget the stored demand of every need these features answer."""
    from quarterdeck.backlog.models import Feature

    ids = sorted(set(feature_ids) - {None})
    by_workspace: dict[int, set[int]] = {}
    for start in range(0, len(ids), 5000):
        for workspace_id, need_id in (
            Feature.needs.through.objects.filter(feature_id__in=ids[start : start + 5000])
            .order_by()
            .values_list("need__workspace_id", "need_id")
        ):
            by_workspace.setdefault(workspace_id, set()).add(need_id)
    for workspace_id, need_ids in by_workspace.items():
        forget(workspace_id, need_ids)


def keep(workspace_id: int, fresh: Fresh) -> bool:
    """Store the sums of `fresh` (inside the re-score's writing transaction), unless demand was
    forgotten since they were read; returns whether they were stored."""
    if not len(fresh):
        return True
    current = (
        DemandRevision.objects.select_for_update()
        .filter(workspace_id=workspace_id)
        .values_list("value", flat=True)
        .first()
    )
    if current != fresh.revision:
        return False
    if connection.vendor == "postgresql":
        _copy(workspace_id, fresh)
        return True
    from quarterdeck.strategy.ranking import upsert_sql

    with connection.cursor() as cursor:  # one statement run for all rows
        cursor.executemany(
            upsert_sql(NeedDemand, _COLUMNS, "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"),
            [
                (need, workspace_id, amount, weight, stakeholders, counted, fresh.rate, fresh.as_of)
                for need, amount, weight, stakeholders, counted in zip(
                    fresh.need.tolist(),
                    fresh.amount.tolist(),
                    fresh.weight.tolist(),
                    fresh.stakeholders.tolist(),
                    fresh.groups.tolist(),
                    strict=True,
                )
            ],
        )
    return True


_COLUMNS = [
    "need_id",
    "workspace_id",
    "amount",
    "weight",
    "stakeholders",
    "groups",
    "rate",
    "as_of",
]


def _copy(workspace_id: int, fresh: Fresh) -> None:
    """`keep` on PostgreSQL: one binary COPY to a temporary table, one INSERT … ON CONFLICT."""
    from quarterdeck.strategy.ranking import copy_rows, upsert_sql

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE summed (need bigint, amount float8, weight float8, "
            "people bigint, counted bigint) ON COMMIT DROP"
        )
        copy_rows(
            cursor,
            "summed",
            [fresh.need, fresh.amount, fresh.weight, fresh.stakeholders, fresh.groups],
        )
        cursor.execute(
            upsert_sql(
                NeedDemand,
                _COLUMNS,
                "SELECT need, %s, amount, weight, people, counted, %s, %s FROM summed",
            ),
            [workspace_id, fresh.rate, fresh.as_of],
        )
        cursor.execute("DROP TABLE summed")
