"""Feature scoring: term definitions, frameworks, explanations, settings and properties."""

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quarterdeck.lib.formula import FormulaError, parse
from quarterdeck.strategy.scoring import (
    FRAMEWORKS,
    RISK_LEVELS,
    TERMS,
    ConfigError,
    DemandItem,
    DriverContribution,
    EvaluationInfo,
    FeatureColumns,
    FeatureInputs,
    KeyResultAlignment,
    Scorer,
    ScoringConfig,
    ScoringParams,
    compute_score,
    score_many,
    score_totals,
    validate_config,
)

EVALUATED = EvaluationInfo(effort=2.0, risk="medium", confidence=0.8)


def feature(**fields) -> FeatureInputs:
    fields.setdefault("evaluation", EVALUATED)
    return FeatureInputs(**fields)


def values(score) -> dict:
    return {term.name: term.value for term in score.terms}


# --- terms ---------------------------------------------------------------------------------------


def test_default_framework_is_value_over_risk_adjusted_effort():
    inputs = feature(
        demand=[DemandItem(3, segment_weight=2.0, stakeholder_weight=1.5, stakeholder_key="ann")],
        drivers=[DriverContribution("Acquisition", weight=2.0, contribution=3)],
        key_results=[KeyResultAlignment("Absenteeism -20%", at_risk=False)],
    )
    score = compute_score(inputs)
    assert score.framework == "value_effort"
    assert score.formula == "value / (effort * risk_factor)"
    v = values(score)
    assert v["user_value"] == 9.0  # 3 × 2.0 × 1.5, captured today
    assert v["driver_value"] == 6.0
    assert v["kr_alignment"] == 1.0
    assert v["company_value"] == 7.0
    assert v["value"] == 16.0
    assert v["effort"] == 2.0
    assert v["risk_factor"] == 1.25
    assert score.total == pytest.approx(16.0 / 2.5)
    assert score.missing == []


def test_recency_halves_demand_every_half_life():
    inputs = feature(demand=[DemandItem(2, age_days=180, stakeholder_key="ann")])
    assert values(compute_score(inputs))["user_value"] == pytest.approx(1.0)
    no_decay = ScoringParams(half_life_days=None)
    assert values(compute_score(inputs, params=no_decay))["user_value"] == 2.0
    future = feature(demand=[DemandItem(2, age_days=-30)])
    assert values(compute_score(future))["user_value"] == 2.0


def test_a_stakeholder_counts_once_per_need_with_their_strongest_insight():
    inputs = feature(
        demand=[
            DemandItem(1, stakeholder_key="ann", need_key="n1"),
            DemandItem(3, stakeholder_key="ann", need_key="n1"),
            DemandItem(2, stakeholder_key="ann", need_key="n2"),
            DemandItem(2, stakeholder_key="bob", need_key="n1"),
            DemandItem(1),  # anonymous insights each count
            DemandItem(1),
        ]
    )
    score = compute_score(inputs, "custom", "user_value + reach + impact")
    assert values(score)["user_value"] == 3 + 2 + 2 + 1 + 1
    assert values(score)["reach"] == 4  # ann, bob and two anonymous
    assert values(score)["impact"] == pytest.approx(9 / 5)
    assert score.term("user_value").inputs == {"insights": 6, "counted": 5, "half_life_days": 180.0}


def test_no_demand_is_zero_user_value_but_missing_impact():
    assert values(compute_score(feature()))["user_value"] == 0
    score = compute_score(feature(), "rice")
    assert values(score)["reach"] == 0
    assert values(score)["impact"] is None
    assert score.total is None
    assert score.missing == ["impact"]


def test_missing_effort_makes_the_total_missing():
    score = compute_score(FeatureInputs(demand=[DemandItem(3)]))
    assert score.total is None
    assert "effort" in score.missing
    assert "risk_factor" in score.missing
    assert score.term("effort").value is None  # missing, not zero


def test_tiny_effort_is_raised_to_the_minimum():
    inputs = feature(demand=[DemandItem(1)], evaluation=EvaluationInfo(0.0, "low", 1.0))
    score = compute_score(inputs)
    assert score.total == pytest.approx(1 / 0.1)
    assert score.term("effort").inputs == {"estimate": 0.0, "minimum": 0.1}


