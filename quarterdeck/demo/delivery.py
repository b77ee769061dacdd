"""Delivery records consistent with each demo feature's status: engineering's open evaluation
requests, UX test rounds with stakeholder panels, QA checks of the expected outcomes, demos,
rollout plans, communication plans and onboarding steps.

A feature in design has had a UX round; one in QA has checks (one still failing or pending);
from ready-to-deploy on every check has passed and a rollout is planned; rolling-out features
have stages done and active; shipped and measured ones have completed rollouts, sent
communications and onboarding. Records are dated before the feature's last move.
"""

import datetime as dt
import re

from quarterdeck.backlog import services
from quarterdeck.backlog.models import Status, UxTest
from quarterdeck.backlog.status import FLOW

SQUAD_ENGINEERS = {"learning": "contributor", "careers": "kofi", "platform": "olga"}
SQUAD_PM = {"learning": "pm", "careers": "pm_careers", "platform": "pm_platform"}
PANEL_SEGMENTS = {"learning": "student", "careers": "employer", "platform": "mentor"}

ONBOARDING = {
    "reminders": [
        (
            "Reminders are on",
            "We'll remind you of each live session the day before and an hour before.",
        ),
        ("Choose how", "Pick email, push or both in Settings → Notifications."),
    ],
    "reminders_email": [
        ("Check your inbox", "The reminder email carries the join link and the topic.")
    ],
    "reminders_push": [
        ("Allow notifications", "Allow Lumen to notify you so you never miss a session.")
    ],
    "dashboard": [
        ("Your new home", "Your projects, next session and latest feedback are all here."),
        ("Pin what matters", "Pin a project to keep it at the top."),
    ],
    "calendar": [
        ("Sync your calendar", "Connect Google or Outlook: sessions appear in your calendar."),
    ],
    "calendar_google": [
        ("Connect Google Calendar", "Sign in with Google once; we keep it up to date.")
    ],
    "certificates": [
        (
            "Share your certificate",
            "Add it to your profile with one click; employers can verify it.",
        ),
    ],
}


def _rank(status: str) -> int:
    return FLOW.index(status) if status in FLOW else -1


def _outcomes(text: str) -> list[str]:
    parts = re.split(r"[;\n]|\.\s+", text or "")
    outcomes = [p.strip().rstrip(".")[:300] for p in parts if p.strip()]
    return [o[0].upper() + o[1:] for o in outcomes]


def _days_ago(ctx, when) -> int:
    if when is None:
        return 5
    return max((ctx.today - when.date()).days, 0)


def _panel(ctx, squad_key: str, n: int = 3) -> list:
    people = ctx.extra.get("stakeholders_by_segment", {}).get(PANEL_SEGMENTS.get(squad_key, ""), [])
    if not people:
        people = list(ctx.stakeholders.values())
    return ctx.random.sample(people, min(n, len(people)))


def _squad_key(ctx, feature) -> str:
    for key, squad in ctx.squads.items():
        if squad.pk == feature.squad_id:
            return key
    return "learning"


def build(ctx) -> None:
    for key, feature in ctx.features.items():
        feature.refresh_from_db()
        _records(ctx, key, feature)
    _requests(ctx)


