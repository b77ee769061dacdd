"""Which features land in which section of the monthly newsletter, and the numbers it gives."""

import datetime as dt
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from quarterdeck.backlog.models import UxTest
from quarterdeck.rituals import newsletter
from quarterdeck.rituals.tests.conftest import at, status_move
from quarterdeck.testing.factories import (
    CheckInFactory,
    FeatureFactory,
    KeyResultFactory,
    ObjectiveFactory,
    SquadFactory,
)

pytestmark = pytest.mark.django_db

MARCH = dt.date(2026, 3, 1)
NOW = at(2026, 4, 5)
HEADINGS = [
    "Shipped",
    "Deploying soon",
    "In engineering",
    "In design",
    "Being studied",
    "Under consideration",
    "Results",
    "Next iterations",
]


def sections(markdown: str) -> dict[str, list[str]]:
    """{heading: [feature titles listed under it]} of a generated issue."""
    out: dict[str, list[str]] = {}
    current = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            out[current] = []
        elif current and line.startswith("- **"):
            out[current].append(re.match(r"- \*\*(.+?)\*\*", line).group(1))
    return out


@pytest.fixture
def backlog(acme):
    squad = SquadFactory(workspace=acme, name="Learning")
    objective = ObjectiveFactory(workspace=acme, quarter="2026-Q1")
    kr = KeyResultFactory(
        objective=objective,
        metric="Absenteeism rate",
        unit="%",
        baseline=25,
        target=20,
        direction="decrease",
    )
    CheckInFactory(key_result=kr, value=26, checked_on=dt.date(2026, 2, 1))
    CheckInFactory(key_result=kr, value=25, checked_on=dt.date(2026, 3, 8))
    CheckInFactory(key_result=kr, value=22, checked_on=dt.date(2026, 3, 28))

    def feature(title, status, score=None, changed=None, **kw):
        return FeatureFactory(
            workspace=acme,
            title=title,
            status=status,
            score=score,
            squad=squad,
            status_changed_at=changed,
            **kw,
        )

    f = {
        "reminders": feature("Attendance reminders", "shipped", 8, at(2026, 3, 10)),
        "dashboard": feature("Project dashboard", "measured", 6, at(2026, 4, 2)),
        "certs": feature("Certificates", "shipped", 3, at(2026, 3, 15)),
        "old": feature("Old win", "shipped", 9, at(2026, 2, 10)),
        "ready": feature("Calendar sync", "ready_to_deploy", 4),
        "rolling": feature("Dark mode", "rolling_out", 7),
        "eng": feature("Offline lessons", "in_engineering", 5),
        "qa": feature("Quiz timer", "in_qa", None),
        "design": feature("Portfolio pages", "designing", 2),
        "ux": feature("Instant booking", "designing", 1),
        "study": feature("Graduate search", "studying", 3),
        "consider": feature("Pause my course", "under_consideration", 2),
        "new": feature("Idea box", "new", 9),
        "declined": feature("Fax support", "declined", 9),
    }
    f["slice"] = feature("Reminder by SMS", "under_consideration", 1, parent=f["reminders"])
    f["reminders"].key_results.add(kr)
    status_move(f["reminders"], "rolling_out", "shipped", at(2026, 3, 10))
    status_move(f["dashboard"], "rolling_out", "shipped", at(2026, 3, 20))
    status_move(f["dashboard"], "shipped", "measured", at(2026, 4, 2))
    status_move(f["old"], "rolling_out", "shipped", at(2026, 2, 10))
    status_move(f["design"], "in_qa", "designing", at(2026, 3, 12))
    UxTest.objects.create(
        feature=f["ux"], round=2, verdict="iterate", tested_on=dt.date(2026, 3, 18)
    )
    UxTest.objects.create(
        feature=f["eng"], round=1, verdict="iterate", tested_on=dt.date(2026, 2, 18)
    )
    return f