def test_risk_factors_are_configurable():
    params = ScoringParams(risk_factors={"low": 1.0, "medium": 2.0, "high": 4.0})
    inputs = feature(demand=[DemandItem(2)], evaluation=EvaluationInfo(1.0, "high", None))
    assert compute_score(inputs, params=params).total == pytest.approx(0.5)


def test_key_results_at_risk_weigh_more_and_are_time_critical():
    inputs = feature(
        key_results=[KeyResultAlignment("a", at_risk=True), KeyResultAlignment("b")],
    )
    score = compute_score(inputs, "wsjf")
    assert values(score)["kr_alignment"] == 3.0
    assert values(score)["time_criticality"] == 1.0
    assert score.term("kr_alignment").inputs == {"a": 2.0, "b": 1.0}


def test_given_numbers_override_derived_terms():
    inputs = feature(reach=1000, impact=0.5, ease=7, time_criticality=3, risk_reduction=2)
    score = compute_score(inputs, "custom", "reach + impact + ease + time_criticality")
    assert score.total == 1010.5
    assert score.term("reach").inputs == {"given": 1000}
    assert score.term("reach").formula == "given"
    assert values(compute_score(inputs, "wsjf"))["risk_reduction"] == 2


def test_every_term_is_known_to_formulas():
    inputs = feature(demand=[DemandItem(2, stakeholder_key="a")], drivers=[], key_results=[])
    formula = " + ".join(TERMS)
    score = compute_score(inputs, "custom", formula)
    assert [term.name for term in score.terms] == list(TERMS)
    assert score.total == pytest.approx(math.fsum(v for v in values(score).values()))


# --- frameworks ----------------------------------------------------------------------------------


def combine(framework: str, v: dict) -> float:
    """Each framework's formula, written out by hand over the terms of its breakdown."""
    if framework == "value_effort":
        return v["value"] / (v["effort"] * v["risk_factor"])
    if framework == "rice":
        return v["reach"] * v["impact"] * v["confidence"] / v["effort"]
    if framework == "ice":
        return v["impact"] * v["confidence"] * v["ease"]
    return (v["user_value"] + v["time_criticality"] + v["risk_reduction"]) / v["job_size"]


weights = st.floats(min_value=0, max_value=10, allow_nan=False)
demand_items = st.builds(
    DemandItem,
    importance=st.integers(1, 3),
    segment_weight=weights,
    stakeholder_weight=weights,
    age_days=st.floats(min_value=-10, max_value=2000),
    stakeholder_key=st.one_of(st.none(), st.sampled_from(["ann", "bob", "cy", "dee"])),
    need_key=st.one_of(st.none(), st.sampled_from(["n1", "n2"])),
)
drivers = st.builds(
    DriverContribution,
    name=st.sampled_from(["Acquisition", "Engagement", "Placement", "Automation"]),
    weight=weights,
    contribution=st.integers(0, 3),
)
key_results = st.builds(
    KeyResultAlignment, name=st.sampled_from(["kr1", "kr2"]), at_risk=st.booleans()
)
evaluations = st.builds(
    EvaluationInfo,
    effort=st.floats(min_value=0, max_value=200),
    risk=st.sampled_from(["low", "medium", "high"]),
    confidence=st.floats(min_value=0, max_value=1),
)
features = st.builds(
    FeatureInputs,
    demand=st.lists(demand_items, max_size=8),
    drivers=st.lists(drivers, max_size=4),
    key_results=st.lists(key_results, max_size=3),
    evaluation=st.one_of(st.none(), evaluations),
)
evaluated_features = st.builds(
    FeatureInputs,
    demand=st.lists(demand_items, max_size=8),
    drivers=st.lists(drivers, max_size=4),
    key_results=st.lists(key_results, max_size=3),
    evaluation=evaluations,
)
props = settings(max_examples=200, deadline=None)


