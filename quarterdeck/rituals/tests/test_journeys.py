"""Browser journey: the PM drafts last month's newsletter, edits a line, publishes it, and
finds it in the archive."""

import pytest
from django.test import Client
from django.utils import timezone

from quarterdeck.rituals import newsletter as newsletter_lib
from quarterdeck.testing.factories import FeatureFactory


def sign_in(page, live_server, user):
    """A signed-in session cookie for `user` (the login form is tested by accounts)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pm_edits_and_publishes_the_newsletter(page, live_server, acme, paula):
    FeatureFactory(workspace=acme, status="studying", title="Graduate search")
    FeatureFactory(workspace=acme, status="in_engineering", title="Offline lessons")
    sign_in(page, live_server, paula)

    page.goto("/w/acme/rituals/newsletters/")
    page.get_by_role("button", name="Draft the issue").click()
    page.wait_for_url("**/rituals/newsletters/*/")
    editor = page.get_by_label("Text (Markdown)")
    text = editor.input_value()
    assert "## Being studied" in text and "Graduate search" in text

    edited = text.replace("- **Offline lessons**", "- **Offline lessons**, for the train ride")
    editor.fill(edited)
    preview = page.locator("#nl-preview")
    preview.get_by_text("for the train ride").wait_for()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish to").click()
    page.wait_for_url("**/news/acme/*/")
    assert page.get_by_text("for the train ride").is_visible()

    page.get_by_role("link", name="All issues").click()
    month = newsletter_lib.month_label(newsletter_lib.previous_month(timezone.localdate()))
    issue = page.get_by_role("link", name=f"Acme Learning product newsletter — {month}")
    assert issue.is_visible()
