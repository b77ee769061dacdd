"""`/api/v1/features/{id}/…`: a feature's delivery records — evaluations and evaluation
requests, UX tests, QA checks, rollout stages, demos, communication plan and onboarding."""

import datetime as dt
from typing import Literal

from ninja import Field, Router, Schema

from quarterdeck.api.base import get_or_404, paginate, writer_auth
from quarterdeck.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    In,
    list_params,
    many_in,
    member,
    segments_by_key,
)
from quarterdeck.backlog import services
from quarterdeck.backlog.models import (
    CommsItem,
    Demo,
    Evaluation,
    EvaluationRequest,
    Feature,
    OnboardingStep,
    QaCheck,
    RolloutStage,
    UxTest,
)
from quarterdeck.insights.models import Stakeholder

router = Router(tags=["delivery"], auth=writer_auth)

Risk = Literal["low", "medium", "high"]
Verdict = Literal["pending", "iterate", "proceed"]
QaResult = Literal["pending", "pass", "fail"]
StageState = Literal["planned", "active", "done", "halted"]
Channel = Literal["email", "in_app", "newsletter", "blog", "meeting"]


def _feature(request, id: int) -> Feature:
    return get_or_404(Feature.objects.filter(workspace=request.workspace), id, "feature")


def _child(queryset, feature: Feature, pk: int, what: str):
    return get_or_404(queryset.filter(feature=feature), pk, what)


def _page(request, qs, limit, cursor, next_, out, *, keyset: bool = True):
    rows, nxt = paginate(request, qs, keyset=keyset, **list_params(limit, cursor, next_))
    return {"results": [out(r) for r in rows], "next": nxt}


# --- evaluations ------------------------------------------------------------------------------


class EvaluationOut(Schema):
    id: int
    feature: int
    effort: float = Field(description="Person-weeks.")
    risk: str
    risk_notes: str
    confidence: float = Field(description="0 to 1.")
    by: int | None
    created_at: dt.datetime


class EvaluationPage(Schema):
    results: list[EvaluationOut]
    next: str | None


class EvaluationIn(In):
    effort: float = Field(ge=0, description="Person-weeks.")
    risk: Risk = "medium"
    risk_notes: str = ""
    confidence: float = Field(0.7, ge=0, le=1)


def _evaluation(e: Evaluation) -> dict:
    return {
        "id": e.pk,
        "feature": e.feature_id,
        "effort": e.effort,
        "risk": e.risk,
        "risk_notes": e.risk_notes,
        "confidence": e.confidence,
        "by": e.by_id,
        "created_at": e.created_at,
    }


@router.get(
    "/{id}/evaluations",
    response={200: EvaluationPage, **READ_ERRORS},
    summary="List a feature's evaluations",
)
def list_evaluations(
    request, id: int, limit: int | None = None, cursor: str | None = None, next: str | None = None
):
    """Newest first; the first one is the estimate that counts."""
    feature = _feature(request, id)
    return _page(request, feature.evaluations.all(), limit, cursor, next, _evaluation)


@router.post(
    "/{id}/evaluations",
    response={201: EvaluationOut, **WRITE_ERRORS},
    summary="Add an evaluation",
)
def create_evaluation(request, id: int, payload: EvaluationIn):
    feature = _feature(request, id)
    evaluation = services.evaluation_create(
        feature=feature, by=request.user, **payload.model_dump()
    )
    return 201, _evaluation(evaluation)


# --- evaluation requests ----------------------------------------------------------------------


class EvaluationRequestOut(Schema):
    id: int
    feature: int
    assignee: int
    requested_by: int | None
    note: str
    state: str
    evaluation: int | None
    answered_at: dt.datetime | None
    created_at: dt.datetime


class EvaluationRequestPage(Schema):
    results: list[EvaluationRequestOut]
    next: str | None