@props
@given(features, st.sampled_from(sorted(FRAMEWORKS)))
def test_terms_combine_to_the_total(inputs, framework):
    score = compute_score(inputs, framework)
    v = values(score)
    assert v.keys() <= set(TERMS)
    if score.total is None:
        assert score.missing
        assert all(v[name] is None for name in score.missing)
        return
    assert score.missing == []
    assert score.total == pytest.approx(combine(framework, v), rel=1e-9, abs=1e-12)
    if "value" in v:
        assert v["value"] == pytest.approx(v["user_value"] + v["company_value"])
    if "company_value" in v:
        assert v["company_value"] == pytest.approx(v["driver_value"] + v["kr_alignment"])
    if "job_size" in v:
        assert v["job_size"] == pytest.approx(v["effort"] * v["risk_factor"])


@props
@given(evaluated_features)
def test_shares_split_the_value(inputs):
    score = compute_score(inputs)
    share = {term.name: term.share for term in score.terms}
    if not values(score)["value"]:
        assert set(share.values()) == {None}
        return
    assert share["value"] == 1.0
    assert share["user_value"] + share["company_value"] == pytest.approx(1.0)
    assert share["driver_value"] + share["kr_alignment"] == pytest.approx(share["company_value"])
    assert share["effort"] is None and share["risk_factor"] is None


@props
@given(evaluated_features)
def test_wsjf_shares_split_the_numerator(inputs):
    score = compute_score(inputs, "wsjf")
    share = {term.name: term.share for term in score.terms}
    if share["user_value"] is None:
        return
    parts = share["user_value"] + share["time_criticality"] + share["risk_reduction"]
    assert parts == pytest.approx(1.0)


@props
@given(features, st.sampled_from(sorted(FRAMEWORKS)))
def test_a_custom_formula_written_like_a_framework_scores_the_same(inputs, framework):
    builtin = compute_score(inputs, framework)
    custom = compute_score(inputs, "custom", FRAMEWORKS[framework])
    assert custom.total == builtin.total
    assert custom.missing == builtin.missing
    assert custom.terms == builtin.terms


@props
@given(features, demand_items)
def test_more_demand_never_lowers_the_score(inputs, item):
    more = dataclasses.replace(inputs, demand=[*inputs.demand, item])
    for framework in ("value_effort", "wsjf"):
        before, after = score_totals([inputs, more], framework)
        assert (before is None) == (after is None)
        if before is not None:
            assert after >= before


@props
@given(features, drivers, st.integers(0, 3), st.integers(0, 3))
def test_a_stronger_driver_contribution_never_lowers_the_score(inputs, driver, low, high):
    low, high = sorted((low, high))
    weaker = dataclasses.replace(
        inputs, drivers=[*inputs.drivers, dataclasses.replace(driver, contribution=low)]
    )
    stronger = dataclasses.replace(
        inputs, drivers=[*inputs.drivers, dataclasses.replace(driver, contribution=high)]
    )
    for framework in ("value_effort", "wsjf"):
        before, after = score_totals([weaker, stronger], framework)
        if before is not None:
            assert after >= before


@props
@given(evaluated_features, st.floats(0, 500), st.floats(0, 500))
def test_more_effort_never_raises_the_score(inputs, low, high):
    low, high = sorted((low, high))
    evaluation = inputs.evaluation

    def with_effort(effort: float) -> FeatureInputs:
        return dataclasses.replace(
            inputs, evaluation=dataclasses.replace(evaluation, effort=effort)
        )

    for framework in sorted(FRAMEWORKS):
        cheap, costly = score_totals([with_effort(low), with_effort(high)], framework)
        if cheap is not None:
            assert costly is not None
            assert costly <= cheap


@props
@given(st.lists(features, max_size=10), st.sampled_from(sorted(FRAMEWORKS)))
def test_batch_scoring_matches_one_by_one(many, framework):
    totals = score_totals(many, framework)
    scores = score_many(many, framework)
    assert totals == [score.total for score in scores]
    assert totals == [compute_score(inputs, framework).total for inputs in many]


