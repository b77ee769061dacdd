"""Stored need demand: re-scoring a workspace reuses each need's sums until its evidence changes."""

import datetime as dt

import pytest
from django.utils import timezone

from quarterdeck.backlog.models import Feature
from quarterdeck.insights import services as insight_services
from quarterdeck.strategy import demand, ranking
from quarterdeck.strategy.models import DemandRevision, NeedDemand
from quarterdeck.testing.factories import (
    EvaluationFactory,
    FeatureFactory,
    InsightFactory,
    InsightLinkFactory,
    NeedFactory,
    SegmentFactory,
    StakeholderFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def backlog(acme):
    """Three evaluated features, each answering one need with insights of two weighted people
    (and one anonymous insight) captured weeks apart; the last feature answers two needs."""
    now = timezone.now()
    segment = SegmentFactory(workspace=acme, key="employer", weight=2.0)
    people = [
        StakeholderFactory(workspace=acme, segment=segment, weight=1.5),
        StakeholderFactory(workspace=acme, segment=None, weight=1.0),
    ]
    needs = [NeedFactory(workspace=acme) for _ in range(3)]
    features = []
    for i, need in enumerate(needs):
        feature = FeatureFactory(workspace=acme)
        feature.needs.add(need, *(needs[:1] if i == 2 else []))
        EvaluationFactory(feature=feature, effort=i + 1, risk="low", confidence=0.8)
        for j, person in enumerate([*people, None]):
            insight = InsightFactory(
                workspace=acme,
                stakeholder=person,
                segment=getattr(person, "segment", None),
                captured_at=now - dt.timedelta(days=20 * j + 5 * i),
            )
            InsightLinkFactory(need=need, insight=insight, importance=1 + j)
        features.append(feature)
    return {"ws": acme, "needs": needs, "features": features, "people": people}


def _scores(ws) -> dict[int, float]:
    return dict(Feature.objects.filter(workspace=ws).values_list("id", "score"))


def _expected(ws, now) -> dict[int, float]:
    """Every score as summed insight by insight at `now`, from the links themselves."""
    scorer = ranking.scorer_for(ws)
    loaded = ranking.load_inputs(ws.pk, now=now, params=scorer.params, detailed=True)
    return {
        pk: ranking.term_values(scorer, inputs)[1]
        for pk, inputs in zip(loaded.ids, loaded.inputs, strict=True)
    }


def _at(monkeypatch, moment):
    monkeypatch.setattr(ranking.timezone, "now", lambda: moment)


def test_a_first_rescore_keeps_the_demand_of_every_answered_need(backlog):
    ranking.recompute_workspace(backlog["ws"])
    stored = {row.need_id: row for row in NeedDemand.objects.filter(workspace=backlog["ws"])}
    assert set(stored) == {n.pk for n in backlog["needs"]}
    row = stored[backlog["needs"][0].pk]
    assert row.stakeholders == 2 and row.groups == 3 and row.amount > row.weight > 0


def test_stored_demand_decays_on_to_give_the_scores_summed_afresh(backlog, monkeypatch):
    ws = backlog["ws"]
    ranking.recompute_workspace(ws)
    later = timezone.now() + dt.timedelta(days=45)
    _at(monkeypatch, later)
    before = NeedDemand.objects.count()
    result = ranking.recompute_workspace(ws)
    assert result.changed == 3  # 45 days of decay moved every score
    assert NeedDemand.objects.count() == before  # nothing summed again
    expected = _expected(ws, later)
    for pk, score in _scores(ws).items():
        assert score == pytest.approx(expected[pk], rel=1e-9)


def test_linking_an_insight_forgets_that_needs_demand_only(
    backlog, django_capture_on_commit_callbacks
):
    ws, need = backlog["ws"], backlog["needs"][1]
    ranking.recompute_workspace(ws)
    revision = demand.revision(ws.pk)
    with django_capture_on_commit_callbacks(execute=True):
        insight_services.insight_link(
            insight=InsightFactory(workspace=ws, stakeholder=StakeholderFactory(workspace=ws)),
            need=need,
            importance=3,
        )
    assert not NeedDemand.objects.filter(need=need).exists()
    assert NeedDemand.objects.filter(workspace=ws).count() == 2
    assert demand.revision(ws.pk) > revision
    now = timezone.now()
    ranking.recompute_workspace(ws)
    expected = _expected(ws, now)
    for pk, score in _scores(ws).items():
        assert score == pytest.approx(expected[pk], rel=1e-6)
    assert NeedDemand.objects.get(need=need).stakeholders == 3  # summed again and kept


@pytest.mark.parametrize("change", ["archive", "stakeholder weight", "unlink"])
def test_a_change_of_evidence_rescores_the_features_at_once(
    backlog, change, django_capture_on_commit_callbacks
):
    ws, need, feature = backlog["ws"], backlog["needs"][0], backlog["features"][0]
    ranking.recompute_workspace(ws)
    feature.refresh_from_db()
    before = feature.demand
    link = need.links.filter(insight__stakeholder=backlog["people"][0]).get()
    with django_capture_on_commit_callbacks(execute=True):
        if change == "archive":
            insight_services.insight_archive(insight=link.insight)
        elif change == "stakeholder weight":
            insight_services.stakeholder_update(stakeholder=backlog["people"][0], weight=0.1)
        else:
            insight_services.insight_unlink(link=link)
    feature.refresh_from_db()
    assert feature.demand < before  # the inline re-score saw it
    assert not NeedDemand.objects.filter(need=need).exists()
    ranking.recompute_workspace(ws)  # and the next workspace re-score keeps it
    after = Feature.objects.get(pk=feature.pk)
    assert after.demand == pytest.approx(feature.demand, rel=1e-9)


def test_sums_read_before_a_change_are_not_kept(backlog):
    """A re-score that read the links before a change was forgotten writes no sums from them."""
    ws = backlog["ws"]
    loaded = ranking.load_columns(ws.pk, now=timezone.now())
    assert len(loaded.fresh_demand) == 3
    demand.forget(ws.pk, [backlog["needs"][0].pk])  # a link changed meanwhile
    assert demand.keep(ws.pk, loaded.fresh_demand) is False
    assert not NeedDemand.objects.filter(workspace=ws).exists()
    again = ranking.load_columns(ws.pk, now=timezone.now())
    assert demand.keep(ws.pk, again.fresh_demand) is True
    assert NeedDemand.objects.filter(workspace=ws).count() == 3


def test_a_need_with_evidence_dated_later_is_summed_each_time(backlog, monkeypatch):
    ws, need = backlog["ws"], backlog["needs"][2]
    soon = timezone.now() + dt.timedelta(days=10)
    InsightLinkFactory(need=need, insight=InsightFactory(workspace=ws, captured_at=soon))
    ranking.recompute_workspace(ws)
    assert not NeedDemand.objects.filter(need=need).exists()
    assert NeedDemand.objects.filter(workspace=ws).count() == 2
    later = soon + dt.timedelta(days=30)
    _at(monkeypatch, later)
    ranking.recompute_workspace(ws)
    expected = _expected(ws, later)
    for pk, score in _scores(ws).items():
        assert score == pytest.approx(expected[pk], rel=1e-9)


def test_a_new_half_life_sums_every_need_again(backlog):
    from quarterdeck.strategy import scoring

    ws = backlog["ws"]
    ranking.recompute_workspace(ws)
    ws.scoring = scoring.ScoringConfig(params=scoring.ScoringParams(half_life_days=30)).to_dict()
    ws.save(update_fields=["scoring"])
    now = timezone.now()
    ranking.recompute_workspace(ws)
    rates = set(NeedDemand.objects.filter(workspace=ws).values_list("rate", flat=True))
    assert rates == {ranking._decay_rate(scoring.ScoringParams(half_life_days=30))}
    expected = _expected(ws, now)
    for pk, score in _scores(ws).items():
        assert score == pytest.approx(expected[pk], rel=1e-6)


def test_forgetting_one_workspace_leaves_the_others(backlog, globex):
    other_need = NeedFactory(workspace=globex)
    other = FeatureFactory(workspace=globex)
    other.needs.add(other_need)
    InsightLinkFactory(need=other_need, insight=InsightFactory(workspace=globex))
    ranking.recompute_workspace(backlog["ws"])
    ranking.recompute_workspace(globex)
    demand.forget(backlog["ws"].pk)
    assert not NeedDemand.objects.filter(workspace=backlog["ws"]).exists()
    assert NeedDemand.objects.filter(workspace=globex).count() == 1
    assert DemandRevision.objects.get(workspace=globex).value == 0


def test_a_reimport_that_moves_an_insight_to_another_segment_rescores(
    acme, tmp_path, django_capture_on_commit_callbacks
):
    from quarterdeck.insights.importing import insights_import
    from quarterdeck.insights.models import Insight, Segment

    SegmentFactory(workspace=acme, key="student")
    SegmentFactory(workspace=acme, key="employer")
    Segment.objects.filter(workspace=acme, key="student").update(weight=1.0)
    Segment.objects.filter(workspace=acme, key="employer").update(weight=3.0)
    path = tmp_path / "insights.csv"
    row = "text,source,external_id,segment,captured_at\nLost my work,support,T-1,{},2026-11-30\n"
    path.write_text(row.format("student"), encoding="utf-8")
    insights_import(workspace=acme, file=path)
    feature, need = FeatureFactory(workspace=acme), NeedFactory(workspace=acme)
    feature.needs.add(need)
    InsightLinkFactory(need=need, insight=Insight.objects.get(workspace=acme, external_id="T-1"))
    ranking.recompute_workspace(acme)
    feature.refresh_from_db()
    before = feature.demand
    path.write_text(row.format("employer"), encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=True):
        report = insights_import(workspace=acme, file=path)
    assert report.updated == 1
    feature.refresh_from_db()
    assert feature.demand == pytest.approx(3 * before)
    assert not NeedDemand.objects.filter(need=need).exists()