def _records(ctx, key: str, feature) -> None:
    status = feature.status
    reached = _rank(status)
    if status in (Status.DECLINED, Status.PARKED):
        return
    squad = _squad_key(ctx, feature)
    pm = ctx.users[SQUAD_PM.get(squad, "pm")]
    engineer = ctx.users[SQUAD_ENGINEERS.get(squad, "contributor")]
    qa_person = ctx.users.get("tom", engineer)
    last_move = _days_ago(ctx, feature.status_changed_at)

    def at(days_before_last_move: int, hour: int = 11):
        return ctx.at(ctx.moment(last_move + days_before_last_move, hour))

    # UX tests: from design on; a second round after an "iterate" for larger features.
    if reached >= FLOW.index(Status.DESIGNING):
        in_design = status == Status.DESIGNING
        first_verdict = (
            "iterate" if key in ("mobile", "careers", "calendar", "booking") else "proceed"
        )
        with at(12 if not in_design else 2):
            test = services.ux_test_create(
                feature=feature,
                by=pm,
                prototype_url=f"https://prototypes.lumen.example/{key}/v1",
                participants=_panel(ctx, squad),
                findings=(
                    "Participants found their way without help; two asked for a clearer label "
                    "on the main action."
                    if first_verdict == "proceed"
                    else "Three of four participants missed the entry point; the flow needs a "
                    "simpler first step."
                ),
                verdict="proceed" if first_verdict == "proceed" and not in_design else "pending",
                tested_on=ctx.day(last_move + (12 if not in_design else 2)),
            )
            if first_verdict == "iterate" and not in_design:
                # History: that iteration already happened, before the feature's later moves.
                UxTest.objects.filter(pk=test.pk).update(verdict="iterate")
        if first_verdict == "iterate" and not in_design:
            with at(8):
                services.ux_test_create(
                    feature=feature,
                    by=pm,
                    prototype_url=f"https://prototypes.lumen.example/{key}/v2",
                    participants=_panel(ctx, squad),
                    findings="The simplified first step worked for every participant.",
                    verdict="proceed",
                    tested_on=ctx.day(last_move + 8),
                )

    # QA checks: from QA on, one per expected outcome.
    if reached >= FLOW.index(Status.IN_QA):
        outcomes = _outcomes(feature.expected_outcomes) or [f"{feature.title} works end to end"]
        for i, outcome in enumerate(outcomes):
            if status == Status.IN_QA:
                result = "pass" if i == 0 and len(outcomes) > 1 else "fail" if i == 1 else "pending"
            else:
                result = "pass"
            notes = {
                "pass": "Checked on staging with production-like data.",
                "fail": "Fails on older Android phones; fix in progress.",
                "pending": "",
            }[result]
            with at(3 + i):
                services.qa_check_create(
                    feature=feature, outcome=outcome, result=result, notes=notes, by=qa_person
                )

    # Demo: once it exists in QA.
    if reached >= FLOW.index(Status.IN_QA):
        with at(2, 16):
            services.demo_create(
                feature=feature,
                held_on=ctx.day(last_move + 2),
                audience="Squad review with support and sales",
                recording_url=f"https://recordings.lumen.example/demo-{key}",
                notes="Questions from support about the settings page were answered live.",
                by=pm,
            )

    # Rollout plan: from ready to deploy on.
    if reached >= FLOW.index(Status.READY_TO_DEPLOY):
        done = reached >= FLOW.index(Status.SHIPPED)
        rolling = status == Status.ROLLING_OUT
        stages = [
            (10, None, "done" if (done or rolling) else "planned"),
            (
                None,
                ctx.segments.get("student"),
                "done" if done else "active" if rolling else "planned",
            ),
            (100, None, "done" if done else "planned"),
        ]
        for i, (percent, segment, state) in enumerate(stages):
            with at(1):
                services.rollout_stage_create(
                    feature=feature,
                    by=pm,
                    starts_on=ctx.day(last_move) + dt.timedelta(days=7 * i),
                    percent=percent,
                    segment=segment,
                    state=state,
                )

    # Communication plan: from ready to deploy on; sent once shipped.
    if reached >= FLOW.index(Status.READY_TO_DEPLOY):
        sent = reached >= FLOW.index(Status.SHIPPED)
        items = [
            ("Students", "in_app", f"New: {feature.title}. Try it from your dashboard."),
            ("All users", "newsletter", f"{feature.title} is here — what it does and why."),
            ("Support team", "meeting", "Walkthrough and answers to the likely questions."),
        ]
        for i, (audience, channel, message) in enumerate(items):
            with at(1):
                services.comms_item_create(
                    feature=feature,
                    by=pm,
                    audience=audience,
                    channel=channel,
                    message=message,
                    send_on=ctx.day(last_move) + dt.timedelta(days=2 + 5 * i),
                    sent=sent or (status == Status.ROLLING_OUT and i == 0),
                )

    # Onboarding: written while rolling out.
    if reached >= FLOW.index(Status.ROLLING_OUT):
        for title, body in ONBOARDING.get(key, [(f"Meet {feature.title}", "A short tour.")]):
            with at(1):
                services.onboarding_step_create(feature=feature, title=title, body=body, by=pm)


def _requests(ctx) -> None:
    """Open estimate requests for features still being considered or studied."""
    asked = 0
    for feature in ctx.features.values():
        if feature.status not in (Status.UNDER_CONSIDERATION, Status.STUDYING, Status.NEW):
            continue
        if feature.evaluations.exists() or asked >= 4:
            continue
        squad = _squad_key(ctx, feature)
        engineer = ctx.users["contributor"] if asked % 2 == 0 else ctx.users[SQUAD_ENGINEERS[squad]]
        with ctx.at(ctx.moment(2 + asked, 9)):
            services.evaluation_request_create(
                feature=feature,
                assignee=engineer,
                by=ctx.users[SQUAD_PM.get(squad, "pm")],
                note="A rough size is enough for Thursday's priority review.",
            )
        asked += 1
