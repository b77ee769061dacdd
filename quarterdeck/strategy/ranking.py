"""Ranking: feature scores computed from the database in bulk, written back, and explained.

`load_inputs` reads everything a workspace's scores depend on in five queries (features, insight
links of their needs, driver contributions, key results with check-ins, evaluations) and builds
one `scoring.FeatureInputs` per feature. `recompute_workspace` reads the same inputs as columns
instead (`load_columns`: numpy arrays matched by feature id; each need's demand as stored by the
last re-score and decayed on, or summed in the database for the needs whose evidence changed
since — `strategy.demand`), scores every feature at once (`Scorer.column_values`: what scoring
each `FeatureInputs` gives), writes `Feature.score`, `Feature.demand` and the packed terms where
they changed (on PostgreSQL one COPY, one UPDATE and one INSERT … ON CONFLICT), and records a
`RankChange` (old and new rank and score, which terms moved, why) for the features that moved
most.
`recompute_features` does the same for a few features, synchronously.

The hooks called by services after commit are `features_changed` and `workspace_changed`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quarterdeck.strategy import demand, scoring
from quarterdeck.strategy.models import FeatureScore, KeyResult, NeedDemand, RankChange

log = logging.getLogger(__name__)

SYNC_LIMIT = 2000  # workspaces with more features are re-scored by a background task
MAX_RECORDED = 500  # rank changes recorded per workspace-wide re-score (the biggest moves)
TOLERANCE = 1e-4  # relative: evidence decays continuously; smaller drifts are not changes
PARALLEL_FROM = 20_000  # features from which demand is read on a second connection meanwhile

TERM_LABELS = {
    "user_value": gettext_lazy("demand"),
    "reach": gettext_lazy("reach"),
    "impact": gettext_lazy("impact"),
    "driver_value": gettext_lazy("driver value"),
    "kr_alignment": gettext_lazy("key-result alignment"),
    "company_value": gettext_lazy("company value"),
    "value": gettext_lazy("value"),
    "effort": gettext_lazy("effort"),
    "risk_factor": gettext_lazy("risk"),
    "job_size": gettext_lazy("job size"),
    "ease": gettext_lazy("ease"),
    "confidence": gettext_lazy("confidence"),
    "time_criticality": gettext_lazy("time criticality"),
    "risk_reduction": gettext_lazy("risk reduction"),
}
# The terms whose change explains a move, most telling first (sums come after their parts).
EXPLAINING = (
    "user_value",
    "driver_value",
    "kr_alignment",
    "effort",
    "risk_factor",
    "confidence",
    "reach",
    "impact",
    "ease",
    "time_criticality",
)


# --- configuration ----------------------------------------------------------------------------


def scoring_config(workspace) -> scoring.ScoringConfig:
    """The workspace's stored settings; defaults where they are absent or no longer valid."""
    try:
        config = scoring.ScoringConfig.from_dict(workspace.scoring or {})
        scoring.validate_config(config)
    except (scoring.ConfigError, scoring.FormulaError, TypeError, ValueError):
        log.warning("workspace %s has invalid scoring settings; using defaults", workspace.pk)
        return scoring.ScoringConfig()
    return config


def scorer_for(workspace, config: scoring.ScoringConfig | None = None) -> scoring.Scorer:
    return scoring.Scorer.from_config(config or scoring_config(workspace))


# --- inputs -----------------------------------------------------------------------------------


@dataclass
class Loaded:
    """A workspace's features as parallel lists: ids, statuses, stored scores, score inputs."""

    ids: list[int]
    statuses: list[str]
    old_scores: list[float | None]
    old_demands: list[float]
    inputs: list[scoring.FeatureInputs]

    def __len__(self) -> int:
        return len(self.ids)


def _key_results_at_risk(
    workspace_id: int, kr_ids: Iterable[int] | None = None
) -> dict[int, tuple]:
    from django.db.models import Prefetch

    from quarterdeck.strategy.models import CheckIn
    from quarterdeck.strategy.selectors import is_at_risk

    qs = KeyResult.objects.filter(objective__workspace_id=workspace_id).select_related("objective")
    if kr_ids is not None:
        qs = qs.filter(pk__in=list(kr_ids))
    qs = qs.prefetch_related(Prefetch("check_ins", CheckIn.objects.order_by("checked_on", "id")))
    return {
        kr.pk: scoring.KeyResultAlignment(kr.metric, is_at_risk(kr, list(kr.check_ins.all())))
        for kr in qs
    }


