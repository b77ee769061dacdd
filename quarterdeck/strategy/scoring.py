"""Feature scores: pure, explainable term by term, with no database access.

Selectors turn a feature's rows into a ``FeatureInputs``; this module turns that into a ``Score``:
the total under the workspace's framework, and every term with its value, its inputs and its share.

Named terms
===========
Every framework, and every custom formula, is written over these names (``TERMS`` holds a
one-line description of each, for pages). A term with no data is *missing* (``None``), never 0.
Empty lists are data, though: a feature nobody asked for has ``user_value`` 0, not a missing one.

``user_value``
    Demand. Σ importance × segment_weight × stakeholder_weight × 2^(−age_days / half_life_days)
    over the insights linked to the needs the feature answers. A stakeholder is counted once per
    need: of several insights with the same ``(need_key, stakeholder_key)`` only the strongest
    counts, so one loud customer cannot outweigh many. Insights without a stakeholder each count.
    Ages below zero count as zero; ``half_life_days=None`` turns decay off. No demand: 0.
    ``FeatureInputs.user_value`` when given replaces that sum (``FeatureInputs.demand_weight``
    then gives its Σ weights, for ``impact``): demand aggregated beforehand, e.g. by a database.
``reach``
    ``FeatureInputs.reach`` when given, else the number of distinct stakeholders in the demand
    (each insight without a stakeholder counting as one). No demand: 0.
``impact``
    ``FeatureInputs.impact`` when given, else the mean importance (1–3, the RICE impact scale) of
    the counted demand, weighted like ``user_value``: user_value / Σ weights. Missing without
    demand (a mean of nothing).
``driver_value``
    Σ driver weight × contribution (0–3) over the drivers the feature serves. None: 0.
``kr_alignment``
    Σ over the key results the feature aims at of ``kr_bonus`` (default 1), or
    ``kr_at_risk_bonus`` (default 2) for a key result at risk. None: 0.
``company_value``
    driver_value + kr_alignment.
``value``
    user_value + company_value.
``effort``
    The latest evaluation's effort in person-weeks, raised to at least ``min_effort`` (0.1) so a
    near-free feature does not divide by zero. Missing without an evaluation.
``risk_factor``
    ``risk_factors[risk]`` of the latest evaluation: low 1.0, medium 1.25, high 1.5 by default.
    Missing without an evaluation or for an unknown level.
``job_size``
    effort × risk_factor: the risk-adjusted effort.
``ease``
    ``FeatureInputs.ease`` when given, else 10 / (1 + job_size): 10 for no work, falling with
    risk-adjusted effort (the ICE ease scale).
``confidence``
    The latest evaluation's confidence, 0–1. Missing without an evaluation.
``time_criticality``
    ``FeatureInputs.time_criticality`` when given, else the number of aimed-at key results at
    risk. None at risk: 0.
``risk_reduction``
    ``FeatureInputs.risk_reduction`` when given, else company_value (WSJF's "risk reduction and
    opportunity enablement" is the strategic value).

Frameworks
==========
``value_effort`` (default)  value / (effort × risk_factor)
``rice``                    reach × impact × confidence / effort
``ice``                     impact × confidence × ease
``wsjf``                    (user_value + time_criticality + risk_reduction) / job_size
``custom``                  the workspace's formula (``quarterdeck.lib.formula``) over these terms

Built-in frameworks are formulas too (``FRAMEWORKS``), so a custom formula written the same way
scores the same. ``Score.total`` is ``None`` when the formula is undefined: ``Score.missing`` then
names the terms without a value (empty when the inputs were all there but the formula is undefined
for them, e.g. ``log(0)`` in a custom formula).

Shares
======
``Term.share`` is the fraction of the total that a term accounts for, defined for the additive
parts of the formula's numerator: the formula with every trailing ``/ divisor`` removed must be a
sum (or difference) of terms, e.g. ``value`` in value / effort, or ``user_value``,
``time_criticality`` and ``risk_reduction`` in WSJF. Sums among the named terms are opened up too:
value into user_value and company_value, company_value into driver_value and kr_alignment, a
derived risk_reduction into company_value. So for value / effort, user_value.share +
company_value.share = 1. Factors (effort, confidence…) have no share: ``None``.

Speed
=====
``Scorer`` parses the formula once; every term is computed in one straight-line function.
``Scorer.totals`` scores 100,000 typical features (three insights, two drivers) in about half a
second in pure Python; full breakdowns (``Scorer.score_many``) cost several times more, so build
them only for the features a page shows. Ranking a whole workspace goes column by column instead
(``FeatureColumns``, ``Scorer.column_values`` and ``Scorer.column_totals``): numpy arrays with one
position per feature, the same floating-point operations in the same order, so each feature's
terms and total are exactly those ``values`` and ``total`` give, in a few milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from quarterdeck.lib.formula import (
    Binary,
    Call,
    Formula,
    FormulaError,
    Name,
    Node,
    Number,
    Unary,
    parse,
)

__all__ = [
    "CUSTOM",
    "DEFAULT_FRAMEWORK",
    "DEFAULT_RISK_FACTORS",
    "FRAMEWORKS",
    "FRAMEWORK_LABELS",
    "RISK_LEVELS",
    "TERMS",
    "ConfigError",
    "DemandItem",
    "DriverContribution",
    "EvaluationInfo",
    "FeatureColumns",
    "FeatureInputs",
    "FormulaError",
    "KeyResultAlignment",
    "Score",
    "Scorer",
    "ScoringConfig",
    "ScoringParams",
    "Term",
    "compute_score",
    "score_many",
    "score_totals",
    "validate_config",
]

# --- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemandItem:
    """One insight linked to a need the feature answers."""

    importance: int  # 1 nice-to-have, 2 important, 3 critical
    segment_weight: float = 1.0
    stakeholder_weight: float = 1.0
    age_days: float = 0.0
    stakeholder_key: str | None = None
    need_key: str | None = None  # a stakeholder counts once per need


@dataclass(frozen=True, slots=True)
class DriverContribution:
    name: str
    weight: float
    contribution: int  # 0–3


@dataclass(frozen=True, slots=True)
class KeyResultAlignment:
    name: str
    at_risk: bool = False


@dataclass(frozen=True, slots=True)
class EvaluationInfo:
    """The latest Evaluation of the feature."""

    effort: float | None = None  # person-weeks
    risk: str | None = None  # "low", "medium", "high"
    confidence: float | None = None  # 0–1


@dataclass(frozen=True, slots=True)
class FeatureInputs:
    """Everything a feature's score depends on. The optional numbers override derived terms."""

    demand: Sequence[DemandItem] = ()
    drivers: Sequence[DriverContribution] = ()
    key_results: Sequence[KeyResultAlignment] = ()
    evaluation: EvaluationInfo | None = None
    reach: float | None = None
    impact: float | None = None
    ease: float | None = None
    time_criticality: float | None = None
    risk_reduction: float | None = None
    # Demand already aggregated (by the database, for ranking many features): ``user_value``
    # replaces the sum over ``demand`` and ``demand_weight`` its Σ weights (for ``impact``).
    user_value: float | None = None
    demand_weight: float | None = None


