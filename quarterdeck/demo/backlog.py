"""The backlog: ~30 features and slices in every status, with the needs they answer, the drivers
and key results they serve, engineering's evaluations and a dated status history.

The demo represents history, so statuses are set directly along the status flow (each move is an
Activity dated in the past) rather than through guards that need delivery records. Several features
shipped last month; "Smart attendance reminders" shipped on the 10th of last month and is
measured: the absenteeism key result's check-ins before and after its rollout show the effect.
"""

import datetime as dt

from django.utils import timezone

from quarterdeck.backlog.models import Risk, Status
from quarterdeck.backlog.services import evaluation_create, feature_create
from quarterdeck.backlog.status import FLOW
from quarterdeck.core import activity
from quarterdeck.demo.strategy import REMINDERS_SHIFT

SQUAD_PM = {"learning": "pm", "careers": "pm_careers", "platform": "pm_platform"}
ENGINEER = {"learning": "contributor", "careers": "kofi", "platform": "olga"}


def _last_month(ctx, day_of_previous_month: int) -> int:
    """Days ago of a day in the previous calendar month."""
    first = ctx.today.replace(day=1)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    last_day = (first - dt.timedelta(days=1)).day
    target = previous.replace(day=min(day_of_previous_month, last_day))
    return (ctx.today - target).days


