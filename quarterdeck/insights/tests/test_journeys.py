"""The PM's triage journey in a real browser: quote a passage, link it, see it as evidence."""

import datetime as dt

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from playwright.sync_api import expect

from quarterdeck.insights.models import InsightLink, InsightState
from quarterdeck.testing.factories import InsightFactory, NeedFactory, StakeholderFactory

PASSAGE = "click through three menus before I find my project"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pm_quotes_a_passage_links_it_to_a_need_and_creates_a_feature(page, acme, paula):
    need = NeedFactory(workspace=acme, title="Quicker access to my projects")
    NeedFactory(workspace=acme, title="Offline downloads for the commute")
    nora = StakeholderFactory(workspace=acme, name="Nora Quinn")
    insight = InsightFactory(
        workspace=acme,
        stakeholder=nora,
        text=f"Every morning I have to {PASSAGE}.\nI keep a tab open all day instead.",
        captured_at=timezone.now() - dt.timedelta(hours=2),
    )
    newest = InsightFactory(workspace=acme, text="Dark mode, please.")

    # Sign in on the way to the inbox.
    page.goto("/w/acme/insights/inbox/")
    page.fill("input[name=username]", "paula@example.com")
    page.fill("input[name=password]", "password")
    page.click("button[type=submit]")
    page.wait_for_url("**/w/acme/insights/inbox/**")
    assert page.locator("[data-item][aria-current='true']").get_attribute("data-item") == str(
        newest.pk
    )

    # Select the untriaged insight: the middle pane loads it and the URL follows.
    page.click(f"[data-item='{insight.pk}']")
    page.wait_for_url(f"**selected={insight.pk}**")
    text = page.locator("[data-insight-text]")
    assert "I keep a tab open" in text.inner_text()

    # Select a passage of its text with the mouse: it becomes the quote.
    page.evaluate(
        """(passage) => {
            const node = document.querySelector('[data-insight-text]').firstChild;
            const start = node.textContent.indexOf(passage);
            const range = document.createRange();
            range.setStart(node, start);
            range.setEnd(node, start + passage.length);
            const selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
            document.querySelector('[data-insight-text]')
                .dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        }""",
        PASSAGE,
    )
    assert page.input_value("[data-highlight]") == PASSAGE

    # "l" jumps to the need search; typing finds the need; "Critical"; Link.
    page.keyboard.press("l")
    assert page.evaluate("document.activeElement.name") == "title"
    page.keyboard.type("quicker")
    expect(page.locator("#need-results label", has_text="Offline")).to_have_count(0)
    option = page.locator("#need-results label", has_text="Quicker access to my projects")
    expect(option.locator("input")).to_be_checked()
    page.click("label.seg-option:has-text('Critical')")
    page.click("#link-form button[value=link]")

    # A toast confirms, and the inbox moves on to the next insight.
    page.locator(".toast", has_text="Linked to").wait_for()
    page.wait_for_url(f"**selected={newest.pk}**")
    assert page.locator(f"[data-item='{insight.pk}']").count() == 0
    link = InsightLink.objects.get(insight=insight, need=need)
    assert (link.highlight, link.importance, link.linked_by_id) == (PASSAGE, 3, paula.pk)
    insight.refresh_from_db()
    assert insight.state == InsightState.TRIAGED

    # The quote is on the need page, under the person who said it.
    page.goto(need.get_absolute_url())
    quote = page.locator("blockquote.quote", has_text=PASSAGE)
    quote.wait_for()
    assert "Critical" in quote.inner_text()
    assert page.locator(".quote-person", has_text="Nora Quinn").count() == 1

    # Then a feature is created from the need, when the backlog offers its form.
    try:
        reverse("backlog:feature_new", kwargs={"ws": "acme"})
    except NoReverseMatch:
        return
    page.click("text=Create feature from this need")
    assert page.input_value("input[name=title]") == need.title
    page.click("button[type=submit]:has-text('Create feature')")
    page.wait_for_url("**/features/*/")
    assert need.features.filter(title=need.title).exists()
