"""OKRs: objectives for this quarter, their key results and dated check-ins.

"More engaged students" holds the key result "Reduce absenteeism by 20%" (25 % → 20 %), whose
check-ins show the effect of the smart attendance reminders shipped six weeks ago (see
`quarterdeck.demo.backlog`, feature ``reminders``).
"""

import datetime as dt

from django.utils import timezone

from quarterdeck.strategy.models import Direction, quarter_of
from quarterdeck.strategy.services import check_in_create, key_result_create, objective_create


def _reminders_shift() -> int:
    """Days to add to the reminders' story so that they ship on the 10th of last month.

    The story below is written as if they shipped 21 days ago; shifting it keeps the headline
    shipped-and-measured feature in the previous calendar month whatever day the demo is loaded,
    so last month's newsletter always reports it.
    """
    today = timezone.localdate()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=10)
    return (today - last_month).days - 21


REMINDERS_SHIFT = _reminders_shift()
# Days before today that the attendance reminders started rolling out (other parts use it too).
REMINDERS_SHIPPED_DAYS_AGO = 42 + REMINDERS_SHIFT

# objective key: (title, description, squad key or None, owner key, [key results])
# key result: (key, metric, unit, baseline, target, direction, [check-ins]);
# check-in: (days ago, value, confidence, comment)
OBJECTIVES = {
    "engaged": (
        "More engaged students",
        "Students who attend and practise every week finish their course and get hired.",
        None,
        "pm",
        [
            (
                "absenteeism",
                "Reduce absenteeism by 20% (share of missed live sessions)",
                "%",
                25.0,
                20.0,
                Direction.DECREASE,
                [
                    (84, 25.0, 0.6, "Baseline from last quarter's attendance export."),
                    (70, 25.4, 0.5, "Exam period: more absences than usual."),
                    (56, 24.9, 0.5, "No change yet; reminders are in QA."),
                    (42, 24.6, 0.6, "Reminders started rolling out to 20% of cohorts."),
                    (28, 22.9, 0.7, "Cohorts with reminders miss fewer sessions."),
                    (14, 21.8, 0.75, "All cohorts now get the 24h and 1h reminders."),
                    (3, 21.2, 0.8, "On track; push reminders help most in the evening sessions."),
                ],
            ),
            (
                "weekly_active",
                "Weekly active students",
                "%",
                58.0,
                70.0,
                Direction.INCREASE,
                [
                    (70, 58.0, 0.6, ""),
                    (42, 60.5, 0.6, "Project dashboard beta helped returning students."),
                    (14, 63.0, 0.65, "More returning students since the project dashboard."),
                ],
            ),
            (
                "on_time",
                "Projects submitted on time",
                "%",
                64.0,
                75.0,
                Direction.INCREASE,
                [
                    (60, 64.0, 0.5, ""),
                    (30, 65.5, 0.45, ""),
                    (7, 66.0, 0.4, "Slow: feedback delays."),
                ],
            ),
        ],
    ),
    "placement": (
        "Place more graduates in jobs",
        "Employers find our graduates and hire them within six months of graduation.",
        "careers",
        "pm_careers",
        [
            (
                "hired",
                "Graduates hired within 6 months",
                "%",
                61.0,
                70.0,
                Direction.INCREASE,
                [
                    (75, 61.0, 0.6, ""),
                    (45, 62.0, 0.55, ""),
                    (10, 63.5, 0.5, "Hiring slowed in fintech."),
                ],
            ),
            (
                "employers",
                "Employer partners with an open role",
                "",
                38.0,
                55.0,
                Direction.INCREASE,
                [(60, 38.0, 0.6, ""), (20, 44.0, 0.65, "Six new partners after the career fair.")],
            ),
        ],
    ),
    "operations": (
        "Run the school with less manual work",
        "Our teams spend their time with students, not on scheduling and repetitive answers.",
        "platform",
        "pm_platform",
        [
            (
                "tickets",
                "Support tickets per 100 students per month",
                "",
                14.0,
                9.0,
                Direction.DECREASE,
                [
                    (80, 14.0, 0.6, ""),
                    (40, 12.5, 0.6, "Certificates no longer need a ticket."),
                    (8, 12.1, 0.6, ""),
                ],
            ),
            (
                "scheduling_hours",
                "Hours of manual mentor scheduling per week",
                "h",
                30.0,
                10.0,
                Direction.DECREASE,
                [(60, 30.0, 0.5, ""), (25, 26.0, 0.55, "Calendar sync rolling out to mentors.")],
            ),
        ],
    ),
}


def build(ctx) -> None:
    quarter = quarter_of(ctx.today)
    for key, (title, description, squad_key, owner_key, key_results) in OBJECTIVES.items():
        owner = ctx.users[owner_key]
        with ctx.at(ctx.moment(95)):
            objective = objective_create(
                workspace=ctx.workspace,
                title=title,
                description=description,
                quarter=quarter,
                squad=ctx.squads[squad_key] if squad_key else None,
                owner=owner,
                by=owner,
            )
        ctx.objectives[key] = objective
        for kr_key, metric, unit, baseline, target, direction, check_ins in key_results:
            with ctx.at(ctx.moment(94)):
                kr = key_result_create(
                    objective=objective,
                    metric=metric,
                    unit=unit,
                    baseline=baseline,
                    target=target,
                    direction=direction,
                    by=owner,
                )
            ctx.key_results[kr_key] = kr
            for days_ago, value, confidence, comment in check_ins:
                if kr_key == "absenteeism":
                    days_ago = max(1, days_ago + REMINDERS_SHIFT)
                with ctx.at(ctx.moment(days_ago, 16)):
                    check_in_create(
                        key_result=kr,
                        value=value,
                        confidence=confidence,
                        comment=comment,
                        checked_on=ctx.day(days_ago),
                        by=owner,
                    )
