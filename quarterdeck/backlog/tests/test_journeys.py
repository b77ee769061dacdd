"""Browser journeys through the delivery workflow (Playwright on Debian's Chromium)."""

import re

import pytest
from playwright.sync_api import expect

from quarterdeck.backlog.models import Feature, Status
from quarterdeck.testing.factories import FeatureFactory, SquadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_at(page, path: str, email: str, password: str) -> None:
    """Open `path`; sign in on the login page it leads to and come back to it."""
    page.goto(path)
    if "/accounts/login/" in page.url:
        page.fill("input[name=username]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(re.escape(path.split("?")[0])))


def move(page, to: str) -> None:
    """Click the header button that moves the feature to `to` and wait for the new pill."""
    page.click(f"#feature-head button[data-to={to}]")
    expect(page.locator(f"#feature-status .pill-status-{to}")).to_be_visible()


def open_tab(page, name: str) -> None:
    page.click(f"nav.tabs a:text-is('{name}')")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text(name)


def drive_feature_to_shipped(page, feature: Feature) -> None:
    """From its feature page, take `feature` (under consideration) to shipped the way a product
    team would: study, design, evaluate, build, QA, plan the rollout, roll out and ship.
    The page must be signed in as a member who can write."""
    page.goto(feature.get_absolute_url())
    move(page, "studying")
    move(page, "designing")

    # Engineering cannot start without an evaluation: the guard says so in place.
    page.click("#feature-head button[data-to=in_engineering]")
    expect(page.locator("#feature-head .refusal")).to_contain_text("evaluation")
    expect(page.locator("#feature-status .pill-status-designing")).to_be_visible()

    open_tab(page, "Delivery")
    page.click("text=+ Add an evaluation or ask an engineer")
    page.fill("#ev_effort", "3")
    page.select_option("#ev_risk", "low")
    page.click("button:text-is('Add evaluation')")
    expect(page.locator("#evaluations table")).to_contain_text("3 pw")
    move(page, "in_engineering")
    move(page, "in_qa")

    page.click("text=+ Add a QA check")
    page.fill("#qa_outcome", "Students see reminders a day before each session")
    page.select_option("#qa_result", "pass")
    page.click("button:text-is('Add check')")
    expect(page.locator("#qa")).to_contain_text("1 of 1 passed")
    move(page, "ready_to_deploy")

    page.click("text=+ Add a rollout stage")
    page.fill("#ro_percent", "100")
    page.select_option("#ro_state", "active")
    page.click("button:text-is('Add stage')")
    expect(page.locator("#rollout .stage")).to_have_count(1)
    move(page, "rolling_out")
    move(page, "shipped")


def test_a_feature_goes_from_consideration_to_shipped_on_its_page(page, live_server):
    from quarterdeck.accounts.models import Role
    from quarterdeck.testing.factories import MembershipFactory, UserFactory, WorkspaceFactory

    acme = WorkspaceFactory(slug="acme", name="Acme Learning")
    paula = UserFactory(email="paula@example.com")
    MembershipFactory(workspace=acme, user=paula, role=Role.PRODUCT_MANAGER)
    feature = FeatureFactory(
        workspace=acme,
        title="Smart attendance reminders",
        status=Status.UNDER_CONSIDERATION,
        squad=SquadFactory(workspace=acme, name="Learning"),
        expected_outcomes="Students see reminders a day before each session",
    )
    sign_in_at(page, feature.get_absolute_url(), "paula@example.com", "password")

    drive_feature_to_shipped(page, feature)

    feature.refresh_from_db()
    assert feature.status == Status.SHIPPED
    assert feature.evaluations.count() == 1
    assert list(feature.qa_checks.values_list("result", flat=True)) == ["pass"]
    assert feature.rollout_stages.count() == 1
    open_tab(page, "Activity")
    expect(page.locator("#tab-panel")).to_contain_text("shipped")
