"""Import feedback, watch the suggestions arrive, accept one in the inbox."""

import pytest
from playwright.sync_api import expect

from quarterdeck.insights.models import Insight, InsightLink
from quarterdeck.testing.factories import InsightLinkFactory, NeedFactory

CSV = (
    "text,source,external_id\n"
    '"Please let me download course videos to watch them offline on the train",survey,s-1\n'
    '"The grade export should give me a spreadsheet for the school office",survey,s-2\n'
)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pm_imports_a_csv_watches_progress_and_accepts_a_suggestion(page, acme, paula, tmp_path):
    offline = NeedFactory(workspace=acme, title="Watch course videos offline")
    NeedFactory(workspace=acme, title="Export grades to a spreadsheet")
    InsightLinkFactory(need=offline, insight__text="Offline videos for my commute please")

    page.goto("/w/acme/import/")
    page.fill("input[name=username]", "paula@example.com")
    page.fill("input[name=password]", "password")
    page.click("button[type=submit]")
    page.wait_for_url("**/import/**")
    upload = tmp_path / "feedback.csv"
    upload.write_text(CSV)
    page.set_input_files("input[type=file]", str(upload))
    page.click("text=Upload and preview")
    page.click("button:has-text('Import')")
    page.wait_for_load_state("networkidle")

    imported = Insight.objects.get(workspace=acme, external_id="s-1")
    page.goto(f"/w/acme/insights/inbox/?selected={imported.pk}")
    expect(page.locator("#linking-progress")).to_contain_text(
        "Suggestions ready for the 2 insights that just arrived"
    )
    suggestions = page.locator("#suggestions")
    expect(suggestions).to_contain_text("Watch course videos offline")
    suggestions.locator("[data-accept='1']").click()
    expect(page.locator("body")).to_contain_text("(suggested)")
    link = InsightLink.objects.get(insight=imported)
    assert link.need == offline and link.from_suggestion