@dataclass(frozen=True, eq=False)
class FeatureColumns:
    """The inputs of many features as parallel numpy arrays, one position per feature: what
    ranking a whole workspace reads. Demand is aggregated beforehand, as in ``FeatureInputs``
    with ``user_value``, ``demand_weight`` and ``reach`` given (0 for a feature nobody asked for).

    NaN marks a missing number, -1 a missing risk level (no evaluation, or an unknown level).
    ``driver_value`` is Σ weight × contribution rounded once, as ``math.fsum`` gives it.
    """

    user_value: np.ndarray
    demand_weight: np.ndarray
    reach: np.ndarray
    driver_value: np.ndarray
    key_results: np.ndarray  # how many the feature aims at
    at_risk: np.ndarray  # how many of those are at risk
    effort: np.ndarray  # the latest evaluation's, in person-weeks
    risk: np.ndarray  # index in RISK_LEVELS of the latest evaluation's risk
    confidence: np.ndarray

    def __len__(self) -> int:
        return len(self.user_value)


# --- configuration --------------------------------------------------------------------------------

TERMS: Mapping[str, str] = {
    "user_value": "Demand: importance × segment weight × stakeholder weight × recency, summed",
    "reach": "Distinct stakeholders who asked",
    "impact": "Mean importance (1–3) of the demand",
    "driver_value": "Σ driver weight × contribution",
    "kr_alignment": "Bonus for each key result aimed at (more when at risk)",
    "company_value": "driver_value + kr_alignment",
    "value": "user_value + company_value",
    "effort": "Latest evaluation's effort (person-weeks)",
    "risk_factor": "Risk multiplier from the latest evaluation",
    "job_size": "effort × risk_factor",
    "ease": "10 / (1 + job_size)",
    "confidence": "Latest evaluation's confidence (0–1)",
    "time_criticality": "Key results at risk",
    "risk_reduction": "company_value",
}