def _raw_rows(queryset) -> list[tuple]:
    """The rows of a values_list queryset straight from the driver, skipping Django's per-value
    converters (the hot path: a few rows per feature)."""
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _timestamp(value) -> float:
    """POSIX time of a stored datetime (SQLite hands back UTC text, PostgreSQL a datetime)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def _decay_rate(params: scoring.ScoringParams | None) -> float:
    """ln 2 / half-life in days, as scoring computes it; 0 without decay."""
    half_life = (params or scoring.ScoringParams()).half_life_days
    return math.log(2) / half_life if half_life else 0.0


def _weighted_links_sql(
    workspace_id: int, need_ids: list[int] | str | None, now: dt.datetime, rate: float
) -> tuple[str, list]:
    """SQL for every counted insight link of the workspace (of `need_ids` when given: ids, or a
    subquery selecting them) with its weight (segment × stakeholder × recency decay). Columns:
    link_id, need_id, stakeholder_id, importance, grp (the near-duplicate group of an insight
    without a stakeholder), weight."""
    from quarterdeck.insights.models import (
        Insight,
        InsightLink,
        InsightState,
        Segment,
        Stakeholder,
    )

    quote = connection.ops.quote_name
    params: list = []
    weight = "COALESCE(g.weight, sg.weight, 1.0) * COALESCE(s.weight, 1.0)"
    if rate:
        if connection.vendor == "postgresql":
            # date_part gives the double EXTRACT(...)::float8 gives, without a numeric between.
            age = "GREATEST((%s - date_part('epoch', i.captured_at)) / 86400.0, 0.0)"
            params.append(now.timestamp())
        else:  # SQLite keeps UTC text; julianday() reads it
            age = "MAX(%s - julianday(i.captured_at), 0.0)"
            params.append(now.timestamp() / 86400.0 + 2440587.5)
        weight = f"({weight}) * EXP(-%s * {age})"
        params[-1:-1] = [rate]
    params += [workspace_id, InsightState.ARCHIVED]
    need_filter = ""
    if isinstance(need_ids, str):
        need_filter = f" AND l.need_id IN ({need_ids})"
    elif need_ids is not None:
        need_filter = f" AND l.need_id IN ({', '.join(['%s'] * len(need_ids))})"
        params += need_ids
    sql = f"""
                SELECT l.id AS link_id, l.need_id, i.stakeholder_id, l.importance,
                    CASE WHEN i.stakeholder_id IS NULL
                        THEN COALESCE(i.duplicate_of_id, i.id) END AS grp,
                    {weight} AS weight
                FROM {quote(InsightLink._meta.db_table)} l
                JOIN {quote(Insight._meta.db_table)} i ON i.id = l.insight_id
                LEFT JOIN {quote(Stakeholder._meta.db_table)} s ON s.id = i.stakeholder_id
                LEFT JOIN {quote(Segment._meta.db_table)} g ON g.id = i.segment_id
                LEFT JOIN {quote(Segment._meta.db_table)} sg ON sg.id = s.segment_id
                WHERE l.workspace_id = %s AND i.state <> %s{need_filter}
    """  # noqa: S608 - table names from models, values as parameters
    return sql, params


def _demand_query(
    workspace_id: int, need_ids: list[int] | str | None, now: dt.datetime, rate: float
) -> tuple[str, list]:
    """SQL for the counted demand of every need: one row per (need, stakeholder), or per
    (need, group of near-duplicate insights) for insights without a stakeholder, holding the
    strongest insight's importance and its weight (segment × stakeholder × recency decay).

    A group is an insight and the insights marked its duplicates (`duplicate_of`), so a
    stakeholder counts once per need however many near-duplicates they sent, and an anonymous
    group counts once. Rows: (need_id, stakeholder_id or NULL, importance, weight).
    """
    weighted, params = _weighted_links_sql(workspace_id, need_ids, now, rate)
    sql = f"""
        SELECT need_id, stakeholder_id, importance, weight FROM (
            SELECT need_id, stakeholder_id, importance, weight, ROW_NUMBER() OVER (
                PARTITION BY need_id, stakeholder_id, grp
                ORDER BY importance * weight DESC, link_id
            ) AS nth FROM ({weighted}) AS weighted
        ) AS ranked WHERE nth = 1
    """  # noqa: S608 - built from the SQL above
    return sql, params


def _strongest_sql(
    workspace_id: int, need_ids: list[int] | str | None, now: dt.datetime, rate: float
) -> tuple[str, list]:
    """The rows of `_demand_query` as (need_id, stakeholder_id, amount, weight), amount being
    importance × weight. PostgreSQL keeps each group's first row in the window's order
    (DISTINCT ON): the strongest link, the first one on a tie, with one sort and no window."""
    weighted, params = _weighted_links_sql(workspace_id, need_ids, now, rate)
    if connection.vendor != "postgresql":
        sql, params = _demand_query(workspace_id, need_ids, now, rate)
        return (
            f"SELECT need_id, stakeholder_id, importance * weight AS amount, weight "  # noqa: S608
            f"FROM ({sql}) AS counted",
            params,
        )
    sql = f"""
        SELECT DISTINCT ON (need_id, stakeholder_id, grp)
            need_id, stakeholder_id, importance * weight AS amount, weight
        FROM ({weighted}) AS weighted
        ORDER BY need_id, stakeholder_id, grp, importance * weight DESC, link_id
    """  # noqa: S608 - built from the SQL above
    return sql, params


def _need_totals_sql(
    workspace_id: int, need_ids: list[int] | str | None, now: dt.datetime, rate: float
) -> tuple[str, list]:
    """SQL for each need's (need_id, Σ importance × weight, Σ weight, stakeholders, groups) of
    its counted demand (`_strongest_sql`), groups counting stakeholders and anonymous groups,
    as columns c0 to c4."""
    strongest, params = _strongest_sql(workspace_id, need_ids, now, rate)
    sql = f"""
        SELECT need_id AS c0, SUM(amount) AS c1, SUM(weight) AS c2,
            COUNT(stakeholder_id) AS c3, COUNT(*) AS c4
        FROM ({strongest}) AS counted GROUP BY need_id
    """  # noqa: S608 - built from the SQL above
    return sql, params


def _need_totals(
    workspace_id: int, need_ids: list[int] | None, now: dt.datetime, rate: float
) -> dict[int, tuple[float, float, int, int]]:
    """need id → (Σ importance × weight, Σ weight, stakeholders, anonymous groups) of its counted
    demand (`_strongest_sql`), summed in the database."""
    sql, params = _need_totals_sql(workspace_id, need_ids, now, rate)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        need_id: (float(amount), float(weight), stakeholders, groups - stakeholders)
        for need_id, amount, weight, stakeholders, groups in rows
    }


def _stakeholders_of_needs(workspace_id: int, need_ids: list[int]) -> dict[int, set[int]]:
    """need id → the stakeholders of its counted (not archived) insights."""
    from quarterdeck.insights.models import InsightLink, InsightState

    found: dict[int, set[int]] = {}
    for start in range(0, len(need_ids), 10_000):
        links = (
            InsightLink.objects.filter(
                workspace_id=workspace_id, need_id__in=need_ids[start : start + 10_000]
            )
            .exclude(insight__state=InsightState.ARCHIVED)
            .exclude(insight__stakeholder_id=None)
            .order_by()
            .values_list("need_id", "insight__stakeholder_id")
            .distinct()
        )
        for need_id, stakeholder_id in _raw_rows(links):
            found.setdefault(need_id, set()).add(stakeholder_id)
    return found


def _feature_demand(
    workspace_id: int,
    needs_of: Mapping[int, list[int]],
    need_ids: list[int] | None,
    now: dt.datetime,
    rate: float,
) -> dict[int, tuple[float, float, float]]:
    """feature id → (user_value, Σ weights, reach) of its counted demand: what scoring derives
    from `_counted_demand`'s items, from per-need sums made in the database (`_need_totals`).

    A stakeholder counts once in reach however many of the feature's needs they asked for: for
    features with several needs, the needs' stakeholders are read too (one more query, only
    when there are such features). Anonymous groups each count."""
    if need_ids is not None and not need_ids:
        return {}
    return _combine_demand(workspace_id, needs_of, _need_totals(workspace_id, need_ids, now, rate))


def _combine_demand(
    workspace_id: int,
    needs_of: Mapping[int, list[int]],
    totals: Mapping[int, tuple[float, float, int, int]],
) -> dict[int, tuple[float, float, float]]:
    """feature id → (user_value, Σ weights, reach) from the totals of its needs (`_need_totals`):
    the needs' sums added exactly (math.fsum), and the stakeholders of several needs counted
    once (read for the features with several needs only)."""
    shared = sorted(
        {
            n
            for ns in needs_of.values()
            if len(ns) > 1
            for n in ns
            if n in totals and totals[n][2]  # has stakeholders
        }
    )
    stakeholders_of = _stakeholders_of_needs(workspace_id, shared) if shared else {}
    demand: dict[int, tuple[float, float, float]] = {}
    for feature_id, need_list in needs_of.items():
        if len(need_list) == 1:
            need = totals.get(need_list[0])
            if need is not None:
                demand[feature_id] = (need[0], need[1], float(need[2] + need[3]))
            continue
        parts = [totals[n] for n in need_list if n in totals]
        if not parts:
            continue
        people: set[int] = set()
        for n in need_list:
            people |= stakeholders_of.get(n, set())
        demand[feature_id] = (
            math.fsum([part[0] for part in parts]),
            math.fsum([part[1] for part in parts]),
            float(len(people) + sum(part[3] for part in parts)),
        )
    return demand


def _counted_demand(
    workspace_id: int, need_ids: list[int] | None, now: dt.datetime, rate: float
) -> dict[int, list[scoring.DemandItem]]:
    """need id → its counted demand, aggregated in the database (see `_demand_query`).

    Each item carries its decayed weight with age 0, so scoring counts it as stored."""
    if need_ids is not None and not need_ids:
        return {}
    sql, params = _demand_query(workspace_id, need_ids, now, rate)
    demand_item = scoring.DemandItem
    demand_of_need: dict[int, list[scoring.DemandItem]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for need_id, stakeholder_id, importance, weight in rows:
        item = demand_item(
            importance,
            float(weight),
            1.0,
            0.0,
            None if stakeholder_id is None else str(stakeholder_id),
            str(need_id),
        )
        items = demand_of_need.get(need_id)
        if items is None:
            demand_of_need[need_id] = [item]
        else:
            items.append(item)
    return demand_of_need


def _insight_demand(
    workspace_id: int, need_ids: list[int], now: dt.datetime, rate: float
) -> dict[int, list[scoring.DemandItem]]:
    """need id → one item per linked insight, with its own age and weights: the detailed form
    of `_counted_demand` that explanations show. Scoring keeps a stakeholder's strongest insight
    per need; an anonymous group of near-duplicates is kept here as its strongest insight."""
    from quarterdeck.insights.models import InsightLink, InsightState

    links = InsightLink.objects.filter(workspace_id=workspace_id, need_id__in=need_ids).exclude(
        insight__state=InsightState.ARCHIVED
    )
    now_ts = now.timestamp()
    demand_of_need: dict[int, list[scoring.DemandItem]] = {}
    anonymous: dict[tuple[int, int], tuple[float, int, scoring.DemandItem]] = {}
    for (
        link_id,
        need_id,
        importance,
        captured_at,
        insight_id,
        duplicate_of_id,
        stakeholder_id,
        stakeholder_weight,
        segment_weight,
        stakeholder_segment_weight,
    ) in _raw_rows(
        links.order_by("id").values_list(
            "id",
            "need_id",
            "importance",
            "insight__captured_at",
            "insight_id",
            "insight__duplicate_of_id",
            "insight__stakeholder_id",
            "insight__stakeholder__weight",
            "insight__segment__weight",
            "insight__stakeholder__segment__weight",
        )
    ):
        segment = segment_weight if segment_weight is not None else stakeholder_segment_weight
        age = (now_ts - _timestamp(captured_at)) / 86400.0
        item = scoring.DemandItem(
            importance,
            1.0 if segment is None else segment,
            1.0 if stakeholder_weight is None else stakeholder_weight,
            age if age > 0 else 0.0,
            None if stakeholder_id is None else str(stakeholder_id),
            str(need_id),
        )
        if stakeholder_id is None:
            # The same measure scoring uses; the first link wins a tie, as in the database.
            weight = item.segment_weight * item.stakeholder_weight
            if rate and item.age_days > 0:
                weight *= math.exp(-rate * item.age_days)
            key = (need_id, duplicate_of_id or insight_id)
            kept = anonymous.get(key)
            if kept is None or importance * weight > kept[0]:
                anonymous[key] = (importance * weight, link_id, item)
            continue
        demand_of_need.setdefault(need_id, []).append(item)
    for _amount, _link, item in sorted(anonymous.values(), key=lambda kept: kept[1]):
        demand_of_need.setdefault(int(item.need_key), []).append(item)
    return demand_of_need


def load_inputs(
    workspace_id: int,
    *,
    feature_ids: Iterable[int] | None = None,
    driver_weights: Mapping[int, float] | None = None,
    now: dt.datetime | None = None,
    open_only: bool = False,
    params: scoring.ScoringParams | None = None,
    detailed: bool = False,
    aggregated: bool = False,
) -> Loaded:
    """Every feature's score inputs in a few queries, whatever the number of features.

    Demand is aggregated in the database (`_counted_demand`): one row per need and stakeholder
    (or anonymous group of near-duplicates), already weighted and decayed with `params`'
    half-life. With `detailed`, demand is one item per linked insight instead (slower; for
    explaining a few features): both score the same. With `aggregated` (the ranking path), demand
    is summed per feature in the database too (`_feature_demand`): each FeatureInputs carries
    user_value, demand_weight and reach instead of demand items, and scores the same.
    `driver_weights` overrides stored weights.
    """
    from quarterdeck.backlog.models import OPEN_STATUSES, Evaluation, Feature, FeatureDriver

    now = now or timezone.now()
    rate = _decay_rate(params)
    features = Feature.objects.filter(workspace_id=workspace_id)
    if feature_ids is not None:
        features = features.filter(pk__in=list(feature_ids))
    if open_only:
        features = features.filter(status__in=OPEN_STATUSES)
    rows = _raw_rows(features.order_by("id").values_list("id", "status", "score", "demand"))
    ids = [row[0] for row in rows]
    by_id = feature_ids is not None

    def scoped(qs):
        if by_id:
            return qs.filter(feature_id__in=ids)
        if open_only:
            return qs.filter(feature__status__in=OPEN_STATUSES)
        return qs

    # Demand: the counted insights of the needs each feature answers.
    feature_needs = (
        scoped(Feature.needs.through.objects.filter(feature__workspace_id=workspace_id))
        .order_by()
        .values_list("feature_id", "need_id")
    )
    needs_of: dict[int, list[int]] = {}
    totals_of: dict[int, tuple[float, float, float]] = {}
    demand_of_need: dict[int, list[scoring.DemandItem]] = {}
    aggregated = aggregated and not detailed
    for feature_id, need_id in _raw_rows(feature_needs):
        needs_of.setdefault(feature_id, []).append(need_id)
    need_ids = sorted({n for ns in needs_of.values() for n in ns}) if by_id else None
    if aggregated:
        totals_of = _feature_demand(workspace_id, needs_of, need_ids, now, rate)
    elif detailed:
        if need_ids is None:
            need_ids = sorted({n for ns in needs_of.values() for n in ns})
        demand_of_need = _insight_demand(workspace_id, need_ids, now, rate)
    else:
        demand_of_need = _counted_demand(workspace_id, need_ids, now, rate)

    # Company value: drivers × weights (one contribution object per driver and level), and key
    # results aimed at.
    # One query: each contribution row carries its driver's name and weight.
    contributions: dict[tuple[int, int], scoring.DriverContribution] = {}
    drivers_of: dict[int, list[scoring.DriverContribution]] = {}
    for feature_id, driver_id, contribution, name, weight in _raw_rows(
        scoped(FeatureDriver.objects.filter(feature__workspace_id=workspace_id))
        .order_by()
        .values_list("feature_id", "driver_id", "contribution", "driver__name", "driver__weight")
    ):
        item = contributions.get((driver_id, contribution))
        if item is None:
            if driver_weights:
                weight = float(driver_weights.get(driver_id, weight))
            item = contributions[driver_id, contribution] = scoring.DriverContribution(
                name, weight, contribution
            )
        drivers_of.setdefault(feature_id, []).append(item)
    kr_rows = _raw_rows(
        scoped(Feature.key_results.through.objects.filter(feature__workspace_id=workspace_id))
        .order_by()
        .values_list("feature_id", "keyresult_id")
    )
    alignment = _key_results_at_risk(workspace_id, {kr for _, kr in kr_rows} if by_id else None)
    krs_of: dict[int, list[scoring.KeyResultAlignment]] = {}
    for feature_id, kr_id in kr_rows:
        krs_of.setdefault(feature_id, []).append(alignment[kr_id])

    # Effort, risk and confidence: the latest evaluation (later rows overwrite earlier ones).
    evaluations: dict[tuple, scoring.EvaluationInfo] = {}
    evaluation_of: dict[int, scoring.EvaluationInfo] = {}
    for feature_id, *fields in _raw_rows(
        scoped(Evaluation.objects.filter(feature__workspace_id=workspace_id))
        .order_by("feature_id", "created_at", "id")
        .values_list("feature_id", "effort", "risk", "confidence")
    ):
        key = tuple(fields)
        info = evaluations.get(key)
        if info is None:
            info = evaluations[key] = scoring.EvaluationInfo(*fields)
        evaluation_of[feature_id] = info

    empty: tuple = ()
    inputs = []
    feature_inputs = scoring.FeatureInputs
    for feature_id in ids:
        if aggregated:
            totals = totals_of.get(feature_id)
            if totals is None:
                inputs.append(
                    feature_inputs(
                        empty,
                        drivers_of.get(feature_id, empty),
                        krs_of.get(feature_id, empty),
                        evaluation_of.get(feature_id),
                    )
                )
            else:
                inputs.append(
                    feature_inputs(
                        empty,
                        drivers_of.get(feature_id, empty),
                        krs_of.get(feature_id, empty),
                        evaluation_of.get(feature_id),
                        reach=totals[2],
                        user_value=totals[0],
                        demand_weight=totals[1],
                    )
                )
            continue
        need_list = needs_of.get(feature_id)
        if not need_list:
            demand = empty
        elif len(need_list) == 1:
            demand = demand_of_need.get(need_list[0], empty)
        else:
            demand = [item for n in need_list for item in demand_of_need.get(n, empty)]
        inputs.append(
            feature_inputs(
                demand,
                drivers_of.get(feature_id, empty),
                krs_of.get(feature_id, empty),
                evaluation_of.get(feature_id),
            )
        )
    return Loaded(
        ids=ids,
        statuses=[row[1] for row in rows],
        old_scores=[row[2] for row in rows],
        old_demands=[row[3] for row in rows],
        inputs=inputs,
    )


def term_values(scorer: scoring.Scorer, inputs: scoring.FeatureInputs) -> tuple[dict, float | None]:
    """Every named term of one feature and the total, in one pass over its inputs."""
    values = scorer.values(inputs)
    return values, scorer.formula.evaluate(values)


# --- a whole workspace, column by column -------------------------------------------------------


@dataclass
class Columns:
    """A workspace's features as parallel arrays ordered by id: ids, whether each is open, its
    stored score (NaN: none) and demand, and its score inputs; and the need demand summed while
    reading them, to keep (`demand.keep`)."""

    ids: np.ndarray
    open: np.ndarray
    old_scores: np.ndarray
    old_demands: np.ndarray
    inputs: scoring.FeatureColumns
    fresh_demand: demand.Fresh
    apart: bool = False  # read on two connections (a large workspace, outside a transaction)

    def __len__(self) -> int:
        return len(self.ids)


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # binary COPY: signature, flags, extension
_COPY_END = b"\xff\xff"


def _copies() -> bool:
    """Whether the database takes binary COPY from here (PostgreSQL through psycopg 3)."""
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


def _copy_dtype(columns: list[np.ndarray]) -> np.dtype:
    """One row of a binary COPY of non-null columns: a 1-D int64 column is a bigint, a 1-D
    float64 column a double precision, a 2-D float64 column a bytea of its row's little-endian
    doubles."""
    fields: list[tuple] = [("count", ">i2")]
    for k, column in enumerate(columns):
        if column.ndim == 2:
            fields += [(f"size{k}", ">i4"), (f"c{k}", "<f8", (column.shape[1],))]
        else:
            kind = ">i8" if column.dtype.kind in "iub" else ">f8"
            fields += [(f"size{k}", ">i4"), (f"c{k}", kind)]
    return np.dtype(fields)


def copy_rows(cursor, table: str, columns: list[np.ndarray]) -> None:
    """Rows made of `columns` (see `_copy_dtype`) into `table`, in one binary COPY."""
    rows = np.empty(len(columns[0]), _copy_dtype(columns))
    rows["count"] = len(columns)
    for k, column in enumerate(columns):
        rows[f"size{k}"] = 8 * (column.shape[1] if column.ndim == 2 else 1)
        rows[f"c{k}"] = column
    with cursor.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_COPY_SIGNATURE + rows.tobytes() + _COPY_END)


def upsert_sql(model, columns: list[str], rows: str) -> str:
    """INSERT of `rows` (a VALUES list or a SELECT, giving `columns` in order) into `model`'s
    table, replacing on a conflict of the primary key every other column given."""
    quote = connection.ops.quote_name
    key = model._meta.pk.column
    names = ", ".join(quote(c) for c in columns)
    kept = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns if c != key)
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({names}) {rows} "  # noqa: S608
        f"ON CONFLICT ({quote(key)}) DO UPDATE SET {kept}"
    )


_ARRAY_HEADER = 20  # array_send of a one-dimensional array: dimensions, flags, type, length, base

# Statements over every row of a workspace are planned as costly enough for PostgreSQL to
# compile them (JIT), which takes longer than running them.
_NO_JIT = "SET LOCAL jit = off"
# Sorting a workspace's evaluations for the latest of each, or hashing its features to update
# their scores, fits in memory with this much.
_SORT_MEMORY = "SET LOCAL work_mem = '32MB'"

# A read: SQL selecting columns c0, c1…, its parameters, and the kind of each column: "i" for
# integers (NULL: -1), "f" for doubles (NULL: NaN).
Read = tuple[str, list, str]


def _array_columns(kinds: str) -> str:
    """Each column c0, c1… of the rows of `q` as one value: the binary form of the array of
    all its rows (`array_send`), -1 standing for a missing integer and NaN for a missing double."""
    return ", ".join(
        f"array_send(array_agg(COALESCE(q.c{k}::bigint, -1)))"
        if kind == "i"
        else f"array_send(array_agg(COALESCE(q.c{k}::float8, 'NaN')))"
        for k, kind in enumerate(kinds)
    )


def _from_arrays(kinds: str, values) -> list[np.ndarray]:
    columns = []
    for kind, data in zip(kinds, values, strict=True):
        dtype = np.int64 if kind == "i" else np.float64
        if data is None:  # no rows
            columns.append(np.empty(0, dtype))
            continue
        # Each element: its length (4 bytes), then its 8 bytes, big-endian.
        element = np.dtype([("size", ">i4"), ("value", ">i8" if kind == "i" else ">f8")])
        columns.append(np.frombuffer(data, element, offset=_ARRAY_HEADER)["value"].astype(dtype))
    return columns


def _from_rows(kinds: str, rows: list[tuple]) -> list[np.ndarray]:
    columns = []
    for k, kind in enumerate(kinds):
        column = np.array([row[k] for row in rows], dtype=np.float64)  # None becomes NaN
        if kind == "i":
            column = np.where(np.isnan(column), -1, column).astype(np.int64)
        columns.append(column)
    return columns


def _read_columns(reads: list[Read], *, with_sql: str = "", with_params=()) -> list[list]:
    """The columns of each read as arrays, the reads taking their names from the WITH clause
    `with_sql` if given.

    On PostgreSQL all the reads are one statement and each column comes back as one value, the
    binary form of an array of all its rows (`array_send`), read straight into numpy; elsewhere
    each read is a query whose rows are read one by one."""
    if connection.vendor == "postgresql":
        parts = [
            f"(SELECT {_array_columns(kinds)} FROM ({sql}) AS q) AS r{k}"  # noqa: S608
            for k, (sql, _params, kinds) in enumerate(reads)
        ]
        params = [*with_params, *(value for _sql, values, _kinds in reads for value in values)]
        joined = " CROSS JOIN ".join(parts)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_NO_JIT)
            cursor.execute(_SORT_MEMORY)
            cursor.execute(f"{with_sql} SELECT * FROM {joined}", params)  # noqa: S608
            row = cursor.fetchone()
        columns, start = [], 0
        for _sql, _params, kinds in reads:
            columns.append(_from_arrays(kinds, row[start : start + len(kinds)]))
            start += len(kinds)
        return columns
    columns = []
    with connection.cursor() as cursor:
        for sql, params, kinds in reads:
            cursor.execute(f"{with_sql} {sql}", [*with_params, *params])
            columns.append(_from_rows(kinds, cursor.fetchall()))
    return columns


def _reads_meanwhile(workspace_id: int) -> bool:
    """Whether a read may run on a second connection while this one reads the rest: on
    PostgreSQL, outside any transaction (both connections then see the committed rows, as two
    statements here would), for a workspace of `PARALLEL_FROM` features or more."""
    from quarterdeck.backlog.models import Feature

    return (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and connection.get_autocommit()
        and Feature.objects.filter(workspace_id=workspace_id)
        .order_by()
        .values("id")[PARALLEL_FROM - 1 : PARALLEL_FROM]
        .exists()
    )


def _meanwhile(work: Callable[[], object]) -> Callable[[], object]:
    """`work()` started on a connection of its own in another thread; the function returned
    waits for its result (raising what it raised)."""

    def run() -> object:
        try:
            return work()
        finally:
            connection.close()  # this thread's own connection

    executor = ThreadPoolExecutor(max_workers=1)
    future = executor.submit(run)
    executor.shutdown(wait=False)  # the thread ends once the work is done
    return future.result


def _read_meanwhile(
    reads: list[Read], *, with_sql: str = "", with_params=()
) -> Callable[[], list[list[np.ndarray]]]:
    """`_read_columns(reads, …)` started on a connection of its own in another thread."""
    return _meanwhile(lambda: _read_columns(reads, with_sql=with_sql, with_params=with_params))


def _input_reads(workspace_id: int) -> tuple[str, list, list[Read]]:
    """The WITH clause naming the workspace's features `scored` (id, status, score, demand),
    and the reads of their inputs: the features (id, open or not, score, demand), their needs
    (feature, need), drivers (feature, weight × contribution), key results (feature, key
    result) and latest evaluations by creation then id (feature, effort, risk level, confidence).

    Rows of the workspace are found through its needs, drivers and key results (small tables
    or an index) rather than by joining every feature."""
    from quarterdeck.backlog.models import OPEN_STATUSES, Evaluation, Feature, FeatureDriver
    from quarterdeck.insights.models import Need
    from quarterdeck.strategy.models import Driver, Objective

    quote = connection.ops.quote_name
    feature = quote(Feature._meta.db_table)
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
    with_sql = (
        f"WITH scored AS {materialized} (SELECT id, status, score, demand "  # noqa: S608
        f"FROM {feature} WHERE workspace_id = %s)"
    )
    statuses = sorted(OPEN_STATUSES)
    levels = scoring.RISK_LEVELS
    risk = " ".join(f"WHEN %s THEN {code}" for code in range(len(levels)))
    evaluations = quote(Evaluation._meta.db_table)
    if connection.vendor == "postgresql":  # the first row of each feature in that order
        latest = (
            "SELECT DISTINCT ON (x.feature_id) x.feature_id AS c0, x.effort AS c1, "  # noqa: S608
            f"CASE x.risk {risk} ELSE -1 END AS c2, x.confidence AS c3 FROM {evaluations} AS x "
            f"WHERE x.feature_id IN (SELECT id FROM {feature} WHERE workspace_id = %s) "
            "ORDER BY x.feature_id, x.created_at DESC, x.id DESC"
        )
        latest_params = [*levels, workspace_id]
    else:
        latest = (
            "SELECT feature_id AS c0, effort AS c1, risk AS c2, confidence AS c3 FROM ("  # noqa: S608
            f"SELECT x.feature_id, x.effort, CASE x.risk {risk} ELSE -1 END AS risk, "
            "x.confidence, ROW_NUMBER() OVER ("
            "PARTITION BY x.feature_id ORDER BY x.created_at DESC, x.id DESC) AS nth "
            f"FROM {evaluations} AS x "
            "JOIN scored AS f ON f.id = x.feature_id) AS latest WHERE nth = 1"
        )
        latest_params = list(levels)
    reads: list[Read] = [
        (
            f"SELECT id AS c0, CASE WHEN status IN ({', '.join(['%s'] * len(statuses))}) "  # noqa: S608
            "THEN 1 ELSE 0 END AS c1, score AS c2, demand AS c3 FROM scored",
            statuses,
            "iiff",
        ),
        (
            "SELECT x.feature_id AS c0, x.need_id AS c1 "  # noqa: S608 - names from models
            f"FROM {quote(Feature.needs.through._meta.db_table)} AS x "
            f"JOIN {quote(Need._meta.db_table)} AS n ON n.id = x.need_id "
            "WHERE n.workspace_id = %s",
            [workspace_id],
            "ii",
        ),
        (
            "SELECT x.feature_id AS c0, d.weight * x.contribution AS c1 "  # noqa: S608
            f"FROM {quote(FeatureDriver._meta.db_table)} AS x "
            f"JOIN {quote(Driver._meta.db_table)} AS d ON d.id = x.driver_id "
            "WHERE d.workspace_id = %s",
            [workspace_id],
            "if",
        ),
        (
            "SELECT x.feature_id AS c0, x.keyresult_id AS c1 "  # noqa: S608
            f"FROM {quote(Feature.key_results.through._meta.db_table)} AS x "
            f"JOIN {quote(KeyResult._meta.db_table)} AS k ON k.id = x.keyresult_id "
            f"JOIN {quote(Objective._meta.db_table)} AS o ON o.id = k.objective_id "
            "WHERE o.workspace_id = %s",
            [workspace_id],
            "ii",
        ),
        (latest, latest_params, "ifif"),
    ]
    return with_sql, [workspace_id], reads


def _epoch_sql(column: str, moment: dt.datetime) -> tuple[str, list]:
    """SQL comparing a stored datetime `column` to `moment` — the expression of the column and
    the parameter, as POSIX time (PostgreSQL) or a Julian day (SQLite keeps UTC text)."""
    if connection.vendor == "postgresql":
        return f"date_part('epoch', {column})", [moment.timestamp()]
    return f"julianday({column})", [moment.timestamp() / 86400.0 + 2440587.5]


def _stored_demand_read(workspace_id: int, rate: float) -> Read:
    """The `NeedDemand` sums of the workspace made with decay `rate`: need, Σ importance ×
    weight, Σ weight, stakeholders, groups (stakeholders and anonymous groups), POSIX time."""
    from quarterdeck.strategy.models import NeedDemand

    quote = connection.ops.quote_name
    sql = (
        "SELECT need_id AS c0, amount AS c1, weight AS c2, stakeholders AS c3, "  # noqa: S608
        f"{quote('groups')} AS c4, as_of AS c5 FROM {quote(NeedDemand._meta.db_table)} "
        "WHERE workspace_id = %s AND rate = %s"
    )
    return sql, [workspace_id, rate], "iffiif"


def _fresh_demand_read(
    workspace_id: int, now: dt.datetime, rate: float, need_ids: np.ndarray | None = None
) -> Read:
    """The sums of `_need_totals_sql` now for `need_ids` (every need the workspace's features
    answer when None), in the columns of `_stored_demand_read` but the last: 1 if a counted
    insight of the need is dated after `now` (such sums cannot be decayed on later; they are
    not kept)."""
    from quarterdeck.backlog.models import Feature
    from quarterdeck.insights.models import Insight, InsightLink, InsightState, Need

    quote = connection.ops.quote_name
    if need_ids is None:
        wanted = (
            "SELECT DISTINCT x.need_id FROM "  # noqa: S608 - names from models
            f"{quote(Feature.needs.through._meta.db_table)} AS x "
            f"JOIN {quote(Need._meta.db_table)} AS n ON n.id = x.need_id "
            "WHERE n.workspace_id = %s"
        )
        wanted_params: list = [workspace_id]
    elif connection.vendor == "postgresql":
        wanted, wanted_params = "SELECT unnest(%s::bigint[]) AS need_id", [need_ids.tolist()]
    else:
        wanted = "SELECT value AS need_id FROM json_each(%s)"
        wanted_params = [json.dumps(need_ids.tolist())]
    # Every need's: all the workspace's links, scanned once (looked up need by need, the links
    # of 100,000 needs took three times as long).
    among = None if need_ids is None else "SELECT need_id FROM wanted"
    totals, totals_params = _need_totals_sql(workspace_id, among, now, rate)
    captured, captured_params = _epoch_sql("i.captured_at", now)
    future = (
        "SELECT DISTINCT l.need_id FROM "  # noqa: S608 - names from models
        f"{quote(InsightLink._meta.db_table)} AS l "
        f"JOIN {quote(Insight._meta.db_table)} AS i ON i.id = l.insight_id "
        f"WHERE l.workspace_id = %s AND i.state <> %s AND {captured} > %s"
        + ("" if among is None else f" AND l.need_id IN ({among})")
    )
    sql = (
        f"WITH wanted AS ({wanted}) "  # noqa: S608 - built from the SQL above
        "SELECT s.need_id AS c0, COALESCE(t.c1, 0.0) AS c1, COALESCE(t.c2, 0.0) AS c2, "
        "COALESCE(t.c3, 0) AS c3, COALESCE(t.c4, 0) AS c4, "
        "CASE WHEN f.need_id IS NULL THEN 0 ELSE 1 END AS c5 "
        f"FROM wanted AS s LEFT JOIN ({totals}) AS t ON t.c0 = s.need_id "
        f"LEFT JOIN ({future}) AS f ON f.need_id = s.need_id"
    )
    params = [
        *wanted_params,
        *totals_params,
        workspace_id,
        InsightState.ARCHIVED,
        *captured_params,
    ]
    return sql, params, "iffiii"


def _positions(ids: np.ndarray, feature_ids: np.ndarray) -> np.ndarray:
    """The position in `ids` (sorted) of each of `feature_ids` (all among them)."""
    return np.searchsorted(ids, feature_ids)


def _lookup(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of `wanted`, whether it is among `keys` (sorted) and where."""
    if not len(keys):
        return np.zeros(len(wanted), dtype=bool), np.zeros(len(wanted), dtype=np.int64)
    where = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return keys[where] == wanted, where


