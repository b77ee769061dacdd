# ruff: noqa: E501 - hand-written quotes read better on one line each
"""What Lumen Academy's students, mentors, employers and employees told us: ~80 stakeholders,
20 needs in their words, and ~300 insights from several channels.

Insights are composed from hand-written sentences: each need has quotes per segment (the part a
product manager highlights when linking), placed between an opening and a closing that sound like
the channel they came from. Most are linked to their need with an importance; the most recent ones
are left untriaged for the inbox, and a few off-topic ones are archived.
"""

from quarterdeck.insights.models import Channel, Importance, InsightState
from quarterdeck.insights.services import (
    insight_create,
    insight_link,
    need_create,
    stakeholder_create,
)

COURSES = [
    "Full-Stack Web Development",
    "Data Analytics",
    "UX Design",
    "Cloud Engineering",
    "Cybersecurity Foundations",
]

FIRST_NAMES = [
    "Aisha", "Ben", "Camille", "Dmitri", "Elena", "Farid", "Grace", "Hannah", "Ibrahim", "Julia",
    "Karim", "Laura", "Mateo", "Nora", "Oliver", "Paula", "Quentin", "Rosa", "Sofia", "Theo",
    "Uma", "Victor", "Wen", "Ximena", "Yann", "Zoe", "Adrien", "Bianca", "Chen", "Dalia",
    "Emil", "Fatou", "Gabriel", "Helena", "Ilyas", "Jonas", "Kenji", "Lina", "Mika", "Nadia",
]  # fmt: skip
LAST_NAMES = [
    "Abebe", "Bernard", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hoffmann", "Ivanova",
    "Jensen", "Kowalski", "Laurent", "Moreau", "Novak", "Olsen", "Pereira", "Quinn", "Richter",
    "Santos", "Traoré", "Urbina", "Vogel", "Wójcik", "Yilmaz", "Zhang", "Andersen", "Brunet",
    "Chevalier", "Diallo", "Esposito", "Fontaine", "Greco",
]  # fmt: skip

EMPLOYERS = [
    ("Northwind Logistics", 2.0),
    ("Brightpath Health", 1.5),
    ("Finch Bank", 2.5),
    ("Orbit Retail", 1.2),
    ("Kestrel Software", 1.8),
    ("Harbor Insurance", 1.4),
    ("Tidewater Energy", 1.0),
    ("Pixel & Pine Studio", 0.8),
    ("Meridian Consulting", 1.6),
    ("Greenleaf Foods", 1.0),
    ("Atlas Mobility", 1.3),
    ("Cobalt Analytics", 2.0),
]
EMPLOYEE_TEAMS = ["Student support", "Career coaching", "Admissions", "Mentor success"]
COUNTS = {"student": 44, "mentor": 14, "employer": 12, "employee": 10}

CHANNELS = {
    "student": [Channel.IN_APP, Channel.SURVEY, Channel.SUPPORT, Channel.APP_REVIEW, Channel.CHAT],
    "mentor": [Channel.INTERVIEW, Channel.EMAIL, Channel.CHAT, Channel.SURVEY],
    "employer": [Channel.SALES_CALL, Channel.EMAIL, Channel.INTERVIEW],
    "employee": [Channel.EMAIL, Channel.CHAT, Channel.INTERVIEW],
}

OPENERS = {
    "student": [
        "I'm in the {course} course and mostly enjoying it.",
        "Hi, quick feedback from the {course} cohort.",
        "Overall the course is great, but one thing keeps bothering me.",
        "I study in the evenings after work, so time matters a lot to me.",
        "Week 6 of {course} here.",
        "",
        "",
        "Love the mentors, honestly.",
    ],
    "mentor": [
        "I mentor six students in {course}.",
        "From the mentor side:",
        "After my sessions this week, one thing stood out.",
        "",
        "I've been mentoring with Lumen for two years now.",
    ],
    "employer": [
        "We hired two of your {course} graduates last year and they're doing well.",
        "Speaking for our recruiting team:",
        "We are opening three junior positions next quarter.",
        "",
        "Our engineering manager asked me to pass this on.",
    ],
    "employee": [
        "From the support desk:",
        "Raising this after our team retro.",
        "This came up again in this week's coaching calls.",
        "",
    ],
}
CLOSERS = {
    "student": [
        "Thanks!",
        "Otherwise all good.",
        "It would make a real difference for me.",
        "",
        "",
        "Not sure if others feel the same.",
        "Please consider it.",
    ],
    "mentor": ["Happy to discuss.", "", "It would save me a lot of time.", "Cheers."],
    "employer": [
        "Let me know if you want to jump on a call.",
        "",
        "That would make us hire from you more often.",
    ],
    "employee": ["", "Happy to share the ticket examples.", "It's a big chunk of our week."],
}

