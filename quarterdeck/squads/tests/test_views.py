import pytest
from django.urls import reverse

from quarterdeck.squads.models import Squad, SquadMember
from quarterdeck.testing.factories import (
    FeatureFactory,
    KeyResultFactory,
    ObjectiveFactory,
    SquadFactory,
    SquadMemberFactory,
)

pytestmark = pytest.mark.django_db


def url(name, **kw):
    return reverse(f"squads:{name}", kwargs={"ws": "acme", **kw})


@pytest.fixture
def squad(acme, paula, carl):
    squad = SquadFactory(workspace=acme, name="Learners", mission="Students learn faster")
    squad.product_manager = paula
    squad.save()
    SquadMemberFactory(squad=squad, user=paula, role="product_manager")
    SquadMemberFactory(squad=squad, user=carl, role="backend")
    return squad


def test_list_shows_mission_pm_members_and_counts(pm_client, acme, squad, carl):
    FeatureFactory(workspace=acme, squad=squad)
    ObjectiveFactory(workspace=acme, squad=squad)
    body = pm_client.get(url("list")).content.decode()
    assert "Learners" in body and "Students learn faster" in body
    assert "Backend developer" in body and carl.display_name in body
    assert "1</strong> feature" in body and "1</strong> objective" in body


def test_list_query_count_does_not_grow_with_squads(
    pm_client, acme, squad, django_assert_max_num_queries
):
    for i in range(5):
        extra = SquadFactory(workspace=acme, name=f"S{i}")
        SquadMemberFactory(squad=extra, role="qa")
    with django_assert_max_num_queries(12):
        assert pm_client.get(url("list")).status_code == 200


def test_empty_list_teaches(pm_client):
    body = pm_client.get(url("list")).content.decode()
    assert "No squad yet" in body and "Create the first squad" in body


def test_squad_page_shows_members_objectives_and_features(pm_client, acme, squad):
    objective = ObjectiveFactory(workspace=acme, squad=squad, title="Students attend more")
    KeyResultFactory(objective=objective, metric="Absenteeism")
    FeatureFactory(workspace=acme, squad=squad, title="Reminders", status="in_engineering")
    body = pm_client.get(url("detail", pk=squad.pk)).content.decode()
    assert "Students attend more" in body and "Absenteeism" in body
    assert "Reminders" in body and "pill-status-in_engineering" in body
    assert "Add member" in body


def test_pm_creates_and_edits_a_squad(pm_client, paula):
    response = pm_client.post(
        url("new"),
        {"name": "Placement", "mission": "Jobs", "product_manager": paula.pk, "color": "#059669"},
    )
    squad = Squad.objects.get(name="Placement")
    assert response.status_code == 302
    assert SquadMember.objects.filter(squad=squad, user=paula, role="product_manager").exists()
    response = pm_client.post(
        url("edit", pk=squad.pk), {"name": "Placement", "mission": "More jobs", "color": "#059669"}
    )
    squad.refresh_from_db()
    assert response.status_code == 302 and squad.mission == "More jobs"


def test_duplicate_squad_name_is_refused(pm_client, squad):
    response = pm_client.post(url("new"), {"name": "learners", "color": "#059669"})
    assert response.status_code == 400
    assert "Another squad has this name" in response.content.decode()


def test_pm_adds_and_removes_members(pm_client, squad, victor):
    response = pm_client.post(url("member_add", pk=squad.pk), {"user": victor.pk, "role": "qa"})
    assert response.status_code == 302
    member = SquadMember.objects.get(squad=squad, user=victor)
    assert member.role == "qa"
    response = pm_client.post(url("member_remove", pk=squad.pk, member_pk=member.pk))
    assert response.status_code == 302
    assert not SquadMember.objects.filter(pk=member.pk).exists()


def test_outsider_cannot_be_added(pm_client, squad, oscar):
    response = pm_client.post(url("member_add", pk=squad.pk), {"user": oscar.pk, "role": "qa"})
    assert response.status_code == 400
    assert not SquadMember.objects.filter(user=oscar).exists()


def test_contributor_cannot_manage_squads(client, carl, squad):
    client.force_login(carl)
    assert client.get(url("new")).status_code == 403
    member = squad.members.first()
    response = client.post(url("member_remove", pk=squad.pk, member_pk=member.pk))
    assert response.status_code == 403
    assert "Add member" not in client.get(url("detail", pk=squad.pk)).content.decode()


def test_other_workspace_squad_is_404(pm_client, globex):
    other = SquadFactory(workspace=globex)
    assert pm_client.get(url("detail", pk=other.pk)).status_code == 404
    assert pm_client.post(url("edit", pk=other.pk), {"name": "x"}).status_code == 404