def _demand_columns(
    workspace_id: int,
    ids: np.ndarray,
    need_feature: np.ndarray,
    need_id: np.ndarray,
    totals: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """user_value, Σ weights and reach of each feature from the totals of each need
    (`_need_totals_sql`): those of its need for a feature answering one, `_combine_demand`'s
    for a feature answering several, as `load_inputs` derives them."""
    size = len(ids)
    order = np.argsort(totals[0], kind="stable")
    need, amount, weight, stakeholders, groups = (column[order] for column in totals)
    user_value, demand_weight, reach = np.zeros(size), np.zeros(size), np.zeros(size)
    at = _positions(ids, need_feature)
    single = np.bincount(at, minlength=size)[at] == 1
    found, where = _lookup(need, need_id[single])
    positions, where = at[single][found], where[found]
    user_value[positions], demand_weight[positions] = amount[where], weight[where]
    reach[positions] = groups[where]
    if single.all():
        return user_value, demand_weight, reach
    needs_of: dict[int, list[int]] = {}
    for position, need_of in zip(at[~single].tolist(), need_id[~single].tolist(), strict=True):
        needs_of.setdefault(position, []).append(need_of)
    wanted = np.unique(need_id[~single])
    found, where = _lookup(need, wanted)
    wanted, where = wanted[found], where[found]
    totals_of = {
        need_of: (total, weights, people, count - people)
        for need_of, total, weights, people, count in zip(
            wanted.tolist(),
            amount[where].tolist(),
            weight[where].tolist(),
            stakeholders[where].tolist(),
            groups[where].tolist(),
            strict=True,
        )
    }
    for position, (total, weights, people) in _combine_demand(
        workspace_id, needs_of, totals_of
    ).items():
        user_value[position], demand_weight[position], reach[position] = total, weights, people
    return user_value, demand_weight, reach


def _driver_column(ids: np.ndarray, feature: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Σ weight × contribution of each feature from its (feature, weight × contribution) rows:
    added in row order up to two parts (one rounding, as math.fsum), with math.fsum beyond."""
    at = _positions(ids, feature)
    driver_value = np.bincount(at, weights=parts, minlength=len(ids))
    many = np.bincount(at, minlength=len(ids))[at] > 2
    if many.any():
        parts_of: dict[int, list[float]] = {}
        for position, part in zip(at[many].tolist(), parts[many].tolist(), strict=True):
            parts_of.setdefault(position, []).append(part)
        for position, values in parts_of.items():
            driver_value[position] = math.fsum(values)
    return driver_value


def _in_workspace(ids: np.ndarray, feature: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """The rows whose feature is among `ids` (a link across workspaces is not counted)."""
    found, _where = _lookup(ids, feature)
    if found.all():
        return [feature, *others]
    return [feature[found], *(column[found] for column in others)]


def load_columns(
    workspace_id: int, *, now: dt.datetime, params: scoring.ScoringParams | None = None
) -> Columns:
    """Every feature's score inputs as columns, whatever the number of features: the inputs
    `load_inputs(aggregated=True)` builds one object per feature for, giving the same terms
    (`scoring.FeatureColumns`).

    Each read gives one kind of row (`_input_reads`), or the demand of each need: its stored
    sums decayed on to `now` (`_stored_demand_read`), and sums made now (`_fresh_demand_read`,
    kept in `fresh_demand`) for the needs without them. On PostgreSQL the input reads are one
    statement; for a large workspace outside a transaction the drivers and the demand are read
    meanwhile on a second connection."""
    with_sql, with_params, reads = _input_reads(workspace_id)
    rate = _decay_rate(params)
    revision = demand.revision(workspace_id)  # before any link is read
    # With stored sums, those of the needs without them are made once both are read; without
    # any (a first scoring), every need's are made meanwhile.
    stored_any = NeedDemand.objects.filter(workspace_id=workspace_id, rate=rate).exists()
    demand_read = (
        _stored_demand_read(workspace_id, rate)
        if stored_any
        else _fresh_demand_read(workspace_id, now, rate)
    )
    apart = _reads_meanwhile(workspace_id)
    if apart:  # about half the reading each
        elsewhere = _read_meanwhile([reads[1], reads[2], demand_read])
        here = _read_columns(
            [reads[0], reads[3], reads[4]], with_sql=with_sql, with_params=with_params
        )
        needs, drivers, demand_columns = elsewhere()
        read = [here[0], needs, drivers, here[1], here[2]]
    else:
        read = _read_columns(reads, with_sql=with_sql, with_params=with_params)
        demand_columns = _read_columns([demand_read])[0]  # its own WITH clause
    features, (need_feature, need_id), (driver_feature, parts), (kr_feature, kr_id) = read[:4]
    evaluation_feature, estimate, risk, confidence = read[4]
    order = np.argsort(features[0])
    ids, is_open, old_scores, old_demands = (column[order] for column in features)
    need_feature, need_id = _in_workspace(ids, need_feature, need_id)
    driver_feature, parts = _in_workspace(ids, driver_feature, parts)
    kr_feature, kr_id = _in_workspace(ids, kr_feature, kr_id)
    size = len(ids)
    at_risk_ids = [pk for pk, kr in _key_results_at_risk(workspace_id).items() if kr.at_risk]
    at = _positions(ids, kr_feature)
    key_results = np.bincount(at, minlength=size)
    at_risk = np.bincount(
        at, weights=np.isin(kr_id, np.array(at_risk_ids, dtype=np.int64)), minlength=size
    )
    at = _positions(ids, evaluation_feature)
    effort, risks, confidences = np.full(size, math.nan), np.full(size, -1), np.full(size, math.nan)
    effort[at], risks[at], confidences[at] = estimate, risk, confidence
    if stored_any:
        need, amount, weight, stakeholders, groups, as_of = demand_columns
        if rate and len(need):  # decayed on from the time of the stored sums
            factor = np.exp(-rate * np.maximum((now.timestamp() - as_of) / 86400.0, 0.0))
            amount, weight = amount * factor, weight * factor
        found, _where = _lookup(np.sort(need), need_id)
        stale = np.unique(need_id[~found])  # few, unless much evidence changed
        fresh_demand = (
            _read_columns([_fresh_demand_read(workspace_id, now, rate, stale)])[0]
            if len(stale)
            else _from_rows("iffiii", [])
        )
    else:
        need, amount, weight, stakeholders, groups = _from_rows("iffii", [])
        fresh_demand = demand_columns
    fresh = fresh_demand[:5]
    kept = fresh_demand[5] == 0
    need, amount, weight, stakeholders, groups = (
        np.concatenate([a, b])
        for a, b in zip([need, amount, weight, stakeholders, groups], fresh, strict=True)
    )
    user_value, demand_weight, reach = _demand_columns(
        workspace_id, ids, need_feature, need_id, [need, amount, weight, stakeholders, groups]
    )
    return Columns(
        ids=ids,
        open=is_open == 1,
        old_scores=old_scores,
        old_demands=old_demands,
        inputs=scoring.FeatureColumns(
            user_value=user_value,
            demand_weight=demand_weight,
            reach=reach,
            driver_value=_driver_column(ids, driver_feature, parts),
            key_results=key_results,
            at_risk=at_risk,
            effort=effort,
            risk=risks,
            confidence=confidences,
        ),
        apart=apart,
        fresh_demand=demand.Fresh(
            revision, *(column[kept] for column in fresh), rate, now.timestamp()
        ),
    )


# --- ranks ------------------------------------------------------------------------------------


def _rank_key(score: float | None, feature_id: int) -> tuple:
    # The backlog's order: highest score first, unscored last, newest first among equals.
    return (score is None, -(score or 0.0), -feature_id)


def ranks(ids: list[int], statuses: list[str], scores: list[float | None]) -> dict[int, int]:
    """1-based rank of every open feature by score."""
    from quarterdeck.backlog.models import OPEN_STATUSES

    open_ = [i for i, status in enumerate(statuses) if status in OPEN_STATUSES]
    open_.sort(key=lambda i: _rank_key(scores[i], ids[i]))
    return {ids[i]: position for position, i in enumerate(open_, start=1)}


def column_ranks(ids: np.ndarray, is_open: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """`ranks` as an array by position: each open feature's 1-based rank by score (NaN: none),
    0 for the others."""
    positions = np.flatnonzero(is_open)
    chosen = scores[positions]
    missing = np.isnan(chosen)
    order = np.lexsort((-ids[positions], np.where(missing, 0.0, -chosen), missing))
    found = np.zeros(len(ids), dtype=np.int64)
    found[positions[order]] = np.arange(1, len(order) + 1)
    return found


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=1e-9)


def _same_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`_same` element by element, NaN standing for None."""
    missing_a, missing_b = np.isnan(a), np.isnan(b)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - b)
        close = (a == b) | (
            np.isfinite(a)
            & np.isfinite(b)
            & ((diff <= np.abs(TOLERANCE * b)) | (diff <= np.abs(TOLERANCE * a)) | (diff <= 1e-9))
        )
    return np.where(missing_a | missing_b, missing_a & missing_b, close)


def _clean(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _public_terms(values: Mapping) -> dict[str, float | None]:
    return {k: _clean(v) for k, v in values.items() if not k.startswith("_")}


def _diff_terms(old: Mapping | None, new: Mapping) -> dict[str, list]:
    if not old:
        return {}
    changes = {}
    for name in EXPLAINING:
        a, b = old.get(name), new.get(name)
        if not _same(a, b):
            changes[name] = [a, b]
    return changes


def explain(changes: Mapping[str, list], trigger: str = "") -> str:
    """A sentence: what changed, e.g. "demand 2 → 3.5; effort 4 → 2"."""
    from quarterdeck.strategy.charts import fmt

    parts = [
        f"{TERM_LABELS.get(name, name)!s} {fmt(_round(a))} → {fmt(_round(b))}"
        for name, (a, b) in changes.items()
    ]
    text = "; ".join(parts[:4])
    if trigger and text:
        return f"{trigger}: {text}"[:300]
    return (trigger or text or _("scoring settings changed"))[:300]


def _round(value):
    return None if value is None else round(value, 2)


# --- writing ----------------------------------------------------------------------------------


def _write_scores(rows: list[tuple[int, float | None, float]]) -> None:
    """Set Feature.score and Feature.demand for (id, score, demand) rows in bulk."""
    from quarterdeck.backlog.models import Feature

    if not rows:
        return
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Feature._meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(rows), 50_000):
                chunk = rows[start : start + 50_000]
                cursor.execute(
                    f"UPDATE {table} AS f SET score = v.score, demand = v.demand "  # noqa: S608
                    "FROM unnest(%s::bigint[], %s::float8[], %s::float8[]) AS v(id, score, demand) "
                    "WHERE f.id = v.id",
                    [[r[0] for r in chunk], [r[1] for r in chunk], [r[2] for r in chunk]],
                )
        return
    table = connection.ops.quote_name(Feature._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET score = %s, demand = %s WHERE id = %s",  # noqa: S608
            [(score, demand, pk) for pk, score, demand in rows],
        )


def _copy_scores(ids: np.ndarray, scores: np.ndarray, demands: np.ndarray) -> None:
    """`_write_scores` for many features on PostgreSQL: the rows go in one binary COPY to a
    temporary table, then one UPDATE sets the scores (NaN: none) and demands."""
    from quarterdeck.backlog.models import Feature

    with connection.cursor() as cursor:
        cursor.execute(_NO_JIT)
        cursor.execute(_SORT_MEMORY)  # the join to the features is hashed in memory
        cursor.execute(
            "CREATE TEMPORARY TABLE rescored (id bigint, score float8, demand float8) "
            "ON COMMIT DROP"
        )
        copy_rows(cursor, "rescored", [ids, scores, demands])
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Feature._meta.db_table)} AS f "  # noqa: S608
            "SET score = NULLIF(r.score, 'NaN'), demand = r.demand "
            "FROM rescored AS r WHERE f.id = r.id"
        )
        cursor.execute("DROP TABLE rescored")


