import datetime as dt
import math

import pytest
from django.utils import timezone

from quarterdeck.backlog.models import Feature
from quarterdeck.strategy import ranking, services
from quarterdeck.strategy.models import FeatureScore, RankChange
from quarterdeck.testing.factories import (
    CheckInFactory,
    DriverFactory,
    EvaluationFactory,
    FeatureDriverFactory,
    FeatureFactory,
    InsightFactory,
    InsightLinkFactory,
    KeyResultFactory,
    NeedFactory,
    ObjectiveFactory,
    StakeholderFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(acme):
    """Two evaluated features: `a` serves a driver, `b` has demand from two stakeholders."""
    driver = DriverFactory(workspace=acme, name="Acquisition", weight=1.0)
    a = FeatureFactory(workspace=acme, title="Referral program")
    b = FeatureFactory(workspace=acme, title="Offline mode")
    FeatureDriverFactory(feature=a, driver=driver, contribution=3)
    EvaluationFactory(feature=a, effort=2, risk="low", confidence=0.8)
    EvaluationFactory(feature=b, effort=2, risk="low", confidence=0.8)
    need = NeedFactory(workspace=acme)
    b.needs.add(need)
    for _ in range(2):
        InsightLinkFactory(need=need, importance=2)
    return {"driver": driver, "a": a, "b": b, "need": need, "ws": acme}


def test_load_inputs_builds_every_feature_in_bulk(setup, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        loaded = ranking.load_inputs(setup["ws"].pk)
    by_id = dict(zip(loaded.ids, loaded.inputs, strict=True))
    a, b = by_id[setup["a"].pk], by_id[setup["b"].pk]
    assert [(d.name, d.weight, d.contribution) for d in a.drivers] == [("Acquisition", 1.0, 3)]
    assert len(b.demand) == 2 and {d.importance for d in b.demand} == {2}
    assert a.evaluation.effort == 2 and a.evaluation.risk == "low"


def test_recompute_writes_scores_demand_and_terms(setup):
    result = ranking.recompute_workspace(setup["ws"])
    assert result.changed == 2
    a = Feature.objects.get(pk=setup["a"].pk)
    b = Feature.objects.get(pk=setup["b"].pk)
    # value / (effort × risk_factor): a = 3 / 2; b = (2 + 2) / 2, barely decayed
    assert a.score == pytest.approx(1.5)
    assert b.score == pytest.approx(2.0, rel=1e-3)
    assert b.demand == pytest.approx(4.0, rel=1e-3) and a.demand == 0
    assert FeatureScore.objects.get(feature=a).terms["driver_value"] == 3
    # a second run changes nothing
    assert ranking.recompute_workspace(setup["ws"]).changed == 0


def test_driver_weight_change_reranks_and_records_why(setup, paula):
    ranking.recompute_workspace(setup["ws"])
    RankChange.objects.all().delete()
    # driver_update calls workspace_changed after commit
    with pytest.MonkeyPatch.context():
        services.driver_update(driver=setup["driver"], weight=3.0, by=paula)
        ranking.workspace_changed(workspace_id=setup["ws"].pk, reason="weight of Acquisition")
    a = Feature.objects.get(pk=setup["a"].pk)
    assert a.score == pytest.approx(4.5)
    change = RankChange.objects.get(feature=a)
    assert (change.old_rank, change.new_rank) == (2, 1)
    assert change.old_score == pytest.approx(1.5) and change.new_score == pytest.approx(4.5)
    assert change.changes["driver_value"] == [3.0, 9.0]
    assert "driver value 3 → 9" in change.reason and "Acquisition" in change.reason
    assert not RankChange.objects.filter(feature=setup["b"]).exists()


def test_driver_update_recomputes_after_commit(setup, paula, django_capture_on_commit_callbacks):
    ranking.recompute_workspace(setup["ws"])
    with django_capture_on_commit_callbacks(execute=True):
        services.driver_update(driver=setup["driver"], weight=2.0, by=paula)
    assert Feature.objects.get(pk=setup["a"].pk).score == pytest.approx(3.0)
    change = RankChange.objects.filter(feature=setup["a"]).first()
    assert "weight of “Acquisition” 1.0 → 2.0" in change.reason


def test_new_insight_link_rescores_the_feature(setup, django_capture_on_commit_callbacks):
    from quarterdeck.insights import services as insight_services

    ranking.recompute_workspace(setup["ws"])
    insight = InsightFactory(workspace=setup["ws"])
    with django_capture_on_commit_callbacks(execute=True):
        insight_services.insight_link(insight=insight, need=setup["need"], importance=3)
    b = Feature.objects.get(pk=setup["b"].pk)
    assert b.demand == pytest.approx(7.0, rel=1e-3)
    change = RankChange.objects.filter(feature=b).first()
    assert "demand" in change.reason and change.changes["user_value"][1] == pytest.approx(
        7.0, rel=1e-3
    )


def test_new_evaluation_rescores_the_feature(setup, paula, django_capture_on_commit_callbacks):
    from quarterdeck.backlog import services as backlog_services

    ranking.recompute_workspace(setup["ws"])
    with django_capture_on_commit_callbacks(execute=True):
        backlog_services.evaluation_create(feature=setup["a"], effort=0.5, risk="low", by=paula)
    a = Feature.objects.get(pk=setup["a"].pk)
    assert a.score == pytest.approx(6.0)
    change = RankChange.objects.filter(feature=a).first()
    assert (change.old_rank, change.new_rank) == (2, 1)
    assert "effort 2 → 0.5" in change.reason


def test_one_loud_stakeholder_counts_once_per_need(acme):
    need = NeedFactory(workspace=acme)
    feature = FeatureFactory(workspace=acme)
    feature.needs.add(need)
    loud = StakeholderFactory(workspace=acme)
    for _ in range(5):
        InsightLinkFactory(need=need, insight=InsightFactory(workspace=acme, stakeholder=loud))
    ranking.recompute_workspace(acme)
    assert Feature.objects.get(pk=feature.pk).demand == pytest.approx(2.0, rel=1e-3)


def test_archived_insights_do_not_count(acme):
    need = NeedFactory(workspace=acme)
    feature = FeatureFactory(workspace=acme)
    feature.needs.add(need)
    InsightLinkFactory(need=need, insight=InsightFactory(workspace=acme, state="archived"))
    ranking.recompute_workspace(acme)
    assert Feature.objects.get(pk=feature.pk).demand == 0


def test_key_result_at_risk_weighs_more(acme):
    feature = FeatureFactory(workspace=acme)
    EvaluationFactory(feature=feature, effort=1, risk="low")
    kr = KeyResultFactory(objective=ObjectiveFactory(workspace=acme))
    feature.key_results.add(kr)
    ranking.recompute_workspace(acme)
    assert Feature.objects.get(pk=feature.pk).score == pytest.approx(1.0)
    CheckInFactory(key_result=kr, value=24, confidence=0.2)
    ranking.features_changed(feature_ids=[feature.pk])
    assert Feature.objects.get(pk=feature.pk).score == pytest.approx(2.0)


def test_missing_effort_leaves_score_empty(acme):
    feature = FeatureFactory(workspace=acme)
    ranking.recompute_workspace(acme)
    feature.refresh_from_db()
    assert feature.score is None
    breakdown = ranking.feature_breakdown(feature)
    assert "effort" in breakdown.missing


def test_workspaces_are_scored_apart(setup, globex):
    other = FeatureFactory(workspace=globex)
    EvaluationFactory(feature=other, effort=1, risk="low")
    ranking.recompute_workspace(setup["ws"])
    assert Feature.objects.get(pk=other.pk).score is None


def test_large_workspace_is_rescored_in_the_background(
    setup, monkeypatch, django_capture_on_commit_callbacks
):
    from types import SimpleNamespace

    from quarterdeck.strategy import tasks

    enqueued = []
    monkeypatch.setattr(ranking, "SYNC_LIMIT", 1)
    monkeypatch.setattr(
        tasks, "rescore_workspace", SimpleNamespace(enqueue=lambda **kw: enqueued.append(kw))
    )
    with django_capture_on_commit_callbacks(execute=True):
        ranking.workspace_changed(workspace_id=setup["ws"].pk, reason="x")
    assert enqueued == [{"workspace_id": setup["ws"].pk, "reason": "x"}]
    assert Feature.objects.get(pk=setup["a"].pk).score is None


def test_rescore_task_is_idempotent(setup):
    from quarterdeck.strategy.tasks import rescore_workspace

    assert rescore_workspace.call(workspace_id=setup["ws"].pk) == 2
    assert rescore_workspace.call(workspace_id=setup["ws"].pk) == 0


def test_old_insights_decay(acme):
    need = NeedFactory(workspace=acme)
    feature = FeatureFactory(workspace=acme)
    feature.needs.add(need)
    old = timezone.now() - dt.timedelta(days=180)
    InsightLinkFactory(
        need=need, importance=2, insight=InsightFactory(workspace=acme, captured_at=old)
    )
    ranking.recompute_workspace(acme)
    assert Feature.objects.get(pk=feature.pk).demand == pytest.approx(1.0, rel=1e-2)


def _anonymous_insight(ws, **kwargs):
    return InsightFactory(workspace=ws, stakeholder=None, segment=None, **kwargs)


def test_near_duplicate_insights_count_once_per_stakeholder(acme):
    need = NeedFactory(workspace=acme)
    feature = FeatureFactory(workspace=acme)
    feature.needs.add(need)
    first = _anonymous_insight(acme)
    InsightLinkFactory(need=need, insight=first, importance=2)
    for _ in range(3):  # anonymous near-duplicates of `first`: the group counts once
        InsightLinkFactory(
            need=need, insight=_anonymous_insight(acme, duplicate_of=first), importance=2
        )
    # a duplicate from a stakeholder still counts for that stakeholder
    InsightLinkFactory(
        need=need,
        insight=InsightFactory(workspace=acme, stakeholder=StakeholderFactory(workspace=acme)),
        importance=3,
    )
    ranking.recompute_workspace(acme)
    assert Feature.objects.get(pk=feature.pk).demand == pytest.approx(2.0 + 3.0, rel=1e-3)
    breakdown = ranking.feature_breakdown(feature)
    assert breakdown.term("user_value").value == pytest.approx(5.0, rel=1e-3)
    assert breakdown.term("user_value").inputs["counted"] == 2


def test_anonymous_group_keeps_its_strongest_insight(acme):
    need = NeedFactory(workspace=acme)
    feature = FeatureFactory(workspace=acme)
    feature.needs.add(need)
    first = _anonymous_insight(acme)
    InsightLinkFactory(need=need, insight=first, importance=1)
    InsightLinkFactory(
        need=need, insight=_anonymous_insight(acme, duplicate_of=first), importance=3
    )
    InsightLinkFactory(need=need, insight=_anonymous_insight(acme), importance=1)  # its own
    ranking.recompute_workspace(acme)
    assert Feature.objects.get(pk=feature.pk).demand == pytest.approx(3.0 + 1.0, rel=1e-3)


@pytest.fixture
def varied(acme):
    """Features with every kind of input: weighted segments and stakeholders, old and new,
    anonymous and duplicate insights, needs shared between features, drivers, key results."""
    from quarterdeck.testing.factories import SegmentFactory

    now = timezone.now()
    heavy = SegmentFactory(workspace=acme, key="employer", weight=2.0)
    light = SegmentFactory(workspace=acme, key="mentor", weight=0.5)
    people = [
        StakeholderFactory(workspace=acme, segment=heavy, weight=3.0),
        StakeholderFactory(workspace=acme, segment=light, weight=1.0),
        StakeholderFactory(workspace=acme, segment=None, weight=1.5),
    ]
    needs = [NeedFactory(workspace=acme) for _ in range(3)]
    driver = DriverFactory(workspace=acme, weight=1.5)
    kr = KeyResultFactory(objective=ObjectiveFactory(workspace=acme))
    features = []
    for i in range(5):
        feature = FeatureFactory(workspace=acme)
        feature.needs.add(needs[i % 3], *(needs[:1] if i == 4 else []))
        if i % 2:
            FeatureDriverFactory(feature=feature, driver=driver, contribution=i % 4)
            feature.key_results.add(kr)
        if i != 3:
            EvaluationFactory(feature=feature, effort=i + 1, risk="medium", confidence=0.7)
        features.append(feature)
    group_head = None
    for n, need in enumerate(needs):
        for j, person in enumerate([*people, people[0], None, None]):
            insight = InsightFactory(
                workspace=acme,
                stakeholder=person,
                segment=light if (person is None and j == 4) else getattr(person, "segment", None),
                captured_at=now - dt.timedelta(days=37 * j + 11 * n),
                duplicate_of=group_head if (person is None and n == 1 and j == 5) else None,
            )
            if person is None and n == 1 and j == 4:
                group_head = insight
            InsightLinkFactory(need=need, insight=insight, importance=1 + (j + n) % 3)
    return features


@pytest.mark.parametrize("framework", ["value_effort", "rice", "wsjf"])
def test_bulk_scores_equal_scores_of_inputs_built_insight_by_insight(acme, varied, framework):
    from quarterdeck.strategy import scoring

    acme.scoring = scoring.ScoringConfig(framework=framework).to_dict()
    acme.save(update_fields=["scoring"])
    ranking.recompute_workspace(acme)
    params = scoring.ScoringParams()
    detailed = ranking.load_inputs(acme.pk, feature_ids=[f.pk for f in varied], detailed=True)
    assert any(len(inputs.demand) > 5 for inputs in detailed.inputs)
    for pk, inputs in zip(detailed.ids, detailed.inputs, strict=True):
        feature = Feature.objects.get(pk=pk)
        expected = scoring.compute_score(inputs, framework, params=params)
        breakdown = ranking.feature_breakdown(feature)
        if expected.total is None:
            assert feature.score is None and breakdown.total is None
        else:
            assert feature.score == pytest.approx(expected.total, rel=1e-6)
            assert breakdown.total == pytest.approx(feature.score, rel=1e-6)
        values = scoring.Scorer(framework, params=params).values(inputs)
        assert feature.demand == pytest.approx(values["user_value"], rel=1e-6)
        for term in breakdown.terms:  # the explanation shows the same terms
            assert term.value == (
                None if values[term.name] is None else pytest.approx(values[term.name], rel=1e-6)
            )
    assert any(Feature.objects.get(pk=pk).score is not None for pk in detailed.ids)


def test_bulk_demand_follows_the_workspace_half_life(acme, varied):
    from quarterdeck.strategy import scoring

    acme.scoring = scoring.ScoringConfig(
        params=scoring.ScoringParams(half_life_days=None)
    ).to_dict()
    acme.save(update_fields=["scoring"])
    ranking.recompute_workspace(acme)
    detailed = ranking.load_inputs(acme.pk, feature_ids=[varied[0].pk], detailed=True)
    no_decay = scoring.Scorer(params=scoring.ScoringParams(half_life_days=None))
    varied[0].refresh_from_db()
    assert varied[0].demand == pytest.approx(no_decay.values(detailed.inputs[0])["user_value"])


def test_recompute_workspace_queries_do_not_grow_with_features(
    varied, acme, django_assert_max_num_queries
):
    ranking.recompute_workspace(acme)
    with django_assert_max_num_queries(15):  # reads only (and SET LOCAL on PostgreSQL)
        assert ranking.recompute_workspace(acme).changed == 0


def test_aggregated_inputs_carry_the_demand_totals_of_the_detailed_ones(acme, varied):
    from quarterdeck.strategy import scoring

    ids = [f.pk for f in varied]
    detailed = ranking.load_inputs(acme.pk, feature_ids=ids, detailed=True)
    for loaded in (
        ranking.load_inputs(acme.pk, feature_ids=ids, aggregated=True),
        ranking.load_inputs(acme.pk, aggregated=True),
        ranking.load_inputs(acme.pk, aggregated=True, open_only=True),
    ):
        by_id = dict(zip(loaded.ids, loaded.inputs, strict=True))
        for pk, inputs in zip(detailed.ids, detailed.inputs, strict=True):
            aggregated = by_id[pk]
            assert aggregated.demand == () and aggregated.user_value is not None
            expected = scoring.Scorer().values(inputs)
            got = scoring.Scorer().values(aggregated)
            for name in ("user_value", "reach", "impact"):
                assert got[name] == pytest.approx(expected[name], rel=1e-6)


def test_aggregated_inputs_of_a_feature_without_needs_have_no_demand(setup):
    loaded = ranking.load_inputs(setup["ws"].pk, feature_ids=[setup["a"].pk], aggregated=True)
    values = ranking.scorer_for(setup["ws"]).values(loaded.inputs[0])
    assert values["user_value"] == 0 and values["reach"] == 0 and values["impact"] is None


@pytest.fixture
def mixed(acme, varied):
    """`varied` and more: a feature serving three drivers, one evaluated twice, one shipped."""
    for i in range(3):
        driver = DriverFactory(workspace=acme, name=f"Driver {i}", weight=0.1 * (i + 1))
        FeatureDriverFactory(feature=varied[0], driver=driver, contribution=3)
    EvaluationFactory(feature=varied[1], effort=0.5, risk="high", confidence=0.3)  # the latest
    varied[2].status = "shipped"
    varied[2].save(update_fields=["status"])
    return varied


@pytest.mark.parametrize("framework", ["value_effort", "rice", "wsjf"])
def test_workspace_rescore_gives_each_feature_exactly_its_own_score(
    acme, mixed, framework, monkeypatch
):
    from quarterdeck.strategy import scoring

    acme.scoring = scoring.ScoringConfig(framework=framework).to_dict()
    acme.save(update_fields=["scoring"])
    now = timezone.now()
    monkeypatch.setattr(ranking.timezone, "now", lambda: now)
    ranking.recompute_workspace(acme)
    scorer = ranking.scorer_for(acme)
    loaded = ranking.load_inputs(acme.pk, now=now, params=scorer.params, aggregated=True)
    stored = {f.pk: f for f in Feature.objects.filter(workspace=acme)}
    terms = {s.feature_id: s for s in FeatureScore.objects.all()}
    for pk, inputs in zip(loaded.ids, loaded.inputs, strict=True):
        values, total = ranking.term_values(scorer, inputs)
        assert stored[pk].score == ranking._clean(total)  # to the last bit
        assert stored[pk].demand == (ranking._clean(values["user_value"]) or 0.0)
        assert terms[pk].terms == ranking._public_terms(values)


def test_workspace_rescore_records_the_ranks_of_the_backlog_order(acme, mixed):
    ranking.recompute_workspace(acme)
    loaded = ranking.load_inputs(acme.pk)
    expected = ranking.ranks(loaded.ids, loaded.statuses, loaded.old_scores)
    changes = RankChange.objects.filter(workspace=acme)
    scored = [pk for pk, s in zip(loaded.ids, loaded.old_scores, strict=True) if s is not None]
    assert sorted(changes.values_list("feature_id", flat=True)) == sorted(scored)
    for change in changes:
        assert change.old_rank is None and change.new_rank == expected.get(change.feature_id)
    assert RankChange.objects.get(feature=mixed[2]).new_rank is None  # shipped: not ranked


def test_column_ranks_order_features_as_the_backlog_does():
    import numpy as np

    from quarterdeck.backlog.models import OPEN_STATUSES

    ids = [1, 2, 3, 4, 5, 6, 7]
    statuses = ["new", "new", "shipped", "new", "new", "new", "new"]
    scores = [2.0, None, 5.0, 2.0, 0.0, -1.0, None]
    got = ranking.column_ranks(
        np.array(ids),
        np.array([status in OPEN_STATUSES for status in statuses]),
        np.array([math.nan if s is None else s for s in scores]),
    )
    expected = ranking.ranks(ids, statuses, scores)
    assert {pk: int(rank) for pk, rank in zip(ids, got, strict=True) if rank} == expected


@pytest.mark.django_db(transaction=True)
def test_demand_read_on_a_second_connection_gives_the_same_columns(acme, varied, monkeypatch):
    import dataclasses

    import numpy as np

    now = timezone.now()
    alone = ranking.load_columns(acme.pk, now=now)
    monkeypatch.setattr(ranking, "PARALLEL_FROM", 1)
    meanwhile = ranking.load_columns(acme.pk, now=now)
    np.testing.assert_array_equal(alone.ids, meanwhile.ids)
    for name in (f.name for f in dataclasses.fields(alone.inputs)):
        np.testing.assert_array_equal(getattr(alone.inputs, name), getattr(meanwhile.inputs, name))
    assert meanwhile.inputs.user_value.any()


@pytest.mark.django_db(transaction=True)
def test_terms_written_on_a_second_connection_are_those_written_alone(acme, varied, monkeypatch):
    from quarterdeck.strategy.models import NeedDemand

    now = timezone.now()
    monkeypatch.setattr(ranking.timezone, "now", lambda: now)
    ranking.recompute_workspace(acme)
    alone = {s.feature_id: s.terms for s in FeatureScore.objects.filter(workspace=acme)}
    scores = dict(Feature.objects.filter(workspace=acme).values_list("id", "score"))
    FeatureScore.objects.filter(workspace=acme).delete()
    NeedDemand.objects.filter(workspace=acme).delete()
    Feature.objects.filter(workspace=acme).update(score=None, demand=0)
    monkeypatch.setattr(ranking, "PARALLEL_FROM", 1)
    result = ranking.recompute_workspace(acme)
    assert result.changed == len(varied)
    assert {s.feature_id: s.terms for s in FeatureScore.objects.filter(workspace=acme)} == alone
    assert dict(Feature.objects.filter(workspace=acme).values_list("id", "score")) == scores
    assert NeedDemand.objects.filter(workspace=acme).count() == 3
