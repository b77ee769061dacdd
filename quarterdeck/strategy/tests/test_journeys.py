import pytest

from quarterdeck.strategy import ranking
from quarterdeck.testing.factories import (
    DriverFactory,
    EvaluationFactory,
    FeatureDriverFactory,
    FeatureFactory,
)


def sign_in(page, live_server, user):
    """A signed-in session for `user`, handed to the browser as its cookie."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_what_if_weight_changes_the_order_then_save_applies_it(page, live_server, acme, paula):
    growth = DriverFactory(workspace=acme, name="Acquisition", weight=1.0)
    engage = DriverFactory(workspace=acme, name="Engagement", weight=1.0)
    referral = FeatureFactory(workspace=acme, title="Referral program")
    streaks = FeatureFactory(workspace=acme, title="Learning streaks")
    FeatureDriverFactory(feature=referral, driver=growth, contribution=1)
    FeatureDriverFactory(feature=streaks, driver=engage, contribution=2)
    EvaluationFactory(feature=referral, effort=1, risk="low")
    EvaluationFactory(feature=streaks, effort=1, risk="low")
    ranking.recompute_workspace(acme)

    sign_in(page, live_server, paula)
    page.goto("/w/acme/strategy/matrix/")
    first = page.locator("#whatif .whatif-title").first
    assert first.inner_text() == "Learning streaks"

    page.fill(f"#w-{growth.pk}", "5")
    page.locator(f"#w-{growth.pk}").dispatch_event("input")
    page.wait_for_function(
        "document.querySelector('#whatif .whatif-title').textContent === 'Referral program'"
    )
    assert "nothing is saved" in page.locator("#whatif").inner_text()
    growth.refresh_from_db()
    assert growth.weight == 1.0

    with page.expect_navigation():
        page.click("[data-save-weights]")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("text=What moved and why")
    growth.refresh_from_db()
    assert growth.weight == 5.0
    assert page.locator("#whatif .whatif-title").first.inner_text() == "Referral program"