_TERM_COLUMNS = ["feature_id", "workspace_id", "packed_terms", "computed_at"]


def _copy_terms(workspace_id: int, ids: np.ndarray, terms: np.ndarray, at: dt.datetime) -> None:
    """`_store_terms` for many features on PostgreSQL: one binary COPY of the packed terms
    (`scoring.pack_terms`) to a temporary table, then one INSERT … ON CONFLICT."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_NO_JIT)
        cursor.execute("CREATE TEMPORARY TABLE termed (id bigint, terms bytea) ON COMMIT DROP")
        copy_rows(cursor, "termed", [ids, terms])
        cursor.execute(
            upsert_sql(FeatureScore, _TERM_COLUMNS, "SELECT id, %s, terms, %s FROM termed"),
            [workspace_id, at],
        )
        cursor.execute("DROP TABLE termed")


def _write_changes(
    workspace_id: int,
    ids: np.ndarray,
    scores: np.ndarray,
    demands: np.ndarray,
    terms: np.ndarray,
    at: dt.datetime,
) -> None:
    """Write the scores, demands and terms (one row of `scoring.TERM_NAMES` per feature) of the
    features `ids` (NaN: none)."""
    if _copies():
        _copy_scores(ids, scores, demands)
        _copy_terms(workspace_id, ids, terms, at)
        return
    pks = ids.tolist()
    _write_scores(
        [
            (pk, None if math.isnan(score) else score, demand)
            for pk, score, demand in zip(pks, scores.tolist(), demands.tolist(), strict=True)
        ]
    )
    packed = np.ascontiguousarray(terms, dtype="<f8")
    _upsert_terms(workspace_id, pks, [row.tobytes() for row in packed], at)


def _upsert_terms(workspace_id: int, pks: list[int], packed: list[bytes], at: dt.datetime) -> None:
    """Insert or replace the packed terms of the features `pks`: one statement run for all
    rows (an ORM upsert of many objects cost about 50 µs a row on SQLite)."""
    when = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        cursor.executemany(
            upsert_sql(FeatureScore, _TERM_COLUMNS, "VALUES (%s, %s, %s, %s)"),
            [(pk, workspace_id, data, when) for pk, data in zip(pks, packed, strict=True)],
        )


def _store_terms(workspace_id: int, terms: dict[int, dict], at: dt.datetime) -> None:
    _upsert_terms(workspace_id, list(terms), [scoring.pack_terms(t) for t in terms.values()], at)


def _old_terms(feature_ids: list[int]) -> dict[int, dict]:
    """feature id → its stored terms by name."""
    return {
        pk: scoring.unpack_terms(packed)
        for pk, packed in FeatureScore.objects.filter(feature_id__in=feature_ids).values_list(
            "feature_id", "packed_terms"
        )
    }


@dataclass
class Result:
    scored: int
    changed: int
    recorded: int
    # Seconds spent per phase of a workspace re-score: "load", "compute", "write".
    seconds: dict[str, float] = field(default_factory=dict)


def recompute_workspace(workspace, *, reason: str = "") -> Result:
    """Score every feature of `workspace`, write what changed, record the rank changes.

    The features are scored column by column (`load_columns`, `Scorer.column_values`): the
    same terms and totals as scoring each feature's `load_inputs` one by one."""
    scorer = scorer_for(workspace)
    now = timezone.now()
    started = time.perf_counter()
    loaded = load_columns(workspace.pk, now=now, params=scorer.params)
    loaded_at = time.perf_counter()
    seconds = {"load": loaded_at - started}
    values = scorer.column_values(loaded.inputs)
    new_scores = scorer.column_totals(values)
    user_value = values["user_value"]
    new_demands = np.where(np.isfinite(user_value) & (user_value != 0), user_value, 0.0)
    changed = np.flatnonzero(
        ~(
            _same_columns(new_scores, loaded.old_scores)
            & _same_columns(new_demands, loaded.old_demands)
        )
    )
    computed_at = time.perf_counter()
    seconds["compute"] = computed_at - loaded_at
    if not len(changed):
        if len(loaded.fresh_demand):
            with transaction.atomic():
                demand.keep(workspace.pk, loaded.fresh_demand)
        seconds["write"] = time.perf_counter() - computed_at
        return Result(len(loaded), 0, 0, seconds)
    ids = loaded.ids
    old_ranks = column_ranks(ids, loaded.open, loaded.old_scores)
    new_ranks = column_ranks(ids, loaded.open, new_scores)
    moved = changed[~_same_columns(new_scores[changed], loaded.old_scores[changed])]
    biggest = np.argsort(-np.abs(old_ranks[moved] - new_ranks[moved]), kind="stable")
    recorded = moved[biggest[:MAX_RECORDED]].tolist()
    recorded_ids = ids[recorded].tolist()
    old_terms = _old_terms(recorded_ids)

    def optional(value: float) -> float | None:
        return None if math.isnan(value) else value

    def terms_at(position: int) -> dict[str, float | None]:
        return {name: _clean(column[position]) for name, column in values.items()}

    terms = np.column_stack([values[name][changed] for name in scoring.TERM_NAMES])
    terms_written = None
    if loaded.apart and _copies():
        # The terms, kept only to explain the next change of rank, are written meanwhile on a
        # second connection (their own transaction), while this one writes scores and ranks.
        terms_written = _meanwhile(lambda: _copy_terms(workspace.pk, ids[changed], terms, now))
    with transaction.atomic():
        if terms_written is None:
            _write_changes(
                workspace.pk, ids[changed], new_scores[changed], new_demands[changed], terms, now
            )
        else:
            _copy_scores(ids[changed], new_scores[changed], new_demands[changed])
        RankChange.objects.bulk_create(
            [
                _rank_change(
                    workspace.pk,
                    pk,
                    int(old_ranks[i]) or None,
                    int(new_ranks[i]) or None,
                    optional(float(loaded.old_scores[i])),
                    optional(float(new_scores[i])),
                    old_terms.get(pk),
                    terms_at(i),
                    reason,
                )
                for pk, i in zip(recorded_ids, recorded, strict=True)
            ],
            batch_size=500,
        )
        demand.keep(workspace.pk, loaded.fresh_demand)
    if terms_written is not None:
        terms_written()
    seconds["write"] = time.perf_counter() - computed_at
    return Result(len(loaded), len(changed), len(recorded_ids), seconds)


