import pytest
from django.core.exceptions import ValidationError

from quarterdeck.core.models import Activity
from quarterdeck.insights import services
from quarterdeck.insights.models import Insight, InsightLink, InsightState, Need, Stakeholder
from quarterdeck.testing.factories import InsightFactory, NeedFactory, StakeholderFactory

pytestmark = pytest.mark.django_db

TEXT = "Every morning I hunt for my project.\nThe dashboard hides it under three menus."


@pytest.fixture
def insight(acme):
    return InsightFactory(workspace=acme, text=TEXT)


@pytest.fixture
def need(acme):
    return NeedFactory(workspace=acme, title="I'd like quicker access to my projects")


def test_link_with_highlight_marks_the_insight_triaged(insight, need, paula):
    link = services.insight_link(
        insight=insight, need=need, by=paula, highlight="hides it under three menus", importance=3
    )

    insight.refresh_from_db()
    assert insight.state == InsightState.TRIAGED
    assert link.highlight == "hides it under three menus"
    assert link.importance == 3
    assert link.linked_by == paula
    assert need.segments.filter(pk=insight.segment_id).exists()
    assert Activity.objects.filter(verb="linked", target_id=insight.pk).exists()


def test_highlight_must_be_quoted_from_the_insight(insight, need, paula):
    with pytest.raises(ValidationError) as error:
        services.insight_link(insight=insight, need=need, by=paula, highlight="words never said")

    assert "highlight" in error.value.message_dict
    assert not InsightLink.objects.exists()
    insight.refresh_from_db()
    assert insight.state == InsightState.NEW


def test_highlight_across_a_line_break_keeps_the_original_passage(insight, need, paula):
    # A browser selection turns the line break into a space.
    link = services.insight_link(
        insight=insight, need=need, by=paula, highlight="my project. The dashboard"
    )

    assert link.highlight == "my project.\nThe dashboard"


def test_linking_twice_updates_the_one_link(insight, need, paula):
    services.insight_link(insight=insight, need=need, by=paula, importance=1)
    services.insight_link(insight=insight, need=need, by=paula, importance=3, highlight="hunt")

    link = InsightLink.objects.get()
    assert (link.importance, link.highlight) == (3, "hunt")


def test_importance_outside_one_to_three_is_refused(insight, need, paula):
    with pytest.raises(ValidationError) as error:
        services.insight_link(insight=insight, need=need, by=paula, importance=5)
    assert "importance" in error.value.message_dict


def test_linking_to_an_archived_need_is_refused(insight, need, paula):
    services.need_update(need=need, by=paula, state="archived")
    with pytest.raises(ValidationError) as error:
        services.insight_link(insight=insight, need=need, by=paula)
    assert "need" in error.value.message_dict


def test_link_across_workspaces_is_refused(insight, globex, paula):
    foreign_need = NeedFactory(workspace=globex)

    with pytest.raises(ValidationError) as error:
        services.insight_link(insight=insight, need=foreign_need, by=paula)

    assert "need" in error.value.message_dict
    assert not InsightLink.objects.exists()


def test_need_created_from_an_insight_links_it_with_the_highlight(acme, insight, paula):
    need = services.need_create(
        workspace=acme,
        title="Find my project in one click",
        by=paula,
        from_insight=insight,
        highlight="Every morning I hunt for my project.",
        importance=3,
    )

    link = InsightLink.objects.get(need=need, insight=insight)
    assert link.highlight == "Every morning I hunt for my project."
    assert link.importance == 3
    insight.refresh_from_db()
    assert insight.state == InsightState.TRIAGED


def test_need_from_another_workspaces_insight_is_not_created(acme, globex, paula):
    foreign = InsightFactory(workspace=globex)

    with pytest.raises(ValidationError):
        services.need_create(workspace=acme, title="Sneaky", by=paula, from_insight=foreign)

    assert not Need.objects.filter(title="Sneaky").exists()


def test_need_without_title_is_refused(acme, paula):
    with pytest.raises(ValidationError) as error:
        services.need_create(workspace=acme, title="   ", by=paula)
    assert "title" in error.value.message_dict


def test_archive_then_unarchive_restores_new_or_triaged(insight, need, paula):
    services.insight_archive(insight=insight, by=paula)
    insight.refresh_from_db()
    assert insight.state == InsightState.ARCHIVED

    services.insight_unarchive(insight=insight, by=paula)
    insight.refresh_from_db()
    assert insight.state == InsightState.NEW

    services.insight_link(insight=insight, need=need, by=paula)
    services.insight_archive(insight=insight, by=paula)
    services.insight_unarchive(insight=insight, by=paula)
    insight.refresh_from_db()
    assert insight.state == InsightState.TRIAGED


def test_archiving_is_audited(insight, paula):
    services.insight_archive(insight=insight, by=paula)

    entry = Activity.objects.get(target_type="insight", target_id=insight.pk, verb="updated")
    assert entry.changes["state"] == ["new", "archived"]
    assert entry.actor == paula


def test_unlinking_the_last_link_returns_the_insight_to_new(insight, need, paula):
    link = services.insight_link(insight=insight, need=need, by=paula)

    services.insight_unlink(link=link, by=paula)

    insight.refresh_from_db()
    assert insight.state == InsightState.NEW
    assert not InsightLink.objects.exists()


def test_upsert_is_idempotent_on_source_and_external_id(acme):
    first, created = services.insight_upsert(
        workspace=acme, source="zendesk", external_id="T-1", text="Export is slow"
    )
    again, created_again = services.insight_upsert(
        workspace=acme, source="zendesk", external_id="T-1", text="Export is slow"
    )
    updated, _ = services.insight_upsert(
        workspace=acme, source="zendesk", external_id="T-1", text="Export is very slow"
    )

    assert (created, created_again) == (True, False)
    assert first.pk == again.pk == updated.pk
    assert Insight.objects.filter(workspace=acme).count() == 1
    assert Insight.objects.get().text == "Export is very slow"


def test_upsert_keeps_workspaces_apart(acme, globex):
    services.insight_upsert(workspace=acme, source="zendesk", external_id="T-1", text="A")
    services.insight_upsert(workspace=globex, source="zendesk", external_id="T-1", text="B")

    assert Insight.objects.count() == 2


def test_capture_creates_the_stakeholder_on_first_sight_and_reuses_it(acme, paula):
    first = services.insight_capture(
        workspace=acme,
        text="Notes from the call",
        by=paula,
        stakeholder_email="Nora@School.org",
        stakeholder_name="Nora",
    )
    second = services.insight_capture(
        workspace=acme, text="Follow-up", by=paula, stakeholder_email="nora@school.org"
    )

    assert first.stakeholder == second.stakeholder
    assert Stakeholder.objects.get(workspace=acme).email == "nora@school.org"
    assert first.captured_by == paula


def test_capture_refuses_a_bad_email(acme, paula):
    with pytest.raises(ValidationError) as error:
        services.insight_capture(
            workspace=acme, text="Notes", by=paula, stakeholder_email="not-an-email"
        )
    assert "email" in error.value.message_dict
    assert not Insight.objects.exists()


def test_capture_refuses_another_workspaces_stakeholder(acme, globex, paula):
    foreign = StakeholderFactory(workspace=globex)
    with pytest.raises(ValidationError):
        services.insight_capture(workspace=acme, text="Notes", by=paula, stakeholder=foreign)