CUSTOM = "custom"
DEFAULT_FRAMEWORK = "value_effort"
FRAMEWORKS: Mapping[str, str] = {
    "value_effort": "value / (effort * risk_factor)",
    "rice": "reach * impact * confidence / effort",
    "ice": "impact * confidence * ease",
    "wsjf": "(user_value + time_criticality + risk_reduction) / job_size",
}
FRAMEWORK_LABELS: Mapping[str, str] = {
    "value_effort": "Value / effort",
    "rice": "RICE",
    "ice": "ICE",
    "wsjf": "WSJF",
    CUSTOM: "Custom formula",
}
DEFAULT_RISK_FACTORS: Mapping[str, float] = {"low": 1.0, "medium": 1.25, "high": 1.5}
RISK_LEVELS: tuple[str, ...] = tuple(DEFAULT_RISK_FACTORS)  # the codes of FeatureColumns.risk


class ConfigError(ValueError):
    """A scoring setting out of range; ``field`` names it (formulas raise ``FormulaError``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class ScoringParams:
    half_life_days: float | None = 180.0  # None: old insights count fully
    risk_factors: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RISK_FACTORS))
    min_effort: float = 0.1  # person-weeks
    kr_bonus: float = 1.0
    kr_at_risk_bonus: float = 2.0


@dataclass(frozen=True)
class ScoringConfig:
    """A workspace's scoring settings, stored as ``to_dict()`` in ``Workspace.scoring``."""

    framework: str = DEFAULT_FRAMEWORK
    formula: str = ""  # used when framework is "custom"
    params: ScoringParams = field(default_factory=ScoringParams)

    def to_dict(self) -> dict[str, Any]:
        p = self.params
        return {
            "framework": self.framework,
            "formula": self.formula,
            "half_life_days": p.half_life_days,
            "risk_factors": dict(p.risk_factors),
            "min_effort": p.min_effort,
            "kr_bonus": p.kr_bonus,
            "kr_at_risk_bonus": p.kr_at_risk_bonus,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ScoringConfig:
        """Settings from JSON (missing keys take defaults); ``ConfigError`` on unknown keys or
        wrong types. Call ``validate_config`` on the result before saving it."""
        data = dict(data or {})
        known = set(cls().to_dict())
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], "unknown setting")
        defaults = ScoringParams()

        def number(key: str, default: float | None, *, optional: bool = False) -> Any:
            value = data.get(key, default)
            if value is None and optional:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(key, "must be a number")
            return float(value)

        risk_factors = data.get("risk_factors", defaults.risk_factors)
        if not isinstance(risk_factors, Mapping):
            raise ConfigError("risk_factors", "must map low, medium and high to numbers")
        framework = data.get("framework", DEFAULT_FRAMEWORK)
        formula = data.get("formula", "") or ""
        if not isinstance(framework, str):
            raise ConfigError("framework", "must be text")
        if not isinstance(formula, str):
            raise ConfigError("formula", "must be text")
        return cls(
            framework=framework,
            formula=formula,
            params=ScoringParams(
                half_life_days=number("half_life_days", defaults.half_life_days, optional=True),
                risk_factors=dict(risk_factors),
                min_effort=number("min_effort", defaults.min_effort),
                kr_bonus=number("kr_bonus", defaults.kr_bonus),
                kr_at_risk_bonus=number("kr_at_risk_bonus", defaults.kr_at_risk_bonus),
            ),
        )


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _validate_params(params: ScoringParams) -> None:
    half_life = params.half_life_days
    if half_life is not None and not (_finite(half_life) and half_life > 0):
        raise ConfigError("half_life_days", "must be a number of days above 0, or empty")
    factors = params.risk_factors
    if set(factors) != set(DEFAULT_RISK_FACTORS):
        raise ConfigError("risk_factors", "must give a factor for low, medium and high")
    for level, factor in factors.items():
        if not (_finite(factor) and factor > 0):
            raise ConfigError("risk_factors", f"the factor for {level} must be above 0")
    if not (_finite(params.min_effort) and params.min_effort > 0):
        raise ConfigError("min_effort", "must be above 0")
    for name in ("kr_bonus", "kr_at_risk_bonus"):
        if not (_finite(getattr(params, name)) and getattr(params, name) >= 0):
            raise ConfigError(name, "must be 0 or more")