def test_undefined_custom_formula_has_no_total_and_nothing_missing():
    score = compute_score(feature(), "custom", "log(user_value)")
    assert score.total is None
    assert score.missing == []


def test_if_missing_gives_a_custom_formula_a_fallback():
    score = compute_score(
        FeatureInputs(demand=[DemandItem(2)]), "custom", "value / if_missing(effort, 1)"
    )
    assert score.total == 2
    assert score.missing == ["effort"]


def test_score_as_dict_is_json():
    score = compute_score(feature(demand=[DemandItem(2, stakeholder_key="x")]))
    data = json.loads(json.dumps(score.as_dict()))
    assert data["total"] == score.total
    assert [t["name"] for t in data["terms"]] == [t.name for t in score.terms]


def test_scorer_is_reusable():
    scorer = Scorer("ice")
    inputs = feature(demand=[DemandItem(3)])
    assert scorer.total(inputs) == scorer.score(inputs).total == pytest.approx(3 * 0.8 * 10 / 3.5)


# --- settings ------------------------------------------------------------------------------------


def test_config_round_trips_through_json():
    config = ScoringConfig(
        framework="custom",
        formula="value / effort",
        params=ScoringParams(half_life_days=90, risk_factors={"low": 1, "medium": 2, "high": 3}),
    )
    again = ScoringConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert ScoringConfig.from_dict({}) == ScoringConfig()
    assert ScoringConfig.from_dict(None) == ScoringConfig()


def test_validate_config_names_the_formula_problem_and_position():
    with pytest.raises(FormulaError) as info:
        validate_config(ScoringConfig(framework="custom", formula="value / efort"))
    assert info.value.position == 8
    assert "unknown term 'efort' at position 8 (did you mean 'effort'?)" in info.value.message


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (ScoringConfig(framework="moscow"), "framework"),
        (ScoringConfig(params=ScoringParams(half_life_days=0)), "half_life_days"),
        (ScoringConfig(params=ScoringParams(risk_factors={"low": 1})), "risk_factors"),
        (
            ScoringConfig(params=ScoringParams(risk_factors={"low": 1, "medium": 0, "high": 2})),
            "risk_factors",
        ),
        (ScoringConfig(params=ScoringParams(min_effort=0)), "min_effort"),
        (ScoringConfig(params=ScoringParams(kr_bonus=-1)), "kr_bonus"),
        (ScoringConfig(params=ScoringParams(kr_at_risk_bonus=math.inf)), "kr_at_risk_bonus"),
    ],
)
def test_validate_config_rejects_bad_settings(config, field):
    with pytest.raises(ConfigError) as info:
        validate_config(config)
    assert info.value.field == field


def test_custom_framework_needs_a_formula():
    with pytest.raises(FormulaError, match="formula is empty"):
        validate_config(ScoringConfig(framework="custom"))
    with pytest.raises(FormulaError, match="formula is empty"):
        Scorer("custom")


def test_a_draft_formula_is_validated_beside_a_builtin_framework():
    with pytest.raises(FormulaError):
        validate_config(ScoringConfig(framework="rice", formula="reach *"))
    validate_config(ScoringConfig(framework="rice", formula="reach * 2"))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"framwork": "rice"}, "framwork"),
        ({"half_life_days": "soon"}, "half_life_days"),
        ({"min_effort": True}, "min_effort"),
        ({"risk_factors": [1, 2, 3]}, "risk_factors"),
        ({"framework": 3}, "framework"),
        ({"formula": ["value"]}, "formula"),
    ],
)
def test_from_dict_rejects_malformed_settings(data, field):
    with pytest.raises(ConfigError) as info:
        ScoringConfig.from_dict(data)
    assert info.value.field == field


def test_scorer_from_config_uses_the_formula_only_for_custom():
    rice = Scorer.from_config(ScoringConfig(framework="rice", formula="value"))
    assert rice.formula.source == FRAMEWORKS["rice"]
    custom = Scorer.from_config(ScoringConfig(framework="custom", formula="value"))
    assert custom.total(feature(demand=[DemandItem(2)])) == 2