def _rank_change(ws_id, pk, old_rank, new_rank, old_score, new_score, old_terms, terms, reason):
    changes = _diff_terms(old_terms, terms)
    return RankChange(
        workspace_id=ws_id,
        feature_id=pk,
        old_rank=None if old_score is None else old_rank,
        new_rank=new_rank,
        old_score=old_score,
        new_score=new_score,
        changes=changes,
        reason=explain(changes, reason) if (changes or reason) else _("first score"),
    )


def _open_rank(workspace_id: int, feature_id: int, score: float | None) -> int:
    """The rank a feature with `score` has among the workspace's open features, by query."""
    from quarterdeck.backlog.models import OPEN_STATUSES, Feature

    others = Feature.objects.filter(workspace_id=workspace_id, status__in=OPEN_STATUSES).exclude(
        pk=feature_id
    )
    if score is None:
        ahead = others.filter(Q(score__isnull=False) | Q(score__isnull=True, pk__gt=feature_id))
    else:
        ahead = others.filter(Q(score__gt=score) | Q(score=score, pk__gt=feature_id))
    return ahead.count() + 1


def recompute_features(workspace, feature_ids: Iterable[int], *, reason: str = "") -> Result:
    """Re-score a few features now; ranks among the others are counted in the database."""
    from quarterdeck.backlog.models import OPEN_STATUSES

    scorer = scorer_for(workspace)
    now = timezone.now()
    loaded = load_inputs(
        workspace.pk, feature_ids=set(feature_ids), now=now, params=scorer.params, aggregated=True
    )
    recorded = changed = 0
    with transaction.atomic():
        old_terms = _old_terms(loaded.ids)
        for i, pk in enumerate(loaded.ids):
            values, total = term_values(scorer, loaded.inputs[i])
            total, demand = _clean(total), _clean(values["user_value"]) or 0.0
            old_score = loaded.old_scores[i]
            if _same(total, old_score) and _same(demand, loaded.old_demands[i]):
                continue
            changed += 1
            is_open = loaded.statuses[i] in OPEN_STATUSES
            old_rank = _open_rank(workspace.pk, pk, old_score) if is_open else None
            _write_scores([(pk, total, demand)])
            terms = _public_terms(values)
            _store_terms(workspace.pk, {pk: terms}, now)
            if _same(total, old_score):
                continue
            new_rank = _open_rank(workspace.pk, pk, total) if is_open else None
            _rank_change(
                workspace.pk,
                pk,
                old_rank,
                new_rank,
                old_score,
                total,
                old_terms.get(pk),
                terms,
                reason,
            ).save()
            recorded += 1
    return Result(len(loaded), changed, recorded)