def validate_config(config: ScoringConfig) -> None:
    """Raise ``FormulaError`` for a bad formula (message and position), ``ConfigError`` otherwise.

    A formula is checked whenever it is set, so a draft kept beside a built-in framework is valid.
    """
    if config.framework != CUSTOM and config.framework not in FRAMEWORKS:
        choices = ", ".join([*FRAMEWORKS, CUSTOM])
        raise ConfigError("framework", f"unknown framework {config.framework!r}; one of {choices}")
    if config.framework == CUSTOM and not config.formula.strip():
        raise FormulaError("formula is empty at position 0", 0)
    if config.formula.strip():
        parse(config.formula, TERMS)
    _validate_params(config.params)


# --- output ---------------------------------------------------------------------------------------

InputValue = float | int | str | None


@dataclass(frozen=True, slots=True)
class Term:
    """One named term of a score: its value, what it was computed from, and its share."""

    name: str
    value: float | None
    inputs: dict[str, InputValue]
    share: float | None = None
    formula: str = ""  # how the term is defined, for display


@dataclass(frozen=True, slots=True)
class Score:
    framework: str
    total: float | None
    terms: list[Term]
    missing: list[str]
    formula: str  # the formula the total was computed with

    def term(self, name: str) -> Term:
        for term in self.terms:
            if term.name == name:
                return term
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "formula": self.formula,
            "total": self.total,
            "missing": list(self.missing),
            "terms": [
                {
                    "name": t.name,
                    "value": t.value,
                    "share": t.share,
                    "formula": t.formula,
                    "inputs": dict(t.inputs),
                }
                for t in self.terms
            ],
        }


# --- terms ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    """Parameters in the shape the term functions use them."""

    decay_rate: float  # ln 2 / half-life, 0 without decay
    half_life_days: float | None
    risk_factors: Mapping[str, float]
    min_effort: float
    kr_bonus: float
    kr_at_risk_bonus: float

    @classmethod
    def of(cls, params: ScoringParams) -> _Context:
        half_life = params.half_life_days
        return cls(
            decay_rate=math.log(2) / half_life if half_life else 0.0,
            half_life_days=half_life,
            risk_factors=dict(params.risk_factors),
            min_effort=params.min_effort,
            kr_bonus=params.kr_bonus,
            kr_at_risk_bonus=params.kr_at_risk_bonus,
        )


# One feature's term values by name, plus private entries ("_counted"…) used by explanations.
_Values = dict[str, Any]


def _kr_bonus(ctx: _Context, kr: KeyResultAlignment) -> float:
    return ctx.kr_at_risk_bonus if kr.at_risk else ctx.kr_bonus