def test_each_feature_lands_in_its_section(acme, backlog):
    issue = newsletter.generate(acme, MARCH, now=NOW)
    text = issue.markdown()
    assert [h for h in sections(text)] == HEADINGS
    got = sections(text)
    assert got["Shipped"] == ["Attendance reminders", "Project dashboard", "Certificates"]
    assert got["Deploying soon"] == ["Dark mode", "Calendar sync"]
    assert got["In engineering"] == ["Offline lessons", "Quiz timer"]
    assert got["In design"] == ["Portfolio pages", "Instant booking"]
    assert got["Being studied"] == ["Graduate search"]
    assert got["Under consideration"] == ["Pause my course", "Reminder by SMS"]
    assert got["Results"] == ["Attendance reminders"]
    assert got["Next iterations"] == ["Reminder by SMS", "Portfolio pages", "Instant booking"]
    for absent in ("Idea box", "Fax support", "Old win"):
        assert absent not in text


def test_results_give_before_after_and_target_from_check_ins(acme, backlog):
    text = newsletter.generate(acme, MARCH, now=NOW).markdown()
    assert (
        "Absenteeism rate: 25 % before → 22 % after, target 20 % — 60 % of the way from baseline"
        in text
    )
    assert "shipped 10 Mar 2026" in text


def test_results_prefer_strategys_measurement(acme, backlog):
    from quarterdeck.strategy.models import FeatureMeasurement

    feature = backlog["reminders"]
    FeatureMeasurement.objects.create(
        workspace=acme,
        feature=feature,
        key_result=feature.key_results.get(),
        shipped_on=dt.date(2026, 3, 10),
        before=24.0,
        after=19.5,
        measured_at=at(2026, 4, 1),
    )
    text = newsletter.generate(acme, MARCH, now=NOW).markdown()
    assert "Absenteeism rate: 24 % before → 19.5 % after, target 20 % — target reached" in text


def test_reasons_of_next_iterations(acme, backlog):
    text = newsletter.generate(acme, MARCH, now=NOW).markdown()
    assert "next slice of “Attendance reminders”" in text
    assert "went back from in QA to in design" in text
    assert "UX test round 2 asked for another iteration" in text


def test_an_empty_month_still_has_every_heading(acme):
    text = newsletter.generate(acme, dt.date(2025, 1, 1), now=NOW).markdown()
    assert [line[3:] for line in text.splitlines() if line.startswith("## ")] == HEADINGS
    assert "Nothing this month." in text


def test_titles_are_escaped_and_html_is_sanitised(acme):
    FeatureFactory(workspace=acme, title="<script>alert(1)</script> **bold**", status="studying")
    text = newsletter.generate(acme, MARCH, now=NOW).markdown()
    html = str(newsletter.markdown_to_html(text + "\n<img src=x onerror=alert(1)>"))
    assert "<script>" not in html
    assert "onerror" not in html
    assert "&lt;script&gt;" in html


def test_email_html_has_inline_styles(acme):
    html = str(newsletter.email_html("## Shipped\n\n- **A**"))
    assert '<h2 style="' in html and '<li style="' in html


def test_command_prints_the_markdown_headings(acme, backlog):
    out = StringIO()
    call_command("newsletter", "--workspace", "acme", "--month", "2026-03", stdout=out)
    headings = [line[3:] for line in out.getvalue().splitlines() if line.startswith("## ")]
    assert headings == HEADINGS
    assert "Attendance reminders" in out.getvalue()


def test_command_html_format_and_save(acme, backlog):
    from quarterdeck.rituals.models import Newsletter

    out = StringIO()
    call_command(
        "newsletter",
        "--workspace",
        "acme",
        "--month",
        "2026-03",
        "--format",
        "html",
        "--save",
        stdout=out,
    )
    assert "<h2>Shipped</h2>" in out.getvalue()
    assert Newsletter.objects.get(workspace=acme, month=MARCH).state == "draft"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--workspace", "nope", "--month", "2026-03"], "No workspace"),
        (["--workspace", "acme", "--month", "March"], "YYYY-MM"),
        (["--workspace", "acme", "--month", "2026-13"], "No such month"),
    ],
)
def test_command_names_bad_input(acme, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("newsletter", *args, stdout=StringIO())