class EvaluationRequestIn(In):
    assignee: int | str = Field(description="User id or email of the engineer asked.")
    note: str = ""


def _request(r: EvaluationRequest) -> dict:
    return {
        "id": r.pk,
        "feature": r.feature_id,
        "assignee": r.assignee_id,
        "requested_by": r.requested_by_id,
        "note": r.note,
        "state": r.state,
        "evaluation": r.evaluation_id,
        "answered_at": r.answered_at,
        "created_at": r.created_at,
    }


@router.get(
    "/{id}/evaluation-requests",
    response={200: EvaluationRequestPage, **READ_ERRORS},
    summary="List a feature's evaluation requests",
)
def list_evaluation_requests(
    request,
    id: int,
    state: Literal["open", "answered", "cancelled"] | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    next: str | None = None,
):
    feature = _feature(request, id)
    qs = feature.evaluation_requests.all()
    if state:
        qs = qs.filter(state=state)
    return _page(request, qs, limit, cursor, next, _request)


@router.post(
    "/{id}/evaluation-requests",
    response={201: EvaluationRequestOut, **WRITE_ERRORS},
    summary="Ask an engineer for an estimate",
)
def create_evaluation_request(request, id: int, payload: EvaluationRequestIn):
    feature = _feature(request, id)
    assignee = member(request, payload.assignee, field="assignee")
    req = services.evaluation_request_create(
        feature=feature, assignee=assignee, by=request.user, note=payload.note
    )
    return 201, _request(req)


@router.post(
    "/{id}/evaluation-requests/{request_id}/answer",
    response={201: EvaluationOut, **WRITE_ERRORS},
    summary="Answer an evaluation request",
)
def answer_evaluation_request(request, id: int, request_id: int, payload: EvaluationIn):
    """Creates the evaluation and closes the request (400 when it is already closed)."""
    feature = _feature(request, id)
    req = _child(EvaluationRequest.objects.all(), feature, request_id, "evaluation request")
    evaluation = services.evaluation_request_answer(
        request=req, by=request.user, **payload.model_dump()
    )
    return 201, _evaluation(evaluation)


@router.post(
    "/{id}/evaluation-requests/{request_id}/cancel",
    response={200: EvaluationRequestOut, **WRITE_ERRORS},
    summary="Cancel an evaluation request",
)
def cancel_evaluation_request(request, id: int, request_id: int):
    feature = _feature(request, id)
    req = _child(EvaluationRequest.objects.all(), feature, request_id, "evaluation request")
    return _request(services.evaluation_request_cancel(request=req, by=request.user))


# --- UX tests ---------------------------------------------------------------------------------


class UxTestOut(Schema):
    id: int
    feature: int
    round: int
    prototype_url: str
    participants: list[int] = Field(description="Stakeholder ids of the panel.")
    findings: str
    verdict: str
    tested_on: dt.date | None
    by: int | None
    created_at: dt.datetime


class UxTestPage(Schema):
    results: list[UxTestOut]
    next: str | None


class UxTestIn(In):
    prototype_url: str = ""
    participants: list[int] = Field(default_factory=list, description="Stakeholder ids.")
    findings: str = ""
    verdict: Verdict = Field("pending", description="`iterate` sends the feature back to design.")
    tested_on: dt.date | None = None


class UxTestUpdate(In):
    verdict: Verdict | None = None
    findings: str | None = None


def _ux(t: UxTest) -> dict:
    return {
        "id": t.pk,
        "feature": t.feature_id,
        "round": t.round,
        "prototype_url": t.prototype_url,
        "participants": sorted(p.pk for p in t.participants.all()),
        "findings": t.findings,
        "verdict": t.verdict,
        "tested_on": t.tested_on,
        "by": t.by_id,
        "created_at": t.created_at,
    }


