"""Lumen Academy's people and structure: users and roles, segments, drivers and squads."""

from django.contrib.auth.hashers import make_password

from quarterdeck.accounts.models import Role
from quarterdeck.accounts.services import membership_set, user_get_or_create, workspace_create
from quarterdeck.demo import NAME, PASSWORD, SLUG
from quarterdeck.insights.models import Segment
from quarterdeck.squads.models import SquadRole
from quarterdeck.squads.services import squad_create, squad_member_add
from quarterdeck.strategy.services import driver_create

# key: (email, full name, workspace role)
USERS = {
    "admin": ("admin@example.com", "Amira Haddad", Role.ADMIN),
    "pm": ("pm@example.com", "Paul Mercier", Role.PRODUCT_MANAGER),
    "pm_careers": ("chloe@example.com", "Chloé Martin", Role.PRODUCT_MANAGER),
    "pm_platform": ("hugo@example.com", "Hugo Lambert", Role.PRODUCT_MANAGER),
    "contributor": ("contributor@example.com", "Diego Ortega", Role.CONTRIBUTOR),
    "viewer": ("viewer@example.com", "Vera Lindqvist", Role.VIEWER),
    "stakeholder": ("stakeholder@example.com", "Sam Okafor", Role.STAKEHOLDER),
    "lea": ("lea@example.com", "Léa Schmidt", Role.CONTRIBUTOR),
    "tom": ("tom@example.com", "Tom Baker", Role.CONTRIBUTOR),
    "ines": ("ines@example.com", "Inès Duval", Role.CONTRIBUTOR),
    "kofi": ("kofi@example.com", "Kofi Mensah", Role.CONTRIBUTOR),
    "yuki": ("yuki@example.com", "Yuki Tanaka", Role.CONTRIBUTOR),
    "priya": ("priya@example.com", "Priya Nair", Role.CONTRIBUTOR),
    "marco": ("marco@example.com", "Marco Rossi", Role.CONTRIBUTOR),
    "olga": ("olga@example.com", "Olga Petrova", Role.CONTRIBUTOR),
    "sami": ("sami@example.com", "Sami Benali", Role.CONTRIBUTOR),
    "greta": ("greta@example.com", "Greta Nilsson", Role.CONTRIBUTOR),
    "liam": ("liam@example.com", "Liam O'Connor", Role.CONTRIBUTOR),
}

# key: (name, weight, colour)
SEGMENTS = {
    "student": ("Student", 1.5, "#2563eb"),
    "mentor": ("Mentor", 1.0, "#7c3aed"),
    "employer": ("Employer", 1.3, "#059669"),
    "employee": ("Employee", 0.6, "#d97706"),
}

# key: (name, weight, description)
DRIVERS = {
    "acquisition": (
        "Acquisition",
        1.0,
        "Bring more students into a course: sign-ups, trial-to-paid conversion, referrals.",
    ),
    "engagement": (
        "User engagement",
        1.5,
        "Students attend, practise and finish what they started; mentors stay with us.",
    ),
    "placement": (
        "Job placement",
        2.0,
        "Graduates find a job in their new field, and employers come back to hire again.",
    ),
    "automation": (
        "Automation",
        0.8,
        "Less manual work for our own teams, so the school can grow without growing costs.",
    ),
}

# key: (name, colour, mission, product manager, {role: member key})
SQUADS = {
    "learning": (
        "Learning Experience",
        "#2563eb",
        "Students attend, learn and finish: lessons, live sessions, projects and progress.",
        "pm",
        {
            SquadRole.BACKEND: "contributor",
            SquadRole.FRONTEND: "lea",
            SquadRole.QA: "tom",
            SquadRole.DESIGNER: "ines",
        },
    ),
    "careers": (
        "Careers & Employers",
        "#059669",
        "Every graduate gets hired: portfolios, employer search and the hiring pipeline.",
        "pm_careers",
        {
            SquadRole.BACKEND: "kofi",
            SquadRole.FRONTEND: "yuki",
            SquadRole.QA: "priya",
            SquadRole.DESIGNER: "marco",
        },
    ),
    "platform": (
        "Mentors & Operations",
        "#7c3aed",
        "Mentors and our own teams spend their time on students, not on admin.",
        "pm_platform",
        {
            SquadRole.BACKEND: "olga",
            SquadRole.FRONTEND: "sami",
            SquadRole.QA: "greta",
            SquadRole.DESIGNER: "liam",
        },
    ),
}


def build(ctx) -> None:
    start = ctx.moment(400)
    with ctx.at(start):
        admin_email, admin_name, _role = USERS["admin"]
        ctx.workspace = workspace_create(slug=SLUG, name=NAME, admin_email=admin_email)
    hashed = make_password(PASSWORD)  # hashed once: every demo user shares it
    for key, (email, full_name, role) in USERS.items():
        user = user_get_or_create(email=email, full_name=full_name)
        user.full_name, user.password = full_name, hashed
        user.save(update_fields=["full_name", "password"])
        ctx.users[key] = user
        if key != "admin":
            with ctx.at(ctx.moment(390 - len(ctx.users) * 3)):
                membership_set(workspace=ctx.workspace, user=user, role=role, by=ctx.users["admin"])

    for key, (name, weight, color) in SEGMENTS.items():
        segment, _created = Segment.objects.update_or_create(
            workspace=ctx.workspace,
            key=key,
            defaults={"name": name, "weight": weight, "color": color},
        )
        ctx.segments[key] = segment

    with ctx.at(ctx.moment(330)):
        for key, (name, weight, description) in DRIVERS.items():
            ctx.drivers[key] = driver_create(
                workspace=ctx.workspace,
                name=name,
                weight=weight,
                description=description,
                by=ctx.users["admin"],
            )

    for n, (key, (name, color, mission, pm_key, members)) in enumerate(SQUADS.items()):
        with ctx.at(ctx.moment(320 - n * 5)):
            squad = squad_create(
                workspace=ctx.workspace,
                name=name,
                mission=mission,
                color=color,
                product_manager=ctx.users[pm_key],
                by=ctx.users["admin"],
            )
            for role, member_key in members.items():
                squad_member_add(
                    squad=squad, user=ctx.users[member_key], role=role, by=ctx.users[pm_key]
                )
        ctx.squads[key] = squad
