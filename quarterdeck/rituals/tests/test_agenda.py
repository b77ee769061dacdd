"""The priority and insights review agendas, from fixed data with chosen dates."""

import datetime as dt

import pytest
from django.utils import timezone

from quarterdeck.backlog.models import RolloutStage
from quarterdeck.insights.models import Segment
from quarterdeck.rituals import services
from quarterdeck.rituals.models import Meeting
from quarterdeck.rituals.tests.conftest import status_move
from quarterdeck.testing.factories import (
    FeatureFactory,
    InsightFactory,
    InsightLinkFactory,
    NeedFactory,
    SquadFactory,
    StakeholderFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(acme, paula):
    now = timezone.now()
    employer = Segment.objects.get(workspace=acme, key="employer")
    student = Segment.objects.get(workspace=acme, key="student")
    boss = StakeholderFactory(workspace=acme, segment=employer, name="Erin Employer")
    kid = StakeholderFactory(workspace=acme, segment=student)
    squad = SquadFactory(workspace=acme, name="Careers")

    need_e = NeedFactory(workspace=acme, title="Find graduates by skill")
    need_old = NeedFactory(workspace=acme, title="Export shortlists")
    need_s = NeedFactory(workspace=acme, title="Quicker access to projects")
    new_insight = InsightFactory(
        workspace=acme, stakeholder=boss, segment=employer, captured_at=now - dt.timedelta(days=5)
    )
    old_insight = InsightFactory(
        workspace=acme, stakeholder=boss, segment=employer, captured_at=now - dt.timedelta(days=20)
    )
    student_insight = InsightFactory(
        workspace=acme, stakeholder=kid, segment=student, captured_at=now - dt.timedelta(days=2)
    )
    InsightLinkFactory(need=need_e, insight=new_insight)
    InsightLinkFactory(need=need_old, insight=old_insight)
    InsightLinkFactory(need=need_s, insight=student_insight)

    def feature(title, status, score=None, needs=(), **kw):
        f = FeatureFactory(workspace=acme, title=title, status=status, score=score, **kw)
        f.needs.set(needs)
        return f

    soon = timezone.localdate() + dt.timedelta(days=20)
    far = timezone.localdate() + dt.timedelta(days=90)
    f = {
        "high": feature("Graduate search", "under_consideration", 9.0, [need_e], squad=squad),
        "low": feature("Skills report", "designing", 2.0, [need_old], target_release=soon),
        "none": feature("Employer dashboard", "studying", None, [need_e]),
        "building": feature("Shortlist export", "in_engineering", 5.0, [need_old]),
        "later": feature("Hiring fairs", "new", 1.0, [need_old], target_release=far),
        "student": feature("Project shortcuts", "under_consideration", 20.0, [need_s]),
        "flagged": feature("Certificates", "in_qa", 3.0, [need_s]),
    }
    RolloutStage.objects.create(feature=f["building"], order=1, starts_on=soon, percent=10)
    RolloutStage.objects.create(feature=f["building"], order=2, starts_on=far, percent=100)
    RolloutStage.objects.create(feature=f["student"], order=1, starts_on=soon, percent=10)
    status_move(f["building"], "designing", "in_engineering", now - dt.timedelta(days=3), paula)
    status_move(f["building"], "studying", "designing", now - dt.timedelta(days=15))
    status_move(f["student"], "new", "under_consideration", now - dt.timedelta(days=1))
    previous = Meeting.objects.create(
        workspace=acme,
        kind="priority_review",
        title="Last review",
        scheduled_at=now - dt.timedelta(days=10),
        segment=employer,
    )
    return {
        "employer": employer,
        "features": f,
        "previous": previous,
        "needs": (need_e, need_old),
        "insight": new_insight,
        "squad": squad,
        "student": student,
    }


def _ids(rows):
    return [row["id"] for row in rows]


def test_priority_review_agenda_covers_the_group_since_its_last_review(world, acme, paula):
    f = world["features"]
    services.decision_flag_create(feature=f["flagged"], segment=world["employer"], by=paula)
    meeting = services.meeting_create(
        workspace=acme,
        kind="priority_review",
        scheduled_at=timezone.now(),
        segment=world["employer"],
        by=paula,
    )
    agenda = meeting.agenda

    assert meeting.title == "Priority review — Employer"
    assert agenda["since"] == world["previous"].scheduled_at.isoformat()
    # only the employer insight captured after the previous review
    assert agenda["insight_count"] == 1
    assert _ids(agenda["insights"]) == [world["insight"].pk]
    assert [n["title"] for n in agenda["needs"]] == ["Find graduates by skill"]
    # candidates: not yet being built, touching employers, best score first, unscored last
    assert _ids(agenda["candidates"]) == [f["high"].pk, f["low"].pk, f["later"].pk, f["none"].pk]
    # status moves of employer features in the period only
    assert [(c["feature_id"], c["from"], c["to"]) for c in agenda["status_changes"]] == [
        (f["building"].pk, "designing", "in_engineering")
    ]
    assert agenda["status_changes"][0]["by"] == str(paula)
    # flagged first, then waiting under consideration / studying, by score
    assert _ids(agenda["decisions_needed"]) == [f["flagged"].pk, f["high"].pk, f["none"].pk]
    assert agenda["decisions_needed"][0]["why"] == "flagged"
    # six weeks ahead: one rollout stage and one target release, by date; nothing further
    plan = [(r["kind"], r["feature_id"]) for r in agenda["release_plan"]]
    assert sorted(plan) == sorted([("rollout", f["building"].pk), ("release", f["low"].pk)])


def test_priority_review_with_a_squad_keeps_to_its_features(world, acme, paula):
    meeting = services.meeting_create(
        workspace=acme,
        kind="priority_review",
        scheduled_at=timezone.now(),
        segment=world["employer"],
        squad=world["squad"],
        by=paula,
    )
    assert _ids(meeting.agenda["candidates"]) == [world["features"]["high"].pk]
    assert meeting.agenda["release_plan"] == []


def test_first_review_of_a_group_looks_back_thirty_days(world, acme, paula):
    world["previous"].delete()
    when = timezone.now()
    meeting = services.meeting_create(
        workspace=acme,
        kind="priority_review",
        scheduled_at=when,
        segment=world["employer"],
        by=paula,
    )
    assert meeting.agenda["since"] == (when - dt.timedelta(days=30)).isoformat()
    assert meeting.agenda["insight_count"] == 2


def test_insights_review_digest_groups_the_squads_insights_by_need(world, acme, paula):
    squad = world["squad"]
    need_e, _need_old = world["needs"]
    meeting = services.meeting_create(
        workspace=acme, kind="insights_review", scheduled_at=timezone.now(), squad=squad, by=paula
    )
    themes = meeting.agenda["themes"]
    assert [t["label"] for t in themes] == [need_e.title]
    assert themes[0]["count"] == 1
    assert themes[0]["by_segment"][0]["name"] == "Employer"
    assert themes[0]["features"][0]["id"] == world["features"]["high"].pk
    assert meeting.agenda["to_evaluate"][0]["id"] == world["features"]["high"].pk


def test_a_priority_review_needs_a_group(acme, paula):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.meeting_create(
            workspace=acme, kind="priority_review", scheduled_at=timezone.now(), by=paula
        )
    assert "segment" in exc.value.message_dict