# --- hooks ------------------------------------------------------------------------------------


def features_changed(*, feature_ids: list[int], reason: str = "") -> None:
    """Inputs of these features changed (called after commit): re-score them now."""
    from quarterdeck.accounts.models import Workspace
    from quarterdeck.backlog.models import Feature

    demand.forget_for_features(feature_ids)  # what their scores follow may have changed
    by_workspace: dict[int, list[int]] = {}
    for pk, ws_id in Feature.objects.filter(pk__in=list(feature_ids)).values_list(
        "id", "workspace_id"
    ):
        by_workspace.setdefault(ws_id, []).append(pk)
    for workspace in Workspace.objects.filter(pk__in=by_workspace):
        recompute_features(workspace, by_workspace[workspace.pk], reason=reason)


def workspace_changed(*, workspace_id: int, reason: str = "", demand_changed: bool = False) -> None:
    """Something every score depends on changed: re-score now, or in the background if large.
    With `demand_changed`, the stored demand of every need is forgotten first."""
    from quarterdeck.accounts.models import Workspace
    from quarterdeck.backlog.models import Feature

    if demand_changed:
        demand.forget(workspace_id)

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    if Feature.objects.filter(workspace_id=workspace_id).count() < SYNC_LIMIT:
        recompute_workspace(workspace, reason=reason)
        return
    from quarterdeck.strategy.tasks import rescore_workspace

    transaction.on_commit(
        lambda: rescore_workspace.enqueue(workspace_id=workspace_id, reason=reason)
    )