def _term_values(inputs: FeatureInputs, ctx: _Context, *, detail: bool = False) -> _Values:
    """Every term of one feature, in straight-line code: this is the hot loop of ranking.

    With ``detail``, also the private counts that explanations show.
    """
    # Demand: the strongest insight per (need, stakeholder); insights without one each count.
    rate = ctx.decay_rate
    best: dict[tuple[str | None, str], tuple[float, float]] = {}
    anonymous: list[tuple[float, float]] = []
    for item in inputs.demand:
        weight = item.segment_weight * item.stakeholder_weight
        if rate and item.age_days > 0:
            weight *= math.exp(-rate * item.age_days)
        amount = item.importance * weight
        if item.stakeholder_key is None:
            anonymous.append((amount, weight))
            continue
        key = (item.need_key, item.stakeholder_key)
        previous = best.get(key)
        if previous is None or amount > previous[0]:
            best[key] = (amount, weight)
    if best or anonymous:
        counted = [*anonymous, *best.values()]
        # fsum: exactly rounded, so the order of insights never matters.
        user_value = math.fsum([amount for amount, _ in counted])
        demand_weight = math.fsum([weight for _, weight in counted])
        stakeholders = len({stakeholder for _, stakeholder in best}) if best else 0
    else:
        user_value = demand_weight = 0.0
        stakeholders = 0
    given_demand = inputs.user_value
    if given_demand is not None:
        user_value = given_demand
        demand_weight = inputs.demand_weight or 0.0
    impact = inputs.impact
    if impact is None and demand_weight > 0:
        impact = user_value / demand_weight

    drivers = inputs.drivers
    driver_value = math.fsum([d.weight * d.contribution for d in drivers]) if drivers else 0.0
    key_results = inputs.key_results
    at_risk = sum(1 for kr in key_results if kr.at_risk) if key_results else 0
    kr_alignment = (
        ctx.kr_bonus * (len(key_results) - at_risk) + ctx.kr_at_risk_bonus * at_risk
        if key_results
        else 0.0
    )
    company_value = driver_value + kr_alignment

    effort = risk_factor = confidence = job_size = None
    evaluation = inputs.evaluation
    if evaluation is not None:
        if evaluation.effort is not None:
            effort = max(float(evaluation.effort), ctx.min_effort)
        if evaluation.risk is not None:
            risk_factor = ctx.risk_factors.get(evaluation.risk)
        confidence = evaluation.confidence
        if effort is not None and risk_factor is not None:
            job_size = effort * risk_factor
    ease = inputs.ease
    if ease is None and job_size is not None:
        ease = 10.0 / (1.0 + job_size)

    reach = inputs.reach
    time_criticality = inputs.time_criticality
    risk_reduction = inputs.risk_reduction
    values = {
        "user_value": user_value,
        "reach": float(stakeholders + len(anonymous)) if reach is None else reach,
        "impact": impact,
        "driver_value": driver_value,
        "kr_alignment": kr_alignment,
        "company_value": company_value,
        "value": user_value + company_value,
        "effort": effort,
        "risk_factor": risk_factor,
        "job_size": job_size,
        "ease": ease,
        "confidence": confidence,
        "time_criticality": float(at_risk) if time_criticality is None else time_criticality,
        "risk_reduction": company_value if risk_reduction is None else risk_reduction,
    }
    if detail:
        values["_counted"] = len(best) + len(anonymous)
        values["_stakeholders"] = stakeholders
        values["_anonymous"] = len(anonymous)
        values["_demand_weight"] = demand_weight
        values["_at_risk"] = at_risk
    return values