# need key: title, description, squad (who triages), demand (linked insights), quotes by segment
NEEDS = {
    "reminders": (
        "As a student I want reminders before live sessions so I don't miss them",
        "Students miss live sessions because they forget the time or the link, especially in the "
        "evening cohorts. Absences are the first sign of drop-out.",
        "learning",
        16,
        {
            "student": [
                "I missed two live sessions this month simply because I forgot they were on.",
                "A reminder an hour before the live session would save me, I lose track of time.",
                "The calendar invite comes once at the start of the course and then I never see it again.",
                "I only notice the live class started when a classmate messages me.",
                "Could you text or notify me before the evening session? Email alone gets buried.",
                "I keep missing the Thursday workshops because the time changed and I didn't see it.",
            ],
            "employee": [
                "Many of the absence tickets are students who simply forgot the session time.",
                "Students ask us for the session link ten minutes after the session started.",
            ],
            "mentor": [
                "Half of my no-shows tell me afterwards they forgot the session was today.",
            ],
        },
    ),
    "projects": (
        "As a student I'd like quicker access to my projects",
        "Finding the current project, its brief and the last feedback takes several clicks.",
        "learning",
        12,
        {
            "student": [
                "It takes me five clicks to get back to the project I'm working on.",
                "I wish my current project was the first thing I see when I log in.",
                "I can never find the brief and the mentor's feedback in the same place.",
                "I bookmark my project page because the navigation is so confusing.",
                "On the dashboard I see announcements but not my own projects.",
            ],
            "mentor": [
                "Students waste the first ten minutes of a session looking for their project files.",
            ],
        },
    ),
    "booking": (
        "As a student I want to book a mentor session without waiting days",
        "Booking a mentor goes through email back-and-forth; students wait 3–5 days for a slot.",
        "platform",
        15,
        {
            "student": [
                "Booking a session with my mentor takes days of emails back and forth.",
                "I'm stuck on my project and the first mentor slot is next week.",
                "I'd love to just pick a free slot in my mentor's calendar.",
                "When my mentor cancels, there's no way to quickly get another one.",
                "I gave up on asking for an extra session because it took too long to schedule.",
            ],
            "mentor": [
                "Scheduling with students by email eats an hour of my week.",
                "Students can't see when I'm free, so we ping-pong for days.",
            ],
            "employee": [
                "We manually find replacement mentors when someone is sick, it's all spreadsheets.",
            ],
        },
    ),
    "offline": (
        "As a student I want to watch lessons offline on my commute",
        "Students study on the train or in places with poor connectivity.",
        "learning",
        9,
        {
            "student": [
                "I study on the train and the videos keep buffering, I'd like to download them.",
                "Please let me save lessons offline, my internet at home is unreliable.",
                "I have an hour of commute every day that I could use if videos worked offline.",
                "Mobile data is expensive here, downloading lessons on wifi would help a lot.",
            ],
        },
    ),
    "progress": (
        "As a student I want to see how far I am from finishing my course",
        "Students don't know whether they are on track to graduate on time.",
        "learning",
        11,
        {
            "student": [
                "I have no idea if I'm on track to finish by my graduation date.",
                "A simple progress bar per module would motivate me a lot.",
                "I'd like to know how many projects are left before I graduate.",
                "I didn't realise I was three weeks behind until my mentor told me.",
            ],
            "employee": [
                "Students often ask career coaches whether they will graduate in time; we check by hand.",
            ],
        },
    ),
    "review_speed": (
        "As a student I want feedback on my project within two days",
        "Project reviews sometimes take a week, blocking the next project.",
        "platform",
        10,
        {
            "student": [
                "I've been waiting six days for feedback on my project and can't start the next one.",
                "The review wait is the most frustrating part of the course.",
                "I'd rather get short feedback fast than a long review a week later.",
                "My project was reviewed after the deadline of the next one had already passed.",
            ],
            "mentor": [
                "Projects to review arrive in bursts and I can't tell which ones are urgent.",
            ],
        },
    ),
    "skills": (
        "As a student I want to know which skills employers ask for",
        "Students choose electives and projects without knowing what the job market values.",
        "careers",
        9,
        {
            "student": [
                "I'd like to know which skills employers actually look for before I pick my electives.",
                "Is SQL or Python more in demand for junior analysts? Nobody tells us.",
                "Show us real job posts from your partner companies so we know what to focus on.",
            ],
            "employer": [
                "Graduates often lack the testing skills we list in every job description.",
                "We'd gladly share what we look for so students can prepare for it.",
            ],
        },
    ),
    "study_group": (
        "As a student I'd like to find study partners in my cohort",
        "Online students feel isolated; peers are the best motivation to keep going.",
        "learning",
        8,
        {
            "student": [
                "Studying alone online is lonely, I'd love to find a study buddy in my time zone.",
                "I'd like to see who else in my cohort is working on the same project.",
                "The forum is dead; a small study group would keep me motivated.",
            ],
            "mentor": [
                "Students who work in pairs finish more projects, we should make it easy.",
            ],
        },
    ),
    "pause": (
        "As a student I want to pause my course without losing my place",
        "Life events (new job, illness, baby) force students to stop for a few weeks.",
        "learning",
        7,
        {
            "student": [
                "I'm moving house next month and need to pause for three weeks without losing my mentor.",
                "When I was sick I fell behind and there was no way to pause my subscription.",
                "Please let me freeze my course for a few weeks, I'm starting a new job.",
            ],
            "employee": [
                "Pause requests go through admissions by email and take us days to process.",
            ],
        },
    ),
    "mobile": (
        "As a student I want to follow lessons on my phone",
        "The course works on desktop but the mobile experience is poor.",
        "learning",
        8,
        {
            "student": [
                "The lesson pages are hard to read on my phone, the code blocks overflow.",
                "I'd use the app during lunch breaks if the quizzes worked on mobile.",
                "The mobile app crashes when I open a video lesson.",
            ],
        },
    ),
    "mentor_calendar": (
        "As a mentor I want my availability to sync with my calendar",
        "Mentors keep their availability in two places and get double-booked.",
        "platform",
        11,
        {
            "mentor": [
                "I got double-booked twice this month because my Lumen availability isn't synced.",
                "Let me connect my Google Calendar so my free slots update themselves.",
                "Updating availability by hand every week is tedious.",
                "I work at a company full time, my calendar changes daily, and Lumen doesn't know.",
            ],
            "employee": [
                "Mentor scheduling conflicts are the top reason we reschedule sessions.",
            ],
        },
    ),
    "review_queue": (
        "As a mentor I want one queue of projects waiting for my review",
        "Mentors find projects to review across emails, Slack and the platform.",
        "platform",
        9,
        {
            "mentor": [
                "Projects waiting for review are spread between email and the platform, I miss some.",
                "I want a single list of everything waiting for me, oldest first.",
                "I only learn a project was submitted when the student pings me.",
            ],
        },
    ),
    "student_context": (
        "As a mentor I want to see a student's history before a session",
        "Mentors start sessions blind: past feedback, attendance and goals live elsewhere.",
        "platform",
        7,
        {
            "mentor": [
                "Before a session I'd like to see the student's past feedback and attendance.",
                "I mentor 12 students, I can't remember where each one struggled last time.",
                "When a student switches mentor, I start from zero.",
            ],
        },
    ),
    "mentor_pay": (
        "As a mentor I want to see my sessions and invoices in one place",
        "Mentors reconcile sessions with invoices by hand every month.",
        "platform",
        5,
        {
            "mentor": [
                "Every month I rebuild the list of sessions I did to check my invoice.",
                "I was paid for 14 sessions but I did 16, and proving it took a week.",
            ],
            "employee": [
                "Mentor payment questions are a third of the mentor-success inbox.",
            ],
        },
    ),
    "candidate_search": (
        "As an employer I want to search graduates by skill and location",
        "Employers ask our career team by email for candidate lists.",
        "careers",
        13,
        {
            "employer": [
                "We'd like to search your graduates by skill and city ourselves.",
                "Getting a shortlist from your career team takes a week; we need it in a day.",
                "We need junior data analysts who can work in Lyon, can we filter for that?",
                "I want to see who graduated recently and is open to work.",
            ],
            "employee": [
                "We build candidate lists for employers by hand from three spreadsheets.",
            ],
        },
    ),
    "portfolio": (
        "As an employer I want to see a candidate's real projects",
        "A CV says little about a bootcamp graduate; their projects show what they can do.",
        "careers",
        10,
        {
            "employer": [
                "A link to the candidate's real projects would tell us more than the CV.",
                "We want to see code and case studies, not just course titles.",
                "Our designers want to see the UX research behind the portfolio pieces.",
            ],
            "student": [
                "I'd like a public portfolio page with my best projects to send to employers.",
                "My projects are stuck inside the platform, I can't show them in interviews.",
            ],
        },
    ),
    "pipeline": (
        "As an employer I want to track the graduates I'm interviewing",
        "Employers lose track of candidates between our emails and their ATS.",
        "careers",
        6,
        {
            "employer": [
                "We lose track of which of your graduates we've already interviewed.",
                "Could we mark candidates as interviewing or hired somewhere you can see?",
            ],
            "employee": [
                "We chase employers for interview outcomes to update our placement numbers.",
            ],
        },
    ),
    "support_answers": (
        "As a support agent I want answers to common questions suggested for me",
        "The same twenty questions make up most support tickets.",
        "platform",
        7,
        {
            "employee": [
                "We answer the same question about deadlines twenty times a day.",
                "Suggested answers for common tickets would halve our response time.",
                "New support agents take weeks to learn all the standard answers.",
            ],
            "student": [
                "It took two days to get an answer to a simple question about my deadline.",
            ],
        },
    ),
    "dropout_alert": (
        "As a career coach I want an alert when a student stops attending",
        "We notice disengaged students too late to help them.",
        "learning",
        8,
        {
            "employee": [
                "By the time we notice a student stopped attending, they've already dropped out.",
                "An alert after two missed sessions would let us call the student in time.",
                "We export attendance every Friday to spot at-risk students by hand.",
            ],
            "mentor": [
                "When a student goes silent, I'd like someone from Lumen to reach out.",
            ],
        },
    ),
    "certificates": (
        "As an admissions officer I want certificates issued automatically",
        "Certificates are produced by hand after each graduation.",
        "platform",
        7,
        {
            "employee": [
                "We make each certificate by hand in a template; it takes two days per cohort.",
                "Typos in names on certificates create a lot of back-and-forth.",
            ],
            "student": [
                "I graduated three weeks ago and I'm still waiting for my certificate.",
                "I need my certificate for a job application, when will it arrive?",
            ],
            "employer": [
                "We'd like to verify a candidate's certificate online.",
            ],
        },
    ),
}

