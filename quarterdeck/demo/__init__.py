"""The demo workspace: `quarterdeck demo` builds Lumen Academy, an online school, in the
workspace `demo`, so that a newcomer can see every part of Quarterdeck with realistic data.

Sign in as ``pm@example.com`` (product manager) or ``admin@example.com`` (admin), password
``demo``. Every other demo user (``contributor@``, ``viewer@``, ``stakeholder@`` and the squad
members listed in ``quarterdeck/demo/base.py``) has the same password.

How it is built
---------------
`build_demo()` runs the parts listed in `PARTS`, in order, inside one transaction. Each part is a
module with a function ``build(ctx)``; `ctx` (a `DemoContext`) carries what earlier parts made —
the workspace, users, segments, drivers, squads, objectives, key results, stakeholders, needs and
features, each in a dict by a short key — so that later parts can refer to them.

To add a part (delivery records, meetings, a newsletter…), write ``quarterdeck/demo/<name>.py``
with ``def build(ctx): ...`` and add its dotted path to `PARTS`: a one-line change. Put what
other parts may need into ``ctx.extra``. Dates are relative to ``ctx.today`` (the day the demo is
loaded), so "last month" always has shipped features; wrap writes in ``with ctx.at(when):`` to
date the rows and their Activity entries in the past.

Idempotency: the last step records a ``demo_loaded`` Activity. When it exists, `build_demo` does
nothing; ``quarterdeck demo --reset`` deletes the workspace and builds it again. Users (shared
across workspaces) are reused, not duplicated.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import random
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from django.db import transaction
from django.utils import timezone

SLUG = "demo"
NAME = "Lumen Academy"
PASSWORD = "demo"  # noqa: S105 - the documented demo password

PARTS = [
    "quarterdeck.demo.base",
    "quarterdeck.demo.strategy",
    "quarterdeck.demo.feedback",
    "quarterdeck.demo.backlog",
    "quarterdeck.demo.delivery",
    "quarterdeck.demo.scores",
    "quarterdeck.demo.rituals",
    "quarterdeck.demo.linking",
]


class DemoExists(Exception):
    """A workspace `demo` exists that this command did not finish building."""


@dataclass
class DemoContext:
    today: dt.date
    stdout: Any = None
    workspace: Any = None
    users: dict[str, Any] = field(default_factory=dict)
    segments: dict[str, Any] = field(default_factory=dict)
    drivers: dict[str, Any] = field(default_factory=dict)
    squads: dict[str, Any] = field(default_factory=dict)
    objectives: dict[str, Any] = field(default_factory=dict)
    key_results: dict[str, Any] = field(default_factory=dict)
    stakeholders: dict[str, Any] = field(default_factory=dict)
    needs: dict[str, Any] = field(default_factory=dict)
    features: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    random: random.Random = field(default_factory=lambda: random.Random(20240917))  # noqa: S311

    def moment(self, days_ago: float, hour: int = 10, minute: int = 0) -> dt.datetime:
        """An aware datetime `days_ago` days before today, at `hour`:`minute` local time."""
        day = self.today - dt.timedelta(days=int(days_ago))
        naive = dt.datetime.combine(day, dt.time(hour % 24, minute % 60))
        return timezone.make_aware(naive)

    def day(self, days_ago: int) -> dt.date:
        return self.today - dt.timedelta(days=days_ago)

    @contextlib.contextmanager
    def at(self, when: dt.datetime | dt.date):
        """Rows saved inside are created (and audited) at `when` instead of now."""
        if isinstance(when, dt.date) and not isinstance(when, dt.datetime):
            when = timezone.make_aware(dt.datetime.combine(when, dt.time(10, 0)))
        with mock.patch("django.utils.timezone.now", return_value=when):
            yield when

    def log(self, message: str) -> None:
        if self.stdout is not None:
            self.stdout.write(message)


def demo_workspace():
    from quarterdeck.accounts.models import Workspace

    return Workspace.objects.filter(slug=SLUG).first()


def is_loaded(workspace=None) -> bool:
    from quarterdeck.core.models import Activity

    workspace = workspace or demo_workspace()
    return bool(
        workspace and Activity.objects.filter(workspace=workspace, verb="demo_loaded").exists()
    )


def build_demo(stdout=None, *, reset: bool = False):
    """Build the demo workspace (or do nothing when it is already loaded); returns it."""
    from quarterdeck.core import activity

    existing = demo_workspace()
    if existing is not None and not reset:
        if is_loaded(existing):
            if stdout is not None:
                stdout.write(f"The demo workspace “{existing.name}” is already loaded.")
            return existing
        raise DemoExists(
            f"A workspace with the slug {SLUG!r} exists but is not a complete demo; "
            "run `quarterdeck demo --reset` to replace it."
        )
    ctx = DemoContext(today=timezone.localdate(), stdout=stdout)
    with transaction.atomic():
        if existing is not None:
            existing.delete()
            ctx.log("Deleted the previous demo workspace.")
        for dotted in PARTS:
            module = importlib.import_module(dotted)
            module.build(ctx)
            ctx.log(f"  ✓ {dotted.rsplit('.', 1)[-1]}")
        activity.record(
            workspace=ctx.workspace,
            actor=ctx.users.get("admin"),
            verb="demo_loaded",
            target=ctx.workspace,
            message="Demo data loaded",
        )
    return ctx.workspace
