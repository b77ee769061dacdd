"""The status machine: every move, every guard, and going back a step."""

import pytest

from quarterdeck.backlog import services
from quarterdeck.backlog.models import Feature, QaCheck, RolloutStage, Status
from quarterdeck.backlog.status import FLOW, allowed_targets, check
from quarterdeck.core.models import Activity
from quarterdeck.testing.factories import EvaluationFactory, FeatureFactory

pytestmark = pytest.mark.django_db


def _feature(acme, status, **kwargs):
    return FeatureFactory(workspace=acme, status=status, **kwargs)


def _ready_for_everything(feature):
    EvaluationFactory(feature=feature)
    QaCheck.objects.create(feature=feature, outcome="Works", result="pass")
    RolloutStage.objects.create(feature=feature, order=1, percent=10)


def move(feature, to, reason="", by=None):
    return services.feature_transition(feature=feature, to=to, reason=reason, by=by)


def test_each_step_of_the_flow_moves_forward_when_its_guards_pass(acme, paula):
    feature = _feature(acme, Status.NEW)
    _ready_for_everything(feature)
    for to in FLOW[1:]:
        feature = move(feature, to, by=paula)
        assert feature.status == to
    assert Feature.objects.get(pk=feature.pk).status == Status.MEASURED


def test_every_move_is_recorded_as_activity(acme, paula):
    feature = _feature(acme, Status.NEW)
    move(feature, Status.UNDER_CONSIDERATION, by=paula)
    row = Activity.objects.get(verb="status_changed", target_id=feature.pk)
    assert row.actor == paula
    assert row.changes == {"status": ["new", "under_consideration"]}


def test_a_step_cannot_be_skipped(acme):
    feature = _feature(acme, Status.UNDER_CONSIDERATION)
    with pytest.raises(services.TransitionRefused) as refused:
        move(feature, Status.IN_QA)
    assert refused.value.guard == "not_allowed"
    assert "cannot move from" in str(refused.value)
    assert Feature.objects.get(pk=feature.pk).status == Status.UNDER_CONSIDERATION


def test_going_back_one_step_is_allowed_for_an_iteration(acme):
    feature = _feature(acme, Status.DESIGNING)
    assert move(feature, Status.STUDYING).status == Status.STUDYING


def test_back_to_design_from_qa_is_one_move(acme):
    feature = _feature(acme, Status.IN_QA)
    assert Status.DESIGNING in allowed_targets(Status.IN_QA)
    assert move(feature, Status.DESIGNING).status == Status.DESIGNING


def test_unknown_and_same_status_are_refused_with_a_message(acme):
    feature = _feature(acme, Status.NEW)
    assert check(feature, "finished")[0].guard == "unknown_status"
    assert check(feature, Status.NEW)[0].guard == "same_status"


def test_decline_requires_a_reason(acme):
    feature = _feature(acme, Status.STUDYING)
    with pytest.raises(services.TransitionRefused) as refused:
        move(feature, Status.DECLINED, reason="  ")
    assert refused.value.guard == "reason_required"
    assert "reason" in str(refused.value)


def test_decline_with_a_reason_keeps_the_reason(acme):
    feature = _feature(acme, Status.STUDYING)
    feature = move(feature, Status.DECLINED, reason="Out of our market")
    assert feature.status == Status.DECLINED
    assert Feature.objects.get(pk=feature.pk).decline_reason == "Out of our market"


@pytest.mark.parametrize("status", [Status.NEW, Status.DESIGNING, Status.ROLLING_OUT])
def test_park_is_allowed_from_any_open_status(acme, status):
    feature = _feature(acme, status)
    assert move(feature, Status.PARKED).status == Status.PARKED


@pytest.mark.parametrize("status", [Status.SHIPPED, Status.MEASURED])
def test_closed_features_cannot_be_parked_or_declined(acme, status):
    feature = _feature(acme, status)
    assert check(feature, Status.PARKED)[0].guard == "not_allowed"
    assert check(feature, Status.DECLINED, "late")[0].guard == "not_allowed"


@pytest.mark.parametrize("status", [Status.DECLINED, Status.PARKED])
def test_declined_and_parked_features_reopen_under_consideration(acme, status):
    feature = _feature(acme, status)
    assert allowed_targets(status) == [Status.UNDER_CONSIDERATION]
    assert move(feature, Status.UNDER_CONSIDERATION).status == Status.UNDER_CONSIDERATION


