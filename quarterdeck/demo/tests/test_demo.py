"""`quarterdeck demo`: idempotent, and it holds what DESIGN.md §5 promises."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from quarterdeck.accounts.models import Membership, Role, User, Workspace
from quarterdeck.backlog.models import Evaluation, Feature, Status
from quarterdeck.core.models import Activity
from quarterdeck.insights.models import Insight, InsightLink, InsightState, Need, Stakeholder
from quarterdeck.squads.models import SquadRole
from quarterdeck.strategy.models import CheckIn, Direction, Driver, KeyResult
from quarterdeck.testing.factories import WorkspaceFactory


def counts(workspace) -> dict:
    return {
        "insights": Insight.objects.filter(workspace=workspace).count(),
        "stakeholders": Stakeholder.objects.filter(workspace=workspace).count(),
        "needs": Need.objects.filter(workspace=workspace).count(),
        "links": InsightLink.objects.filter(workspace=workspace).count(),
        "features": Feature.objects.filter(workspace=workspace).count(),
        "check_ins": CheckIn.objects.filter(key_result__objective__workspace=workspace).count(),
        "activity": Activity.objects.filter(workspace=workspace).count(),
        "users": User.objects.count(),
        "workspaces": Workspace.objects.count(),
    }


@pytest.fixture
def demo(db):
    call_command("demo", stdout=io.StringIO())
    return Workspace.objects.get(slug="demo")


def test_running_demo_twice_changes_nothing(demo):
    before = counts(demo)
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert "already loaded" in out.getvalue()
    assert counts(Workspace.objects.get(slug="demo")) == before


def test_reset_rebuilds_the_same_demo(demo):
    before = counts(demo)
    call_command("demo", reset=True, stdout=io.StringIO())
    rebuilt = Workspace.objects.get(slug="demo")
    assert rebuilt.pk != demo.pk
    assert counts(rebuilt) == before


def test_a_foreign_workspace_named_demo_is_not_overwritten(db):
    WorkspaceFactory(slug="demo", name="Mine")
    with pytest.raises(CommandError, match="--reset"):
        call_command("demo", stdout=io.StringIO())
    assert Workspace.objects.get(slug="demo").name == "Mine"


def test_demo_has_what_the_design_lists(demo, client):
    # People: the PM and the admin sign in with "demo"; every role is represented.
    roles = dict(Membership.objects.filter(workspace=demo).values_list("user__email", "role"))
    assert roles["pm@example.com"] == Role.PRODUCT_MANAGER
    assert roles["admin@example.com"] == Role.ADMIN
    assert set(roles.values()) == set(Role.values)
    assert client.login(email="pm@example.com", password="demo")
    assert client.login(email="admin@example.com", password="demo")

    # Segments with weights, the four drivers, squads with every role.
    segments = {s.key: s.weight for s in demo_segments(demo)}
    assert set(segments) == {"student", "mentor", "employer", "employee"}
    assert len(set(segments.values())) > 1
    assert set(Driver.objects.filter(workspace=demo).values_list("name", flat=True)) == {
        "Acquisition",
        "User engagement",
        "Job placement",
        "Automation",
    }
    from quarterdeck.squads.models import Squad

    squads = Squad.objects.filter(workspace=demo).prefetch_related("members")
    assert squads.count() >= 2
    for squad in squads:
        assert {m.role for m in squad.members.all()} >= set(SquadRole.values) - {"other"}

    # The objective and its key result, with check-ins.
    kr = KeyResult.objects.get(
        objective__workspace=demo,
        objective__title="More engaged students",
        metric__icontains="absenteeism by 20%",
    )
    assert (kr.baseline, kr.target, kr.direction) == (25.0, 20.0, Direction.DECREASE)
    assert kr.check_ins.count() >= 5 and kr.current < kr.baseline

    # A few hundred insights, several channels, linked to needs; some left for the inbox.
    insights = Insight.objects.filter(workspace=demo)
    assert 250 <= insights.count() <= 400
    assert insights.values("channel").distinct().count() >= 6
    assert insights.filter(state=InsightState.NEW).count() >= 30
    assert insights.filter(state=InsightState.TRIAGED).count() >= 150
    assert Need.objects.filter(workspace=demo).count() == 20
    links = InsightLink.objects.filter(workspace=demo).select_related("insight")
    assert all(link.highlight and link.highlight in link.insight.text for link in links)
    assert {link.importance for link in links} == {1, 2, 3}
    assert Stakeholder.objects.filter(workspace=demo).values("segment").distinct().count() == 4

    # Features in every status; consistent history.
    features = Feature.objects.filter(workspace=demo)
    assert set(features.values_list("status", flat=True)) == set(Status.values)
    assert features.filter(parent__isnull=False).count() >= 5
    started = features.filter(
        status__in=[Status.IN_ENGINEERING, Status.IN_QA, Status.READY_TO_DEPLOY, Status.SHIPPED]
    )
    assert not started.annotate(n=Count("evaluations")).filter(n=0).exists()
    assert Evaluation.objects.filter(feature__workspace=demo).exists()
    assert all(f.decline_reason for f in features.filter(status=Status.DECLINED))

    # Shipped last month, and one measured feature with check-ins before and after it shipped.
    today = timezone.localdate()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    shipped_last_month = [
        f
        for f in features.filter(status=Status.SHIPPED, parent__isnull=True)
        if timezone.localdate(f.status_changed_at).replace(day=1) == last_month
    ]
    assert shipped_last_month
    measured = features.get(status=Status.MEASURED)
    assert kr in measured.key_results.all()
    shipped_on = timezone.localdate(
        Activity.objects.get(
            target_type="feature", target_id=measured.pk, changes__status=["rolling_out", "shipped"]
        ).created_at
    )
    assert kr.check_ins.filter(checked_on__lt=shipped_on).exists()
    assert kr.check_ins.filter(checked_on__gt=shipped_on).exists()
    assert measured.drivers.exists() and measured.needs.exists() and measured.expected_outcomes


def demo_segments(workspace):
    from quarterdeck.insights.models import Segment

    return Segment.objects.filter(workspace=workspace)