OFF_TOPIC = [
    ("student", "Can I get an invoice with my company's VAT number on it?"),
    ("student", "Is the office in Berlin open during the holidays?"),
    ("employer", "Please update our billing contact to finance@northwind.example."),
    ("student", "test"),
    ("mentor", "Out of office until Monday."),
    ("student", "How do I change my password?"),
]

LINKERS = {"learning": "pm", "careers": "pm_careers", "platform": "pm_platform"}


def _stakeholders(ctx) -> None:
    rng = ctx.random
    names = [(f, l) for f in FIRST_NAMES for l in LAST_NAMES]  # noqa: E741
    rng.shuffle(names)
    used = 0
    by_segment: dict[str, list] = {}
    for segment_key, count in COUNTS.items():
        for i in range(count):
            first, last = names[used]
            used += 1
            slug = f"{first}.{last}".lower().replace("é", "e").replace("ó", "o").replace("í", "i")
            weight, organisation = 1.0, ""
            if segment_key == "employer":
                organisation, weight = EMPLOYERS[i % len(EMPLOYERS)]
                domain = organisation.split()[0].lower().replace("&", "") + ".example"
            elif segment_key == "employee":
                organisation = "Lumen Academy"
                domain = "lumen.example"
            else:
                domain = "example.org"
            with ctx.at(ctx.moment(rng.randint(200, 380))):
                stakeholder = stakeholder_create(
                    workspace=ctx.workspace,
                    name=f"{first} {last}",
                    email=f"{slug.replace(chr(39), '')}@{domain}",
                    segment=ctx.segments[segment_key],
                    organisation=organisation,
                    weight=weight,
                    notes=(
                        EMPLOYEE_TEAMS[i % len(EMPLOYEE_TEAMS)] if segment_key == "employee" else ""
                    ),
                    by=ctx.users["pm"],
                )
            ctx.stakeholders[stakeholder.email] = stakeholder
            by_segment.setdefault(segment_key, []).append(stakeholder)
    ctx.extra["stakeholders_by_segment"] = by_segment