@router.get(
    "/{id}/ux-tests", response={200: UxTestPage, **READ_ERRORS}, summary="List UX test rounds"
)
def list_ux_tests(
    request, id: int, limit: int | None = None, cursor: str | None = None, next: str | None = None
):
    feature = _feature(request, id)
    qs = feature.ux_tests.prefetch_related("participants")
    return _page(request, qs, limit, cursor, next, _ux)


@router.post(
    "/{id}/ux-tests", response={201: UxTestOut, **WRITE_ERRORS}, summary="Record a UX test round"
)
def create_ux_test(request, id: int, payload: UxTestIn):
    feature = _feature(request, id)
    data = payload.model_dump()
    data["participants"] = many_in(
        Stakeholder.objects.filter(workspace=request.workspace),
        data["participants"],
        field="participants",
        what="stakeholder",
    )
    test = services.ux_test_create(feature=feature, by=request.user, **data)
    return 201, _ux(test)


@router.patch(
    "/{id}/ux-tests/{test_id}",
    response={200: UxTestOut, **WRITE_ERRORS},
    summary="Set a UX test's verdict or findings",
)
def update_ux_test(request, id: int, test_id: int, payload: UxTestUpdate):
    feature = _feature(request, id)
    test = _child(UxTest.objects.all(), feature, test_id, "UX test")
    services.ux_test_update(test=test, by=request.user, **payload.model_dump(exclude_unset=True))
    return _ux(test)


# --- QA checks --------------------------------------------------------------------------------


class QaCheckOut(Schema):
    id: int
    feature: int
    outcome: str
    result: str
    notes: str
    by: int | None
    checked_at: dt.datetime | None
    created_at: dt.datetime


class QaCheckPage(Schema):
    results: list[QaCheckOut]
    next: str | None


class QaCheckIn(In):
    outcome: str = Field(min_length=1, max_length=300, description="The expected outcome checked.")
    result: QaResult = "pending"
    notes: str = ""


class QaCheckUpdate(In):
    result: QaResult | None = None
    notes: str | None = None


def _qa(c: QaCheck) -> dict:
    return {
        "id": c.pk,
        "feature": c.feature_id,
        "outcome": c.outcome,
        "result": c.result,
        "notes": c.notes,
        "by": c.by_id,
        "checked_at": c.checked_at,
        "created_at": c.created_at,
    }


@router.get("/{id}/qa-checks", response={200: QaCheckPage, **READ_ERRORS}, summary="List QA checks")
def list_qa_checks(
    request, id: int, limit: int | None = None, cursor: str | None = None, next: str | None = None
):
    feature = _feature(request, id)
    return _page(request, feature.qa_checks.all(), limit, cursor, next, _qa)


@router.post(
    "/{id}/qa-checks", response={201: QaCheckOut, **WRITE_ERRORS}, summary="Add a QA check"
)
def create_qa_check(request, id: int, payload: QaCheckIn):
    feature = _feature(request, id)
    check = services.qa_check_create(feature=feature, by=request.user, **payload.model_dump())
    return 201, _qa(check)


@router.patch(
    "/{id}/qa-checks/{check_id}",
    response={200: QaCheckOut, **WRITE_ERRORS},
    summary="Record a QA check's result",
)
def update_qa_check(request, id: int, check_id: int, payload: QaCheckUpdate):
    feature = _feature(request, id)
    check = _child(QaCheck.objects.all(), feature, check_id, "QA check")
    check = services.qa_check_update(
        check=check, by=request.user, **payload.model_dump(exclude_unset=True)
    )
    return _qa(check)


# --- rollout ----------------------------------------------------------------------------------


class RolloutStageOut(Schema):
    id: int
    feature: int
    order: int
    starts_on: dt.date | None
    percent: int | None = Field(description="Share of users reached, 1–100.")
    segment: str | None = Field(description="Key of the segment reached.")
    state: str
    notes: str


class RolloutStagePage(Schema):
    results: list[RolloutStageOut]
    next: str | None


