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


# Back to design is always one move away while building: a UX test or a demo can call for
# another iteration of the design.
BACK_TO_DESIGN = frozenset({Status.IN_QA, Status.READY_TO_DEPLOY})


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
        if current in BACK_TO_DESIGN:
            targets.append(Status.DESIGNING)
    if current in OPEN_STATUSES:
        targets += [Status.DECLINED, Status.PARKED]
    if current in (Status.DECLINED, Status.PARKED):
        targets += [Status.UNDER_CONSIDERATION]
    return targets


def is_forward(current: str, to: str) -> bool:
    """True when `to` is further along the flow than `current`."""
    return current in FLOW and to in FLOW and FLOW.index(to) > FLOW.index(current)


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


@guard(Status.IN_ENGINEERING)
def _evaluation_required(feature: Feature, reason: str) -> Refusal | None:
    if not feature.evaluations.exists():
        return Refusal(
            "evaluation_required",
            _("Engineering starts once the feature has an evaluation (effort and risk)."),
        )
    return None


@guard(Status.READY_TO_DEPLOY)
def _qa_passed(feature: Feature, reason: str) -> Refusal | None:
    results = list(feature.qa_checks.values_list("result", flat=True))
    if not results:
        return Refusal(
            "qa_required",
            _("Ready to deploy needs at least one QA check of an expected outcome."),
        )
    open_checks = [r for r in results if r != "pass"]
    if open_checks:
        return Refusal(
            "qa_not_passed",
            _("Ready to deploy needs every QA check passed: %(n)d of %(total)d not passed yet.")
            % {"n": len(open_checks), "total": len(results)},
        )
    return None


@guard(Status.ROLLING_OUT, Status.SHIPPED)
def _rollout_required(feature: Feature, reason: str) -> Refusal | None:
    if not feature.rollout_stages.exists():
        return Refusal(
            "rollout_required",
            _("Rolling out needs a rollout plan with at least one stage."),
        )
    return None


@guard(Status.SHIPPED, Status.MEASURED)
def _slices_closed(feature: Feature, reason: str) -> Refusal | None:
    open_slices = list(feature.children.filter(status__in=OPEN_STATUSES).values_list("title"))
    if open_slices:
        names = ", ".join(f"“{t}”" for (t,) in open_slices[:3])
        return Refusal(
            "open_slices",
            _("A feature ships once its slices have: %(n)d still open (%(names)s).")
            % {"n": len(open_slices), "names": names},
        )
    return None


@guard(Status.MEASURED)
def _measurement(feature: Feature, reason: str) -> Refusal | None:
    """Measured comes after shipped; strategy may add its own rule through this hook.

    If `quarterdeck.strategy.measurement.measured_refusal(feature)` exists and returns a message,
    the move is refused with it.
    """
    if feature.status != Status.SHIPPED:
        return Refusal("not_shipped", _("Only a shipped feature can be measured."))
    try:
        from quarterdeck.strategy.measurement import measured_refusal  # type: ignore[import-not-found]
    except ImportError:
        return None
    message = measured_refusal(feature)
    return Refusal("measurement_required", str(message)) if message else None


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