def _compose(ctx, segment: str, quote: str) -> str:
    rng = ctx.random
    course = rng.choice(COURSES)
    opener = rng.choice(OPENERS[segment]).format(course=course)
    closer = rng.choice(CLOSERS[segment])
    return " ".join(part for part in (opener, quote, closer) if part)


def _importance(rng) -> int:
    return rng.choices(
        [Importance.NICE_TO_HAVE, Importance.IMPORTANT, Importance.CRITICAL], [3, 5, 2]
    )[0]


def build(ctx) -> None:
    rng = ctx.random
    _stakeholders(ctx)
    people = ctx.extra["stakeholders_by_segment"]

    for n, (key, (title, description, squad_key, _demand, quotes)) in enumerate(NEEDS.items()):
        with ctx.at(ctx.moment(200 - n * 3)):
            ctx.needs[key] = need_create(
                workspace=ctx.workspace,
                title=title,
                description=description,
                segments=[ctx.segments[s] for s in quotes],
                by=ctx.users[LINKERS[squad_key]],
            )

    from quarterdeck.demo.strategy import REMINDERS_SHIPPED_DAYS_AGO

    insights = 0
    for key, (_title, _description, squad_key, demand, quotes) in NEEDS.items():
        need = ctx.needs[key]
        linker = ctx.users[LINKERS[squad_key]]
        pool = [(segment, q) for segment, qs in quotes.items() for q in qs]
        demand += demand // 4
        untriaged = 2 + demand % 3
        for i in range(demand + untriaged):
            segment, quote = pool[i % len(pool)]
            person = rng.choice(people[segment])
            linked = i < demand
            if key == "reminders" and linked:
                days_ago = rng.randint(REMINDERS_SHIPPED_DAYS_AGO + 5, 170)
            elif linked:
                days_ago = rng.randint(12, 170)
            else:
                days_ago = rng.randint(0, 11)
            when = ctx.moment(days_ago, rng.randint(8, 19), rng.randint(0, 59))
            text = _compose(ctx, segment, quote)
            tags = [key.replace("_", "-")]
            with ctx.at(when):
                insight = insight_create(
                    workspace=ctx.workspace,
                    text=text,
                    source=rng.choice(CHANNELS[segment]),
                    stakeholder=person,
                    captured_at=when,
                    tags=tags,
                    by=linker if rng.random() < 0.3 else None,
                )
            insights += 1
            if linked:
                with ctx.at(ctx.moment(max(days_ago - rng.randint(0, 4), 0), 15)):
                    insight_link(
                        insight=insight,
                        need=need,
                        by=linker,
                        highlight=quote,
                        importance=_importance(rng),
                    )

    # Feedback that speaks to two needs at once: both quotes are linked.
    pairs = [
        ("reminders", "dropout_alert"),
        ("booking", "mentor_calendar"),
        ("portfolio", "candidate_search"),
        ("progress", "projects"),
        ("review_speed", "review_queue"),
        ("skills", "portfolio"),
    ]
    for first, second in pairs * 2:
        q1 = NEEDS[first][4]
        q2 = NEEDS[second][4]
        segment = next((s for s in q1 if s in q2), next(iter(q1)))
        a = rng.choice(q1[segment])
        b = rng.choice(q2.get(segment) or next(iter(q2.values())))
        person = rng.choice(people[segment])
        days_ago = rng.randint(REMINDERS_SHIPPED_DAYS_AGO + 5 if first == "reminders" else 15, 160)
        when = ctx.moment(days_ago, rng.randint(8, 19), rng.randint(0, 59))
        with ctx.at(when):
            insight = insight_create(
                workspace=ctx.workspace,
                text=f"{a} Also, {b[0].lower()}{b[1:]}",
                source=Channel.INTERVIEW if segment != "student" else Channel.SURVEY,
                stakeholder=person,
                captured_at=when,
                tags=[first.replace("_", "-"), second.replace("_", "-")],
            )
        insights += 1
        squad_key = NEEDS[first][2]
        with ctx.at(ctx.moment(max(days_ago - 2, 0), 15)):
            insight_link(
                insight=insight,
                need=ctx.needs[first],
                by=ctx.users[LINKERS[squad_key]],
                highlight=a,
                importance=_importance(rng),
            )
            insight_link(
                insight=insight,
                need=ctx.needs[second],
                by=ctx.users[LINKERS[squad_key]],
                highlight=f"{b[0].lower()}{b[1:]}",
                importance=_importance(rng),
            )

    for segment, text in OFF_TOPIC:
        days_ago = rng.randint(5, 90)
        when = ctx.moment(days_ago, 11)
        with ctx.at(when):
            insight = insight_create(
                workspace=ctx.workspace,
                text=text,
                source=Channel.SUPPORT if segment == "student" else Channel.EMAIL,
                stakeholder=rng.choice(people[segment]),
                captured_at=when,
                state=InsightState.ARCHIVED,
            )
        insights += 1
    ctx.extra["insight_count"] = insights