class RolloutStageIn(In):
    starts_on: dt.date | None = None
    percent: int | None = Field(None, ge=1, le=100)
    segment: str | None = Field(None, description="Segment key, e.g. `student`.")
    state: StageState = "planned"
    notes: str = ""


class RolloutStageUpdate(In):
    starts_on: dt.date | None = None
    percent: int | None = Field(None, ge=1, le=100)
    segment: str | None = None
    state: StageState | None = None
    notes: str | None = None


def _stage(s: RolloutStage) -> dict:
    return {
        "id": s.pk,
        "feature": s.feature_id,
        "order": s.order,
        "starts_on": s.starts_on,
        "percent": s.percent,
        "segment": s.segment.key if s.segment_id else None,
        "state": s.state,
        "notes": s.notes,
    }


def _segment(request, key):
    if not key:
        return None
    return segments_by_key(request.workspace, [key], field="segment")[0]


@router.get(
    "/{id}/rollout",
    response={200: RolloutStagePage, **READ_ERRORS},
    summary="List a feature's rollout stages",
)
def list_rollout(
    request, id: int, limit: int | None = None, cursor: str | None = None, next: str | None = None
):
    """In stage order."""
    feature = _feature(request, id)
    qs = feature.rollout_stages.select_related("segment").order_by("order", "id")
    return _page(request, qs, limit, cursor, next, _stage, keyset=False)


@router.post(
    "/{id}/rollout",
    response={201: RolloutStageOut, **WRITE_ERRORS},
    summary="Add a rollout stage",
)
def create_rollout_stage(request, id: int, payload: RolloutStageIn):
    """A stage reaches a share of users (`percent`), a `segment`, or both."""
    feature = _feature(request, id)
    data = payload.model_dump()
    data["segment"] = _segment(request, data["segment"])
    stage = services.rollout_stage_create(feature=feature, by=request.user, **data)
    return 201, _stage(stage)


@router.patch(
    "/{id}/rollout/{stage_id}",
    response={200: RolloutStageOut, **WRITE_ERRORS},
    summary="Update a rollout stage",
)
def update_rollout_stage(request, id: int, stage_id: int, payload: RolloutStageUpdate):
    feature = _feature(request, id)
    stage = _child(RolloutStage.objects.select_related("segment"), feature, stage_id, "stage")
    data = payload.model_dump(exclude_unset=True)
    if "segment" in data:
        data["segment"] = _segment(request, data["segment"])
    stage = services.rollout_stage_update(stage=stage, by=request.user, **data)
    return _stage(stage)


# --- demos ------------------------------------------------------------------------------------


class DemoOut(Schema):
    id: int
    feature: int
    held_on: dt.date
    audience: str
    recording_url: str
    notes: str
    by: int | None


class DemoPage(Schema):
    results: list[DemoOut]
    next: str | None


class DemoIn(In):
    held_on: dt.date
    audience: str = Field(min_length=1, max_length=200)
    recording_url: str = ""
    notes: str = ""


def _demo(d: Demo) -> dict:
    return {
        "id": d.pk,
        "feature": d.feature_id,
        "held_on": d.held_on,
        "audience": d.audience,
        "recording_url": d.recording_url,
        "notes": d.notes,
        "by": d.by_id,
    }


@router.get("/{id}/demos", response={200: DemoPage, **READ_ERRORS}, summary="List demos")
def list_demos(
    request, id: int, limit: int | None = None, cursor: str | None = None, next: str | None = None
):
    feature = _feature(request, id)
    return _page(request, feature.demos.all(), limit, cursor, next, _demo)


@router.post("/{id}/demos", response={201: DemoOut, **WRITE_ERRORS}, summary="Record a demo")
def create_demo(request, id: int, payload: DemoIn):
    feature = _feature(request, id)
    demo = services.demo_create(feature=feature, by=request.user, **payload.model_dump())
    return 201, _demo(demo)


