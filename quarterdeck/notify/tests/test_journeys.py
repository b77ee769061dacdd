"""Browser journey: a feature goes from under consideration to shipped through its page, and the
stakeholder who asked for it receives the "shipped" email (real SMTP server, tasks inline)."""

import pytest

from quarterdeck.backlog.tests.test_journeys import drive_feature_to_shipped, sign_in_at
from quarterdeck.notify.tests.conftest import parts


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_shipping_through_the_page_emails_the_stakeholder_who_asked(
    page, smtp_server, story, paula
):
    feature = story.feature
    feature.status = "under_consideration"
    feature.save()

    sign_in_at(page, feature.get_absolute_url(), paula.email, "password")
    drive_feature_to_shipped(page, feature)

    feature.refresh_from_db()
    assert feature.status == "shipped"
    to_maria = smtp_server.to("maria@example.org")
    shipped = [m for m in to_maria if m.msg["Subject"] == "Shipped: Project shortcuts"]
    assert len(shipped) == 1
    text, html = parts(shipped[0].msg)
    assert "“Project shortcuts” has shipped" in text
    assert "You told us about: Quicker access to my projects" in text
    assert "/u/" in text and "/u/" in html
    assert [m.msg["Subject"] for m in to_maria] == [
        "We're looking into it: Project shortcuts",
        "Now being built: Project shortcuts",
        "Coming soon: Project shortcuts",
        "Shipped: Project shortcuts",
    ]