def features(ctx) -> list[dict]:
    """Every feature: key, title, squad, status, timing (days ago), relations and estimate."""
    return [
        # Learning Experience
        dict(
            key="reminders",
            title="Smart attendance reminders",
            squad="learning",
            status=Status.MEASURED,
            created=150,
            moves={
                Status.IN_QA: 60 + REMINDERS_SHIFT,
                Status.READY_TO_DEPLOY: 48 + REMINDERS_SHIFT,
                Status.ROLLING_OUT: 42 + REMINDERS_SHIFT,
                Status.SHIPPED: 21 + REMINDERS_SHIFT,
                Status.MEASURED: 3,
            },
            needs=["reminders", "dropout_alert"],
            drivers={"engagement": 3, "automation": 1},
            key_results=["absenteeism"],
            effort=3,
            risk=Risk.LOW,
            description="Remind students of each live session by email 24 hours before and by "
            "push notification one hour before, with the join link and the topic.",
            expected="Absence at live sessions falls from 25% to 20% within two months; fewer "
            "than 5% of students turn reminders off.",
        ),
        dict(
            key="reminders_email",
            parent="reminders",
            title="Email reminder 24 hours before a live session",
            squad="learning",
            status=Status.SHIPPED,
            created=120,
            moves={Status.SHIPPED: 35 + REMINDERS_SHIFT},
            needs=["reminders"],
            drivers={"engagement": 2},
            effort=1,
            risk=Risk.LOW,
            expected="Reminder email opened by at least 60% of students.",
        ),
        dict(
            key="reminders_push",
            parent="reminders",
            title="Push notification one hour before",
            squad="learning",
            status=Status.SHIPPED,
            created=120,
            moves={Status.SHIPPED: 21 + REMINDERS_SHIFT},
            needs=["reminders"],
            drivers={"engagement": 3},
            effort=2,
            risk=Risk.MEDIUM,
            expected="Evening sessions see the largest drop in absences.",
        ),
        dict(
            key="dashboard",
            title="Project dashboard on the home page",
            squad="learning",
            status=Status.SHIPPED,
            created=130,
            moves={Status.SHIPPED: _last_month(ctx, 18)},
            needs=["projects"],
            drivers={"engagement": 2},
            key_results=["weekly_active"],
            effort=4,
            risk=Risk.LOW,
            description="The current project, its brief, its deadline and the latest mentor "
            "feedback are the first thing a student sees after signing in.",
            expected="Weekly active students up 5 points; fewer 'where is my project' tickets.",
        ),
        dict(
            key="progress",
            title="Course progress bar and graduation forecast",
            squad="learning",
            status=Status.READY_TO_DEPLOY,
            created=100,
            moves={Status.READY_TO_DEPLOY: 4},
            needs=["progress"],
            drivers={"engagement": 2},
            key_results=["on_time"],
            effort=3,
            risk=Risk.LOW,
            release=10,
            expected="Students behind schedule are told early; on-time submissions reach 70%.",
        ),
        dict(
            key="mobile",
            title="Mobile learning",
            squad="learning",
            status=Status.IN_ENGINEERING,
            created=110,
            moves={Status.IN_ENGINEERING: 20},
            needs=["mobile", "offline"],
            drivers={"engagement": 2, "acquisition": 1},
            key_results=["weekly_active"],
            effort=10,
            risk=Risk.HIGH,
            release=60,
            description="Make the course usable on a phone: readable lessons, offline videos and "
            "quizzes that work on small screens.",
            expected="A third of lesson views happen on mobile; app store rating above 4.3.",
        ),
        dict(
            key="mobile_offline",
            parent="mobile",
            title="Offline lesson downloads",
            squad="learning",
            status=Status.IN_ENGINEERING,
            created=90,
            moves={Status.IN_ENGINEERING: 15},
            needs=["offline"],
            drivers={"engagement": 2},
            effort=4,
            risk=Risk.HIGH,
            release=30,
            expected="Students download lessons on wifi and watch them with no connection.",
        ),
        dict(
            key="mobile_reading",
            parent="mobile",
            title="Readable lessons on small screens",
            squad="learning",
            status=Status.IN_QA,
            created=90,
            moves={Status.IN_QA: 6},
            needs=["mobile"],
            drivers={"engagement": 1},
            effort=2,
            risk=Risk.LOW,
            release=14,
            expected="No horizontal scrolling on lesson pages at 375 px; code blocks wrap.",
        ),
        dict(
            key="mobile_quizzes",
            parent="mobile",
            title="Mobile quizzes",
            squad="learning",
            status=Status.DESIGNING,
            created=80,
            moves={Status.DESIGNING: 12},
            needs=["mobile"],
            drivers={"engagement": 1},
            effort=3,
            risk=Risk.MEDIUM,
            expected="Quiz completion on phones matches desktop.",
        ),
        dict(
            key="study_groups",
            title="Study-group matching",
            squad="learning",
            status=Status.UNDER_CONSIDERATION,
            created=40,
            moves={Status.UNDER_CONSIDERATION: 30},
            needs=["study_group"],
            drivers={"engagement": 2},
            effort=5,
            risk=Risk.MEDIUM,
            expected="Students in a study group complete 20% more projects.",
        ),
        dict(
            key="pause",
            title="Pause my course",
            squad="learning",
            status=Status.UNDER_CONSIDERATION,
            created=35,
            moves={Status.UNDER_CONSIDERATION: 25},
            needs=["pause"],
            drivers={"engagement": 1, "automation": 1},
            effort=2,
            risk=Risk.MEDIUM,
            expected="Students pause instead of dropping out; no pause email to admissions.",
        ),
        dict(
            key="dropout",
            title="Drop-out early-warning alerts",
            squad="learning",
            status=Status.NEW,
            created=9,
            needs=["dropout_alert"],
            drivers={"engagement": 3},
            key_results=["absenteeism"],
            expected="Coaches call at-risk students within two days of the second absence.",
        ),
        dict(
            key="leaderboard",
            title="Gamified cohort leaderboard",
            squad="learning",
            status=Status.DECLINED,
            created=140,
            moves={Status.UNDER_CONSIDERATION: 130, Status.DECLINED: 115},
            reason="In interviews students said public rankings stress them; we focus on "
            "personal progress instead (see the course progress bar).",
            drivers={"engagement": 1},
            effort=3,
            risk=Risk.MEDIUM,
        ),
        # Careers & Employers
        dict(
            key="careers",
            title="Careers platform",
            squad="careers",
            status=Status.STUDYING,
            created=100,
            moves={Status.STUDYING: 50},
            needs=["candidate_search", "portfolio", "pipeline"],
            drivers={"placement": 3, "acquisition": 1},
            key_results=["hired", "employers"],
            effort=16,
            risk=Risk.HIGH,
            description="Employers find, evaluate and follow our graduates without going through "
            "the career team for every request.",
            expected="Graduates hired within six months reach 70%; 55 employers with an open role.",
        ),
        dict(
            key="search",
            parent="careers",
            title="Graduate search for employers",
            squad="careers",
            status=Status.STUDYING,
            created=80,
            moves={Status.STUDYING: 26},
            needs=["candidate_search"],
            drivers={"placement": 3, "acquisition": 1},
            key_results=["hired", "employers"],
            effort=6,
            risk=Risk.MEDIUM,
            expected="Employers build a shortlist in a day instead of a week.",
        ),
        dict(
            key="portfolio",
            parent="careers",
            title="Public portfolio pages",
            squad="careers",
            status=Status.DESIGNING,
            created=80,
            moves={Status.DESIGNING: 18},
            needs=["portfolio"],
            drivers={"placement": 3},
            key_results=["hired"],
            effort=4,
            risk=Risk.LOW,
            release=45,
            expected="Half of the graduates share a portfolio link in their applications.",
        ),
        dict(
            key="pipeline",
            parent="careers",
            title="Hiring pipeline board for employers",
            squad="careers",
            status=Status.NEW,
            created=12,
            needs=["pipeline"],
            drivers={"placement": 2},
            expected="Interview outcomes reach us without chasing employers.",
        ),
        dict(
            key="skills_report",
            title="Skills-in-demand report",
            squad="careers",
            status=Status.UNDER_CONSIDERATION,
            created=45,
            moves={Status.UNDER_CONSIDERATION: 33},
            needs=["skills"],
            drivers={"placement": 2, "acquisition": 1},
            effort=2,
            risk=Risk.LOW,
            expected="Students pick electives that match what partner employers ask for.",
        ),
        dict(
            key="verify",
            title="Online certificate verification",
            squad="careers",
            status=Status.NEW,
            created=6,
            needs=["certificates"],
            drivers={"placement": 1},
        ),
        dict(
            key="job_board",
            title="Partner job board",
            squad="careers",
            status=Status.PARKED,
            created=160,
            moves={Status.UNDER_CONSIDERATION: 150, Status.PARKED: 120},
            reason="Parked until graduate search ships: employers prefer searching candidates "
            "to posting jobs.",
            drivers={"placement": 2},
            effort=5,
            risk=Risk.MEDIUM,
        ),
        # Mentors & Operations
        dict(
            key="calendar",
            title="Mentor calendar sync",
            squad="platform",
            status=Status.ROLLING_OUT,
            created=120,
            moves={Status.ROLLING_OUT: 25},
            needs=["mentor_calendar", "booking"],
            drivers={"automation": 3, "engagement": 1},
            key_results=["scheduling_hours"],
            effort=5,
            risk=Risk.MEDIUM,
            release=10,
            description="Mentors connect their calendar; their free slots on Lumen follow it.",
            expected="No double bookings; manual scheduling falls under 10 hours a week.",
        ),
        dict(
            key="calendar_google",
            parent="calendar",
            title="Google Calendar sync",
            squad="platform",
            status=Status.ROLLING_OUT,
            created=110,
            moves={Status.ROLLING_OUT: 25},
            needs=["mentor_calendar"],
            drivers={"automation": 3},
            effort=3,
            risk=Risk.MEDIUM,
        ),
        dict(
            key="calendar_outlook",
            parent="calendar",
            title="Outlook calendar sync",
            squad="platform",
            status=Status.IN_ENGINEERING,
            created=110,
            moves={Status.IN_ENGINEERING: 10},
            needs=["mentor_calendar"],
            drivers={"automation": 2},
            effort=2,
            risk=Risk.MEDIUM,
            release=25,
        ),
        dict(
            key="booking",
            title="Instant mentor booking",
            squad="platform",
            status=Status.DESIGNING,
            created=70,
            moves={Status.DESIGNING: 14},
            needs=["booking"],
            drivers={"engagement": 3},
            key_results=["weekly_active"],
            effort=4,
            risk=Risk.MEDIUM,
            release=50,
            description="Students pick a free slot in their mentor's calendar, or any available "
            "mentor's when theirs is away.",
            expected="Median wait for a mentor session under 24 hours.",
        ),
        dict(
            key="queue",
            title="Unified review queue for mentors",
            squad="platform",
            status=Status.IN_QA,
            created=90,
            moves={Status.IN_QA: 5},
            needs=["review_queue", "review_speed"],
            drivers={"engagement": 2, "automation": 1},
            key_results=["on_time"],
            effort=3,
            risk=Risk.LOW,
            release=12,
            expected="Every submitted project appears in one queue, oldest first; reviews take "
            "two days at most.",
        ),
        dict(
            key="certificates",
            title="Automatic certificates at graduation",
            squad="platform",
            status=Status.SHIPPED,
            created=140,
            moves={Status.SHIPPED: _last_month(ctx, 6)},
            needs=["certificates"],
            drivers={"automation": 3},
            key_results=["tickets"],
            effort=2,
            risk=Risk.LOW,
            expected="Certificates sent the day of graduation; no certificate tickets.",
        ),
        dict(
            key="answers",
            title="Suggested answers for support",
            squad="platform",
            status=Status.UNDER_CONSIDERATION,
            created=50,
            moves={Status.UNDER_CONSIDERATION: 20},
            needs=["support_answers"],
            drivers={"automation": 3},
            key_results=["tickets"],
            effort=4,
            risk=Risk.MEDIUM,
            expected="First response under 2 hours; new agents productive in their first week.",
        ),
        dict(
            key="sla",
            title="Review turnaround tracker",
            squad="platform",
            status=Status.STUDYING,
            created=40,
            moves={Status.STUDYING: 16},
            needs=["review_speed"],
            drivers={"engagement": 2},
            key_results=["on_time"],
            effort=2,
            risk=Risk.LOW,
        ),
        dict(
            key="context",
            title="Student context panel for mentors",
            squad="platform",
            status=Status.NEW,
            created=8,
            needs=["student_context"],
            drivers={"engagement": 1},
        ),
        dict(
            key="invoices",
            title="Mentor sessions and invoices page",
            squad="platform",
            status=Status.NEW,
            created=4,
            needs=["mentor_pay"],
            drivers={"automation": 2},
        ),
        dict(
            key="video",
            title="In-house live video rooms",
            squad="platform",
            status=Status.PARKED,
            created=170,
            moves={Status.UNDER_CONSIDERATION: 160, Status.STUDYING: 140, Status.PARKED: 110},
            reason="We keep Zoom for live sessions this year: building our own video is too "
            "costly for what it would add.",
            drivers={"automation": 1, "engagement": 1},
            effort=20,
            risk=Risk.HIGH,
        ),
    ]