def _column_values(columns: FeatureColumns, ctx: _Context) -> dict[str, np.ndarray]:
    """``_term_values`` of many features at once, NaN where a term is missing: the same
    operations on the same doubles, element by element, so every value is bit for bit the one
    ``_term_values`` computes for that feature's ``FeatureInputs``."""
    user_value = np.asarray(columns.user_value, dtype=np.float64)
    demand_weight = np.asarray(columns.demand_weight, dtype=np.float64)
    key_results = np.asarray(columns.key_results, dtype=np.float64)
    at_risk = np.asarray(columns.at_risk, dtype=np.float64)
    factors = np.array(
        [*(ctx.risk_factors.get(level, math.nan) for level in RISK_LEVELS), math.nan]
    )
    risk = np.asarray(columns.risk, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        impact = np.where(demand_weight > 0, user_value / demand_weight, math.nan)
        kr_alignment = np.where(
            key_results > 0,
            ctx.kr_bonus * (key_results - at_risk) + ctx.kr_at_risk_bonus * at_risk,
            0.0,
        )
        company_value = np.asarray(columns.driver_value, dtype=np.float64) + kr_alignment
        effort = np.maximum(np.asarray(columns.effort, dtype=np.float64), ctx.min_effort)
        risk_factor = factors[np.where((risk >= 0) & (risk < len(RISK_LEVELS)), risk, -1)]
        job_size = effort * risk_factor
        ease = 10.0 / (1.0 + job_size)
    return {
        "user_value": user_value,
        "reach": np.asarray(columns.reach, dtype=np.float64),
        "impact": impact,
        "driver_value": np.asarray(columns.driver_value, dtype=np.float64),
        "kr_alignment": kr_alignment,
        "company_value": company_value,
        "value": user_value + company_value,
        "effort": effort,
        "risk_factor": risk_factor,
        "job_size": job_size,
        "ease": ease,
        "confidence": np.asarray(columns.confidence, dtype=np.float64),
        "time_criticality": at_risk,
        "risk_reduction": company_value,
    }


# The public terms in a fixed order: how a feature's latest terms are stored (`pack_terms`).
TERM_NAMES: tuple[str, ...] = (
    "user_value",
    "reach",
    "impact",
    "driver_value",
    "kr_alignment",
    "company_value",
    "value",
    "effort",
    "risk_factor",
    "job_size",
    "ease",
    "confidence",
    "time_criticality",
    "risk_reduction",
)
TERMS_DTYPE = np.dtype(("<f8", (len(TERM_NAMES),)))  # one feature's packed terms


def pack_terms(values: Mapping[str, float | None]) -> bytes:
    """The terms named in TERM_NAMES as little-endian doubles, NaN for a missing one."""
    row = [values.get(name) for name in TERM_NAMES]
    return np.array([math.nan if v is None else v for v in row], dtype="<f8").tobytes()


def unpack_terms(data: bytes | memoryview | None) -> dict[str, float | None]:
    """`pack_terms` read back: each term by name, None where it was missing (or not finite)."""
    if not data:
        return {}
    numbers = np.frombuffer(bytes(data), dtype="<f8").tolist()
    return {
        name: value if math.isfinite(value) else None
        for name, value in zip(TERM_NAMES, numbers, strict=False)
    }


class _Definition(NamedTuple):
    formula: str  # how the term is defined, for display
    depends: tuple[str, ...] = ()  # the terms it is computed from
    parts: tuple[str, ...] = ()  # the term is the sum of these (for shares)


_DEFINITIONS: dict[str, _Definition] = {
    "user_value": _Definition(
        "Σ importance × segment weight × stakeholder weight × 2^(−age / half-life)"
    ),
    "reach": _Definition("distinct stakeholders who asked"),
    "impact": _Definition("user_value / Σ weights"),
    "driver_value": _Definition("Σ driver weight × contribution"),
    "kr_alignment": _Definition("Σ key-result bonus"),
    "company_value": _Definition(
        "driver_value + kr_alignment",
        ("driver_value", "kr_alignment"),
        ("driver_value", "kr_alignment"),
    ),
    "value": _Definition(
        "user_value + company_value",
        ("user_value", "company_value"),
        ("user_value", "company_value"),
    ),
    "effort": _Definition("latest evaluation's effort, at least the minimum"),
    "risk_factor": _Definition("factor for the latest evaluation's risk"),
    "job_size": _Definition("effort × risk_factor", ("effort", "risk_factor")),
    "ease": _Definition("10 / (1 + job_size)", ("job_size",)),
    "confidence": _Definition("latest evaluation's confidence"),
    "time_criticality": _Definition("key results at risk"),
    "risk_reduction": _Definition("company_value", ("company_value",), ("company_value",)),
}
_OVERRIDES = ("user_value", "reach", "impact", "ease", "time_criticality", "risk_reduction")


def _needed(names: Iterable[str]) -> list[str]:
    """``names`` and everything they depend on, in computation order."""
    wanted: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name not in wanted:
            wanted.add(name)
            stack.extend(_DEFINITIONS[name].depends)
    return [name for name in _DEFINITIONS if name in wanted]


def _explain(name: str, inputs: FeatureInputs, ctx: _Context, vals: _Values) -> dict[str, Any]:
    """What a term was computed from, for display."""
    if name in _OVERRIDES and getattr(inputs, name) is not None:
        return {"given": getattr(inputs, name)}
    evaluation = inputs.evaluation
    if name == "user_value":
        return {
            "insights": len(inputs.demand),
            "counted": vals["_counted"],
            "half_life_days": ctx.half_life_days,
        }
    if name == "reach":
        return {
            "stakeholders": vals["_stakeholders"],
            "insights_without_stakeholder": vals["_anonymous"],
        }
    if name == "impact":
        return {"user_value": vals["user_value"], "weight": vals["_demand_weight"]}
    if name == "driver_value":
        by_driver: dict[str, Any] = {}
        for d in inputs.drivers:
            by_driver[d.name] = by_driver.get(d.name, 0.0) + d.weight * d.contribution
        return by_driver
    if name == "kr_alignment":
        by_kr: dict[str, Any] = {}
        for kr in inputs.key_results:
            by_kr[kr.name] = by_kr.get(kr.name, 0.0) + _kr_bonus(ctx, kr)
        return by_kr
    if name == "effort":
        return {"estimate": evaluation and evaluation.effort, "minimum": ctx.min_effort}
    if name == "risk_factor":
        return {"risk": evaluation and evaluation.risk}
    if name == "confidence":
        return {"confidence": evaluation and evaluation.confidence}
    if name == "time_criticality":
        return {"key_results_at_risk": vals["_at_risk"]}
    return {dep: vals[dep] for dep in _DEFINITIONS[name].depends}


def _numerator_parts(node: Node) -> list[tuple[str, float]] | None:
    """The terms summed in the formula's numerator with their signs, or None if it is no sum."""
    while isinstance(node, Binary) and node.op == "/":
        node = node.left
    parts: list[tuple[str, float]] = []

    def walk(node: Node, sign: float) -> bool:
        if isinstance(node, Name):
            parts.append((node.name, sign))
            return True
        if isinstance(node, Unary):
            return walk(node.operand, -sign)
        if isinstance(node, Binary) and node.op in "+-":
            return walk(node.left, sign) and walk(node.right, -sign if node.op == "-" else sign)
        return False

    return parts if walk(node, 1.0) else None


_Columns = Mapping[str, np.ndarray]
_Vector = Callable[[_Columns], Any]


def _vectorize(node: Node) -> _Vector | None:
    """``node`` as numpy operations over columns of term values, NaN meaning undefined, giving
    exactly what ``quarterdeck.lib.formula`` computes for each element; None for the operations
    whose numpy forms may round differently from Python's (powers, logarithms, square roots)
    or order equal values differently (min, max)."""
    if isinstance(node, Number):
        constant = node.value
        return lambda columns: constant
    if isinstance(node, Name):
        name = node.name
        return lambda columns: columns[name]
    if isinstance(node, Unary):
        operand = _vectorize(node.operand)
        return None if operand is None else lambda columns: -operand(columns)
    if isinstance(node, Binary):
        left, right = _vectorize(node.left), _vectorize(node.right)
        if left is None or right is None or node.op not in "+-*/":
            return None
        if node.op == "+":
            return lambda columns: np.add(left(columns), right(columns))
        if node.op == "-":
            return lambda columns: np.subtract(left(columns), right(columns))
        if node.op == "*":
            return lambda columns: np.multiply(left(columns), right(columns))

        def divide(columns: _Columns) -> Any:
            denominator = right(columns)
            return np.where(denominator != 0, np.divide(left(columns), denominator), math.nan)

        return divide
    if isinstance(node, Call):
        args = [_vectorize(arg) for arg in node.args]
        if any(arg is None for arg in args):
            return None
        if node.function == "abs":
            (x,) = args
            return lambda columns: np.abs(x(columns))
        if node.function == "if_missing":
            x, default = args
            return lambda columns: np.where(np.isnan(x(columns)), default(columns), x(columns))
        if node.function == "clamp":
            x, lo, hi = args

            def clamp(columns: _Columns) -> Any:
                value, low, high = x(columns), lo(columns), hi(columns)
                inside = np.where(value < low, low, np.where(value > high, high, value))
                undefined = np.logical_not(np.less_equal(low, high)) | np.isnan(value)
                return np.where(undefined, math.nan, inside)

            return clamp
    return None


# --- scoring --------------------------------------------------------------------------------------


class Scorer:
    """A framework (or formula) and parameters, compiled once to score many features.

    ``Scorer()`` scores value / effort with default parameters,
    ``Scorer("custom", "value / effort")`` a formula, and
    ``Scorer.from_config(ScoringConfig.from_dict(workspace.scoring))`` a workspace's settings.
    """

    def __init__(
        self,
        framework: str = DEFAULT_FRAMEWORK,
        formula: str | Formula | None = None,
        params: ScoringParams | None = None,
    ) -> None:
        params = params or ScoringParams()
        _validate_params(params)
        if framework == CUSTOM:
            if formula is None:
                raise FormulaError("formula is empty at position 0", 0)
            # A Formula parsed elsewhere is parsed again, to check it against these terms.
            source = formula.source if isinstance(formula, Formula) else formula
            self.formula = parse(source, TERMS)
        elif framework in FRAMEWORKS:
            self.formula = _builtin(framework)
        else:
            raise ConfigError("framework", f"unknown framework {framework!r}")
        self.framework = framework
        self.params = params
        self._context = _Context.of(params)
        self._shown = _needed(self.formula.terms)
        self._numerator = _numerator_parts(self.formula.tree)
        self._vector = _vectorize(self.formula.tree)

    @classmethod
    def from_config(cls, config: ScoringConfig) -> Scorer:
        validate_config(config)
        formula = config.formula if config.framework == CUSTOM else None
        return cls(config.framework, formula, config.params)

    def total(self, inputs: FeatureInputs) -> float | None:
        """The total alone: the fast path for ranking."""
        return self.formula.evaluate(_term_values(inputs, self._context))

    def values(self, inputs: FeatureInputs) -> dict[str, Any]:
        """Every named term of one feature by name (``None`` where missing), without the total:
        ``self.formula.evaluate(values)`` gives it. The ranking path, like ``total``."""
        return _term_values(inputs, self._context)

    def totals(self, many: Iterable[FeatureInputs]) -> list[float | None]:
        evaluate, ctx = self.formula.evaluate, self._context
        return [evaluate(_term_values(inputs, ctx)) for inputs in many]

    def column_values(self, columns: FeatureColumns) -> dict[str, np.ndarray]:
        """Every named term of many features, one array per term (NaN where missing): at each
        position exactly what ``values`` gives for that feature."""
        return _column_values(columns, self._context)

    def column_totals(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """The total of every feature of ``column_values`` (NaN where ``total`` is None)."""
        size = len(values["user_value"])
        if self._vector is None:  # evaluated feature by feature, as ``total`` does
            names = sorted(self.formula.terms)
            rows = zip(*(values[name].tolist() for name in names), strict=True)
            evaluate = self.formula.evaluate
            totals = [evaluate(dict(zip(names, row, strict=True))) for row in rows]
            return np.array([math.nan if t is None else t for t in totals], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            result = np.broadcast_to(np.asarray(self._vector(values), dtype=np.float64), size)
        return np.where(np.isfinite(result), result, math.nan)

    def score(self, inputs: FeatureInputs) -> Score:
        """The total with every term, its inputs and its share."""
        ctx = self._context
        vals = _term_values(inputs, ctx, detail=True)
        total = self.formula.evaluate(vals)
        names = self._shown
        shares = self._shares(vals, inputs) if total is not None else {}
        terms = [
            Term(
                name=name,
                value=vals[name],
                inputs=_explain(name, inputs, ctx, vals),
                share=shares.get(name),
                formula=_term_formula(name, inputs),
            )
            for name in names
        ]
        missing = [name for name in names if vals[name] is None]
        return Score(self.framework, total, terms, missing, self.formula.source)

    def score_many(self, many: Iterable[FeatureInputs]) -> list[Score]:
        return [self.score(inputs) for inputs in many]

    def _shares(self, vals: _Values, inputs: FeatureInputs) -> dict[str, float]:
        if self._numerator is None:
            return {}
        numerator = math.fsum([sign * vals[name] for name, sign in self._numerator])
        if numerator == 0:
            return {}
        shares: dict[str, float] = {}
        stack = list(reversed(self._numerator))
        while stack:
            name, sign = stack.pop()
            if name in shares or vals[name] is None:
                continue
            shares[name] = sign * vals[name] / numerator
            parts = _DEFINITIONS[name].parts
            if name in _OVERRIDES and getattr(inputs, name) is not None:
                parts = ()
            stack.extend((part, sign) for part in reversed(parts))
        return shares


def _term_formula(name: str, inputs: FeatureInputs) -> str:
    if name in _OVERRIDES and getattr(inputs, name) is not None:
        return "given"
    return _DEFINITIONS[name].formula


_BUILTINS: dict[str, Formula] = {}


def _builtin(framework: str) -> Formula:
    if framework not in _BUILTINS:
        _BUILTINS[framework] = parse(FRAMEWORKS[framework], TERMS)
    return _BUILTINS[framework]


def compute_score(
    inputs: FeatureInputs,
    framework: str = DEFAULT_FRAMEWORK,
    formula: str | Formula | None = None,
    params: ScoringParams | None = None,
) -> Score:
    """Score one feature; ``formula`` is required (and only used) for ``framework="custom"``."""
    return Scorer(framework, formula, params).score(inputs)


def score_many(
    many: Iterable[FeatureInputs],
    framework: str = DEFAULT_FRAMEWORK,
    formula: str | Formula | None = None,
    params: ScoringParams | None = None,
) -> list[Score]:
    """Full breakdowns for many features, parsing the formula once."""
    return Scorer(framework, formula, params).score_many(many)


def score_totals(
    many: Iterable[FeatureInputs],
    framework: str = DEFAULT_FRAMEWORK,
    formula: str | Formula | None = None,
    params: ScoringParams | None = None,
) -> list[float | None]:
    """Totals only, for ranking many features (see "Speed" above)."""
    return Scorer(framework, formula, params).totals(many)