# --- communication plan -------------------------------------------------------------------------


class CommsOut(Schema):
    id: int
    feature: int
    audience: str
    channel: str
    message: str
    send_on: dt.date | None
    sent: bool
    sent_at: dt.datetime | None


class CommsPage(Schema):
    results: list[CommsOut]
    next: str | None


class CommsIn(In):
    audience: str = Field(min_length=1, max_length=200)
    channel: Channel
    message: str = Field(min_length=1)
    send_on: dt.date | None = None
    sent: bool = False


class CommsUpdate(In):
    message: str | None = None
    sent: bool | None = None


def _comms(c: CommsItem) -> dict:
    return {
        "id": c.pk,
        "feature": c.feature_id,
        "audience": c.audience,
        "channel": c.channel,
        "message": c.message,
        "send_on": c.send_on,
        "sent": c.sent,
        "sent_at": c.sent_at,
    }


@router.get(
    "/{id}/comms", response={200: CommsPage, **READ_ERRORS}, summary="List the communication plan"
)
def list_comms(
    request, id: int, limit: int | None = None, cursor: str | None = None, next: str | None = None
):
    """By date."""
    feature = _feature(request, id)
    qs = feature.comms_items.order_by("send_on", "id")
    return _page(request, qs, limit, cursor, next, _comms, keyset=False)


@router.post(
    "/{id}/comms", response={201: CommsOut, **WRITE_ERRORS}, summary="Plan a communication"
)
def create_comms(request, id: int, payload: CommsIn):
    feature = _feature(request, id)
    item = services.comms_item_create(feature=feature, by=request.user, **payload.model_dump())
    return 201, _comms(item)


@router.patch(
    "/{id}/comms/{item_id}",
    response={200: CommsOut, **WRITE_ERRORS},
    summary="Update a communication (mark it sent)",
)
def update_comms(request, id: int, item_id: int, payload: CommsUpdate):
    feature = _feature(request, id)
    item = _child(CommsItem.objects.all(), feature, item_id, "communication")
    item = services.comms_item_update(
        item=item, by=request.user, **payload.model_dump(exclude_unset=True)
    )
    return _comms(item)


# --- onboarding -------------------------------------------------------------------------------


class OnboardingOut(Schema):
    id: int
    feature: int
    order: int
    title: str
    body: str


class OnboardingPage(Schema):
    results: list[OnboardingOut]
    next: str | None


class OnboardingIn(In):
    title: str = Field(min_length=1, max_length=200)
    body: str = ""
    order: int | None = Field(None, ge=1, description="Position; next free one by default.")


def _step(s: OnboardingStep) -> dict:
    return {"id": s.pk, "feature": s.feature_id, "order": s.order, "title": s.title, "body": s.body}


@router.get(
    "/{id}/onboarding",
    response={200: OnboardingPage, **READ_ERRORS},
    summary="List onboarding steps",
)
def list_onboarding(
    request, id: int, limit: int | None = None, cursor: str | None = None, next: str | None = None
):
    """In the order users see them."""
    feature = _feature(request, id)
    qs = feature.onboarding_steps.order_by("order", "id")
    return _page(request, qs, limit, cursor, next, _step, keyset=False)


@router.post(
    "/{id}/onboarding",
    response={201: OnboardingOut, **WRITE_ERRORS},
    summary="Add an onboarding step",
)
def create_onboarding(request, id: int, payload: OnboardingIn):
    feature = _feature(request, id)
    step = services.onboarding_step_create(feature=feature, by=request.user, **payload.model_dump())
    return 201, _step(step)


@router.delete(
    "/{id}/onboarding/{step_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove an onboarding step",
)
def delete_onboarding(request, id: int, step_id: int):
    feature = _feature(request, id)
    step = _child(OnboardingStep.objects.all(), feature, step_id, "onboarding step")
    services.onboarding_step_delete(step=step, by=request.user)
    return 204, None