def _path(status: str, moves: dict) -> list[str]:
    """The moves from `new` that lead to `status` (through the steps named in `moves`)."""
    if status in FLOW:
        return list(FLOW[1 : FLOW.index(status) + 1])
    reached = [FLOW.index(s) for s in moves if s in FLOW]
    return list(FLOW[1 : max(reached, default=1) + 1]) + [status]


def _history(ctx, feature, spec, by) -> None:
    """Move `feature` along the flow to its status, each move dated between creation and the
    dates given in `moves` (days ago), recording the Activity a real move would."""
    path = _path(spec["status"], spec.get("moves", {}))
    if not path:
        return
    moves = dict(spec.get("moves", {}))
    moves.setdefault(path[-1], max(spec["created"] - 5, 0))
    # Interpolate the dates of intermediate steps between the known ones.
    known = [(-1, spec["created"])] + [
        (path.index(s), d) for s, d in sorted(moves.items(), key=lambda kv: path.index(kv[0]))
    ]
    dated: list[tuple[str, float]] = []
    for (i0, d0), (i1, d1) in zip(known, known[1:], strict=False):
        for i in range(i0 + 1, i1 + 1):
            dated.append((path[i], d0 - (d0 - d1) * (i - i0) / (i1 - i0)))
    for status, days_ago in dated:
        with ctx.at(ctx.moment(days_ago, 14, 30)):
            old = feature.status
            feature.status = status
            feature.status_changed_at = timezone.now()
            reason = spec.get("reason", "") if status in (Status.DECLINED, Status.PARKED) else ""
            if status == Status.DECLINED:
                feature.decline_reason = reason
            feature.save(
                update_fields=["status", "status_changed_at", "decline_reason", "updated_at"]
            )
            activity.record(
                workspace=ctx.workspace,
                actor=by,
                verb="status_changed",
                target=feature,
                changes={"status": [old, status]},
                message=reason,
            )
            if status == Status.STUDYING and spec.get("effort") is not None:
                _evaluate(ctx, feature, spec)
    if spec.get("effort") is not None and not feature.evaluations.exists():
        with ctx.at(ctx.moment(max(spec["created"] - 3, 0), 11)):
            _evaluate(ctx, feature, spec)


