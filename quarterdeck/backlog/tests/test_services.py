"""Services of the delivery work records: validation, rows written, activity recorded."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from quarterdeck.backlog import services
from quarterdeck.backlog.models import (
    CommsItem,
    Evaluation,
    EvaluationRequest,
    Feature,
    QaCheck,
    RequestState,
    RolloutStage,
    Status,
    UxTest,
)
from quarterdeck.core.models import Activity
from quarterdeck.insights.models import Segment
from quarterdeck.testing.factories import (
    FeatureFactory,
    StakeholderFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def feature(acme):
    return FeatureFactory(workspace=acme, status=Status.DESIGNING, title="Project shortcuts")


def verbs(feature):
    return list(
        Activity.objects.filter(target_type="feature", target_id=feature.pk)
        .order_by("id")
        .values_list("verb", flat=True)
    )


def test_slice_create_makes_a_new_child_with_the_parents_squad_and_owner(acme, paula, feature):
    from quarterdeck.testing.factories import SquadFactory

    feature.squad = SquadFactory(workspace=acme)
    feature.owner = paula
    feature.save()
    slice_ = services.slice_create(parent=feature, title="  Mobile  ", by=paula)
    assert slice_.parent == feature
    assert slice_.title == "Mobile"
    assert slice_.status == Status.NEW
    assert (slice_.squad, slice_.owner) == (feature.squad, paula)


def test_slice_needs_a_title_and_an_open_parent(acme, feature):
    with pytest.raises(ValidationError) as err:
        services.slice_create(parent=feature, title=" ")
    assert "title" in err.value.message_dict
    shipped = FeatureFactory(workspace=acme, status=Status.SHIPPED)
    with pytest.raises(ValidationError):
        services.slice_create(parent=shipped, title="Late slice")


def test_evaluation_create_validates_and_records(feature, carl):
    with pytest.raises(ValidationError) as err:
        services.evaluation_create(feature=feature, effort=-1, risk="extreme", confidence=2)
    assert set(err.value.message_dict) == {"effort", "risk", "confidence"}
    evaluation = services.evaluation_create(
        feature=feature, effort=3, risk="high", risk_notes="Legacy API", confidence=0.6, by=carl
    )
    assert (evaluation.effort, evaluation.risk, evaluation.by) == (3.0, "high", carl)
    assert "evaluated" in verbs(feature)


def test_evaluation_request_goes_to_a_member_and_answer_closes_it(feature, paula, carl):
    request = services.evaluation_request_create(
        feature=feature, assignee=carl, by=paula, note="Rough size please"
    )
    assert request.state == RequestState.OPEN
    evaluation = services.evaluation_request_answer(
        request=request, by=carl, effort=2.5, risk="low", confidence=0.9
    )
    request.refresh_from_db()
    assert request.state == RequestState.ANSWERED
    assert request.evaluation == evaluation
    assert Evaluation.objects.filter(feature=feature, effort=2.5, by=carl).exists()
    assert verbs(feature) == ["evaluation_requested", "evaluated"]
    with pytest.raises(ValidationError):
        services.evaluation_request_answer(request=request, by=carl, effort=1)


def test_evaluation_request_refuses_an_outsider_and_a_duplicate(feature, paula, carl, oscar):
    with pytest.raises(ValidationError) as err:
        services.evaluation_request_create(feature=feature, assignee=oscar, by=paula)
    assert "assignee" in err.value.message_dict
    services.evaluation_request_create(feature=feature, assignee=carl, by=paula)
    with pytest.raises(ValidationError):
        services.evaluation_request_create(feature=feature, assignee=carl, by=paula)


def test_evaluation_request_cancel(feature, paula, carl):
    request = services.evaluation_request_create(feature=feature, assignee=carl, by=paula)
    services.evaluation_request_cancel(request=request, by=paula)
    assert EvaluationRequest.objects.get(pk=request.pk).state == RequestState.CANCELLED


def test_ux_test_rounds_are_numbered_and_panel_is_stakeholders(acme, feature, paula):
    student = StakeholderFactory(workspace=acme, name="Ana")
    first = services.ux_test_create(
        feature=feature,
        by=paula,
        prototype_url="https://proto.example.com/v1",
        participants=[student],
        findings="Loved it",
        verdict="proceed",
    )
    second = services.ux_test_create(feature=feature, by=paula, verdict="pending")
    assert (first.round, second.round) == (1, 2)
    assert list(first.participants.all()) == [student]
    assert Feature.objects.get(pk=feature.pk).status == Status.DESIGNING


def test_ux_test_validates_link_verdict_and_panel(acme, globex, feature):
    outsider = StakeholderFactory(workspace=globex)
    with pytest.raises(ValidationError) as err:
        services.ux_test_create(
            feature=feature, prototype_url="not a link", verdict="maybe", participants=[outsider]
        )
    assert set(err.value.message_dict) == {"prototype_url", "verdict", "participants"}


def test_ux_verdict_iterate_sends_the_feature_back_to_design(acme, paula):
    feature = FeatureFactory(workspace=acme, status=Status.IN_ENGINEERING)
    services.ux_test_create(feature=feature, by=paula, verdict="iterate", findings="Confusing")
    feature.refresh_from_db()
    assert feature.status == Status.DESIGNING
    assert verbs(feature) == ["ux_tested", "status_changed"]


def test_ux_verdict_iterate_set_later_also_goes_back_to_design(acme, paula):
    feature = FeatureFactory(workspace=acme, status=Status.IN_QA)
    test = services.ux_test_create(feature=feature, by=paula)
    assert Feature.objects.get(pk=feature.pk).status == Status.IN_QA
    services.ux_test_update(test=test, by=paula, verdict="iterate")
    assert Feature.objects.get(pk=feature.pk).status == Status.DESIGNING
    assert UxTest.objects.get(pk=test.pk).verdict == "iterate"


def test_qa_check_create_and_update(feature, carl):
    with pytest.raises(ValidationError):
        services.qa_check_create(feature=feature, outcome="  ")
    check = services.qa_check_create(feature=feature, outcome="Saves in under 1 s", by=carl)
    assert check.result == "pending" and check.checked_at is None
    services.qa_check_update(check=check, result="pass", notes="Measured 0.4 s", by=carl)
    check.refresh_from_db()
    assert (check.result, check.notes, check.by) == ("pass", "Measured 0.4 s", carl)
    assert check.checked_at is not None
    with pytest.raises(ValidationError):
        services.qa_check_update(check=check, result="great")
    assert verbs(feature) == ["qa_check_added", "qa_checked"]


def test_qa_checks_from_expected_outcomes(feature):
    feature.expected_outcomes = "- Students open a project in one click\n\n* Mentors see it too\n"
    feature.save()
    created = services.qa_checks_from_outcomes(feature=feature)
    assert [c.outcome for c in created] == [
        "Students open a project in one click",
        "Mentors see it too",
    ]
    with pytest.raises(ValidationError):
        services.qa_checks_from_outcomes(feature=feature)
    assert QaCheck.objects.filter(feature=feature).count() == 2


def test_demo_create(feature, paula):
    with pytest.raises(ValidationError) as err:
        services.demo_create(feature=feature, held_on="yesterday", audience="", recording_url="x")
    assert set(err.value.message_dict) == {"held_on", "audience", "recording_url"}
    demo = services.demo_create(
        feature=feature,
        held_on="2026-11-20",
        audience="Sales team",
        recording_url="https://video.example.com/1",
        by=paula,
    )
    assert demo.held_on == dt.date(2026, 11, 20)
    assert "demoed" in verbs(feature)


def test_rollout_stages_by_share_or_segment(acme, feature):
    with pytest.raises(ValidationError) as err:
        services.rollout_stage_create(feature=feature)
    assert "percent" in err.value.message_dict
    with pytest.raises(ValidationError):
        services.rollout_stage_create(feature=feature, percent=150)
    first = services.rollout_stage_create(feature=feature, percent=10, starts_on="2026-12-01")
    students = Segment.objects.get(workspace=acme, key="student")
    second = services.rollout_stage_create(feature=feature, segment=students)
    assert (first.order, second.order) == (1, 2)
    assert second.audience_label == "Student"
    services.rollout_stage_update(stage=first, state="active")
    assert RolloutStage.objects.get(pk=first.pk).state == "active"
    with pytest.raises(ValidationError):
        services.rollout_stage_update(stage=first, state="exploded")


def test_rollout_stage_refuses_another_workspaces_segment(globex, feature):
    segment = Segment.objects.get(workspace=globex, key="student")
    with pytest.raises(ValidationError) as err:
        services.rollout_stage_create(feature=feature, segment=segment)
    assert "segment" in err.value.message_dict


def test_comms_item_create_and_mark_sent(feature, paula):
    with pytest.raises(ValidationError) as err:
        services.comms_item_create(feature=feature, audience="", channel="fax", message="")
    assert set(err.value.message_dict) == {"audience", "channel", "message"}
    item = services.comms_item_create(
        feature=feature, audience="Students", channel="in_app", message="New shortcuts!", by=paula
    )
    assert not item.sent
    services.comms_item_update(item=item, sent=True, by=paula)
    item = CommsItem.objects.get(pk=item.pk)
    assert item.sent and item.sent_at is not None
    assert verbs(feature) == ["comms_planned", "comms_sent"]


def test_onboarding_steps_are_ordered_and_removable(feature):
    with pytest.raises(ValidationError):
        services.onboarding_step_create(feature=feature, title="")
    one = services.onboarding_step_create(feature=feature, title="Pin a project")
    two = services.onboarding_step_create(feature=feature, title="Open it", body="Click the pin")
    assert (one.order, two.order) == (1, 2)
    services.onboarding_step_delete(step=one)
    assert list(feature.onboarding_steps.values_list("title", flat=True)) == ["Open it"]
    assert "onboarding_step_removed" in verbs(feature)