def test_a_formula_over_other_terms_is_refused():
    elsewhere = parse("value + bonus", {"value", "bonus"})
    with pytest.raises(FormulaError, match="unknown term 'bonus' at position 8"):
        Scorer("custom", elsewhere)


def test_given_user_value_replaces_the_demand_sum_and_weights_impact():
    items = [DemandItem(3, 2.0, 1.0, 0.0, "a", "n"), DemandItem(1, 1.0, 1.0, 0.0, None, "n")]
    derived = Scorer().values(feature(demand=items))
    given = Scorer().values(
        feature(
            user_value=derived["user_value"],
            demand_weight=derived["user_value"] / derived["impact"],
            reach=derived["reach"],
        )
    )
    for name in ("user_value", "reach", "impact", "value"):
        assert given[name] == pytest.approx(derived[name])
    score = compute_score(feature(user_value=4.0, demand_weight=2.0))
    assert score.term("user_value").inputs == {"given": 4.0}
    assert score.term("user_value").formula == "given"
    assert Scorer().values(feature(user_value=4.0, demand_weight=2.0))["impact"] == 2.0


def test_given_user_value_without_weight_leaves_impact_missing():
    assert Scorer().values(feature(user_value=0.0))["impact"] is None


# --- many features at once -----------------------------------------------------------------------

aggregated_features = st.builds(
    FeatureInputs,
    drivers=st.lists(drivers, max_size=4),
    key_results=st.lists(key_results, max_size=3),
    evaluation=st.one_of(
        st.none(),
        evaluations,
        st.builds(
            EvaluationInfo,
            effort=st.floats(min_value=0, max_value=200),
            risk=st.sampled_from(["low", "medium", "high", "severe"]),
            confidence=st.none(),
        ),
    ),
    reach=st.one_of(st.none(), st.integers(0, 20).map(float)),
    user_value=st.one_of(st.none(), st.floats(min_value=0, max_value=100)),
    demand_weight=st.one_of(st.none(), weights),
)
COLUMN_FORMULAS = [
    *FRAMEWORKS.values(),
    "if_missing(confidence, 0.5) * value / effort",
    "clamp(reach, 1, 3) * impact - abs(risk_reduction - 2)",
    "(user_value + 2) * -ease / 0",
    "sqrt(value) / effort",  # evaluated feature by feature
    "max(value, 1) / job_size ^ 2",
]


def columns_of(many: list[FeatureInputs]) -> FeatureColumns:
    """What ranking reads for features whose demand was aggregated beforehand."""

    def column(values) -> np.ndarray:
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)

    levels = {level: code for code, level in enumerate(RISK_LEVELS)}
    evaluated = [f.evaluation or EvaluationInfo() for f in many]
    return FeatureColumns(
        user_value=column([f.user_value or 0.0 for f in many]),
        demand_weight=column([(f.user_value is not None and f.demand_weight) or 0.0 for f in many]),
        reach=column([f.reach or 0.0 for f in many]),
        driver_value=column(
            [math.fsum(d.weight * d.contribution for d in f.drivers) for f in many]
        ),
        key_results=np.array([len(f.key_results) for f in many]),
        at_risk=np.array([sum(kr.at_risk for kr in f.key_results) for f in many]),
        effort=column([e.effort for e in evaluated]),
        risk=np.array([levels.get(e.risk, -1) for e in evaluated]),
        confidence=column([e.confidence for e in evaluated]),
    )


def same_number(a, b) -> bool:
    """Equal to the last bit, NaN standing for None."""
    return (a is None and math.isnan(b)) or a == b


@props
@given(st.lists(aggregated_features, max_size=12), st.sampled_from(COLUMN_FORMULAS))
def test_column_scoring_equals_scoring_each_feature(many, formula):
    scorer = Scorer("custom", formula)
    values = scorer.column_values(columns_of(many))
    totals = scorer.column_totals(values)
    assert list(values) == list(TERMS) and len(totals) == len(many)
    for i, inputs in enumerate(many):
        expected = scorer.values(inputs)
        assert all(same_number(expected[name], values[name][i]) for name in TERMS)
        assert same_number(scorer.total(inputs), totals[i])