# --- reads for pages and the API --------------------------------------------------------------


def feature_breakdown(feature, *, config: scoring.ScoringConfig | None = None) -> scoring.Score:
    """One feature's score with every term, its inputs and its share."""
    scorer = scorer_for(feature.workspace, config)
    loaded = load_inputs(
        feature.workspace_id, feature_ids=[feature.pk], params=scorer.params, detailed=True
    )
    return scorer.score(loaded.inputs[0])


@dataclass
class WhatIfRow:
    feature_id: int
    title: str
    old_rank: int | None
    new_rank: int
    old_score: float | None
    new_score: float | None

    @property
    def moved(self) -> int | None:
        return None if self.old_rank is None else self.old_rank - self.new_rank

    @property
    def delta(self) -> float | None:
        if self.old_score is None or self.new_score is None:
            return None
        return self.new_score - self.old_score


def what_if(workspace, driver_weights: Mapping[int, float], *, limit: int = 20) -> list[WhatIfRow]:
    """The open features' top `limit` under other driver weights, nothing saved."""
    from quarterdeck.backlog.models import Feature

    scorer = scorer_for(workspace)
    loaded = load_inputs(
        workspace.pk,
        driver_weights=driver_weights,
        open_only=True,
        params=scorer.params,
        aggregated=True,
    )
    new_scores = [_clean(t) for t in scorer.totals(loaded.inputs)]
    old_ranks = ranks(loaded.ids, loaded.statuses, loaded.old_scores)
    new_ranks = ranks(loaded.ids, loaded.statuses, new_scores)
    top = sorted(new_ranks, key=new_ranks.get)[:limit]
    titles = dict(Feature.objects.filter(pk__in=top).values_list("id", "title"))
    position = {pk: i for i, pk in enumerate(loaded.ids)}
    return [
        WhatIfRow(
            feature_id=pk,
            title=titles.get(pk, ""),
            old_rank=old_ranks.get(pk),
            new_rank=new_ranks[pk],
            old_score=loaded.old_scores[position[pk]],
            new_score=new_scores[position[pk]],
        )
        for pk in top
    ]