def test_engineering_needs_an_evaluation(acme):
    feature = _feature(acme, Status.DESIGNING)
    with pytest.raises(services.TransitionRefused) as refused:
        move(feature, Status.IN_ENGINEERING)
    assert refused.value.guard == "evaluation_required"
    assert "evaluation" in str(refused.value)
    EvaluationFactory(feature=feature)
    assert move(feature, Status.IN_ENGINEERING).status == Status.IN_ENGINEERING


def test_ready_to_deploy_needs_at_least_one_qa_check(acme):
    feature = _feature(acme, Status.IN_QA)
    with pytest.raises(services.TransitionRefused) as refused:
        move(feature, Status.READY_TO_DEPLOY)
    assert refused.value.guard == "qa_required"


def test_ready_to_deploy_needs_every_qa_check_passed(acme):
    feature = _feature(acme, Status.IN_QA)
    QaCheck.objects.create(feature=feature, outcome="Loads fast", result="pass")
    failing = QaCheck.objects.create(feature=feature, outcome="Works offline", result="fail")
    with pytest.raises(services.TransitionRefused) as refused:
        move(feature, Status.READY_TO_DEPLOY)
    assert refused.value.guard == "qa_not_passed"
    assert "1 of 2" in str(refused.value)
    failing.result = "pass"
    failing.save()
    assert move(feature, Status.READY_TO_DEPLOY).status == Status.READY_TO_DEPLOY


def test_a_pending_qa_check_also_blocks_deployment(acme):
    feature = _feature(acme, Status.IN_QA)
    QaCheck.objects.create(feature=feature, outcome="Works", result="pending")
    assert check(feature, Status.READY_TO_DEPLOY)[0].guard == "qa_not_passed"


def test_rolling_out_needs_a_rollout_plan(acme):
    feature = _feature(acme, Status.READY_TO_DEPLOY)
    with pytest.raises(services.TransitionRefused) as refused:
        move(feature, Status.ROLLING_OUT)
    assert refused.value.guard == "rollout_required"
    assert "rollout plan" in str(refused.value)
    RolloutStage.objects.create(feature=feature, order=1, percent=5)
    assert move(feature, Status.ROLLING_OUT).status == Status.ROLLING_OUT


def test_a_parent_cannot_ship_while_a_slice_is_open(acme):
    parent = _feature(acme, Status.ROLLING_OUT)
    RolloutStage.objects.create(feature=parent, order=1, percent=100)
    slice_ = _feature(acme, Status.IN_QA, parent=parent, title="Mobile slice")
    _feature(acme, Status.SHIPPED, parent=parent)
    with pytest.raises(services.TransitionRefused) as refused:
        move(parent, Status.SHIPPED)
    assert refused.value.guard == "open_slices"
    assert "Mobile slice" in str(refused.value)
    slice_.status = Status.DECLINED
    slice_.save()
    assert move(parent, Status.SHIPPED).status == Status.SHIPPED


def test_measured_needs_the_feature_shipped(acme):
    feature = _feature(acme, Status.ROLLING_OUT)
    assert check(feature, Status.MEASURED)[0].guard == "not_allowed"
    shipped = _feature(acme, Status.SHIPPED)
    assert check(shipped, Status.MEASURED) == []


def test_all_failing_guards_are_reported_together(acme):
    parent = _feature(acme, Status.ROLLING_OUT)
    _feature(acme, Status.NEW, parent=parent)
    refusals = check(parent, Status.SHIPPED)
    assert {r.guard for r in refusals} == {"rollout_required", "open_slices"}


def test_notification_hook_is_called_with_the_old_status(acme, paula, monkeypatch):
    calls = []
    import sys
    import types

    module = types.ModuleType("quarterdeck.notify.services")
    module.feature_status_changed = lambda **kw: calls.append(kw)
    monkeypatch.setitem(sys.modules, "quarterdeck.notify.services", module)
    feature = _feature(acme, Status.NEW)
    move(feature, Status.UNDER_CONSIDERATION, by=paula)
    assert calls and calls[0]["old"] == "new" and calls[0]["by"] == paula
