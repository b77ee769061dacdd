"""The one status machine for features: which moves exist and what each move requires.

`check(feature, to, reason)` returns the guard messages that refuse a move (empty: allowed);
services call `feature_transition` in `backlog.services`, never set `status` themselves.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from quarterdeck.backlog.models import OPEN_STATUSES, Feature, Status

FLOW = [
    Status.NEW,
    Status.UNDER_CONSIDERATION,
    Status.STUDYING,
    Status.DESIGNING,
    Status.IN_ENGINEERING,
    Status.IN_QA,
    Status.READY_TO_DEPLOY,
    Status.ROLLING_OUT,
    Status.SHIPPED,
    Status.MEASURED,
]


def allowed_targets(current: str) -> list[Status]:
    """Every status reachable in one move: the next step, one step back, and the side exits."""
    targets: list[Status] = []
    if current in FLOW:
        i = FLOW.index(current)
        if i + 1 < len(FLOW):
            targets.append(FLOW[i + 1])
        if 0 < i and current not in (Status.MEASURED,):
            targets.append(FLOW[i - 1])
        if current in (Status.NEW,):
            targets.append(Status.STUDYING)
    if current in OPEN_STATUSES:
        targets += [Status.DECLINED, Status.PARKED]
    if current in (Status.DECLINED, Status.PARKED):
        targets += [Status.UNDER_CONSIDERATION]
    return targets


@dataclass(frozen=True)
class Refusal:
    guard: str
    message: str


Guard = Callable[[Feature, str], Refusal | None]
GUARDS: dict[str, list[Guard]] = {}


def guard(*statuses: str):
    """Register a guard that runs before a move into any of `statuses`."""

    def register(fn: Guard) -> Guard:
        for status in statuses:
            GUARDS.setdefault(status, []).append(fn)
        return fn

    return register


@guard(Status.DECLINED)
def _reason_required(feature: Feature, reason: str) -> Refusal | None:
    if not (reason or "").strip():
        return Refusal("reason_required", _("Declining needs a reason the requesters are told."))
    return None


def check(feature: Feature, to: str, reason: str = "") -> list[Refusal]:
    if to not in Status.values:
        return [
            Refusal(
                "unknown_status",
                _("Unknown status “%(to)s”; expected one of %(all)s")
                % {"to": to, "all": ", ".join(Status.values)},
            )
        ]
    if to == feature.status:
        return [Refusal("same_status", _("The feature is already in this status."))]
    if to not in allowed_targets(feature.status):
        return [
            Refusal(
                "not_allowed",
                _("A feature cannot move from “%(a)s” to “%(b)s”.")
                % {"a": Status(feature.status).label, "b": Status(to).label},
            )
        ]
    refusals = []
    for fn in GUARDS.get(to, []):
        refusal = fn(feature, reason)
        if refusal is not None:
            refusals.append(refusal)
    return refusals