def _evaluate(ctx, feature, spec) -> None:
    evaluation_create(
        feature=feature,
        effort=spec["effort"],
        risk=spec["risk"],
        risk_notes={
            Risk.LOW: "Known territory; reuses existing components.",
            Risk.MEDIUM: "Depends on a third-party API we have not used yet.",
            Risk.HIGH: "New platform work; estimate will be refined after a spike.",
        }[spec["risk"]],
        confidence={Risk.LOW: 0.85, Risk.MEDIUM: 0.7, Risk.HIGH: 0.5}[spec["risk"]],
        by=ctx.users[ENGINEER[spec["squad"]]],
    )


def build(ctx) -> None:
    for spec in features(ctx):
        owner = ctx.users[SQUAD_PM[spec["squad"]]]
        release = spec.get("release")
        shipped = spec.get("moves", {}).get(Status.SHIPPED)
        with ctx.at(ctx.moment(spec["created"], 9, 15)):
            feature = feature_create(
                workspace=ctx.workspace,
                title=spec["title"],
                description=spec.get("description", ""),
                parent=ctx.features.get(spec.get("parent", "")),
                squad=ctx.squads[spec["squad"]],
                owner=owner,
                expected_outcomes=spec.get("expected", ""),
                target_release=(
                    ctx.today + dt.timedelta(days=release)
                    if release
                    else (ctx.day(shipped) if shipped is not None else None)
                ),
                needs=[ctx.needs[k] for k in spec.get("needs", [])],
                key_results=[ctx.key_results[k] for k in spec.get("key_results", [])],
                drivers={ctx.drivers[k]: c for k, c in spec.get("drivers", {}).items()},
                by=owner,
            )
        ctx.features[spec["key"]] = feature
        _history(ctx, feature, spec, owner)