MATRIX_LIMIT = 300


@dataclass
class MatrixData:
    points: list  # (feature, value, job_size, demand)
    unplaced: list  # features without an evaluation
    value_split: float
    effort_split: float
    total: int

    @property
    def shown(self) -> int:
        return len(self.points) + len(self.unplaced)


def _median(values: list[float]) -> float:
    values = sorted(values)
    if not values:
        return 0.0
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def matrix(
    workspace, *, squad: int | None = None, driver: int | None = None, segment: str | None = None
) -> MatrixData:
    """Open features placed by value (up) and risk-adjusted effort (right), the best-scored first.

    The split lines are the medians, so each quadrant compares a feature with the rest.
    """
    from quarterdeck.backlog.models import OPEN_STATUSES, Feature

    features = Feature.objects.filter(workspace=workspace, status__in=OPEN_STATUSES)
    if squad:
        features = features.filter(squad_id=squad)
    if driver:
        features = features.filter(driver_links__driver_id=driver, driver_links__contribution__gt=0)
    if segment:
        features = features.filter(
            Q(needs__links__insight__segment__key=segment) | Q(needs__segments__key=segment)
        )
    ids = list(
        features.order_by(F("score").desc(nulls_last=True), "-id")
        .values_list("id", flat=True)
        .distinct()
    )
    total = len(ids)
    ids = ids[:MATRIX_LIMIT]
    scorer = scorer_for(workspace)
    loaded = load_inputs(workspace.pk, feature_ids=ids, params=scorer.params, aggregated=True)
    objects = Feature.objects.select_related("squad", "workspace").in_bulk(ids)
    points, unplaced = [], []
    for i, pk in enumerate(loaded.ids):
        values, _total = term_values(scorer, loaded.inputs[i])
        feature = objects[pk]
        if values["job_size"] is None:
            unplaced.append(feature)
            continue
        points.append((feature, values["value"], values["job_size"], values["user_value"]))
    points.sort(key=lambda p: _rank_key(p[0].score, p[0].pk))
    unplaced.sort(key=lambda f: _rank_key(f.score, f.pk))
    return MatrixData(
        points=points,
        unplaced=unplaced,
        value_split=_median([p[1] for p in points]),
        effort_split=_median([p[2] for p in points]),
        total=total,
    )
