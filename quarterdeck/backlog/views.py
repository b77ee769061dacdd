"""Backlog pages: the table, the board, the feature page and its work records.

Views parse input, call one service or selector and render; every rule lives in services.py
and status.py so that the web pages and the API can never disagree.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from quarterdeck.backlog import forms, selectors, services
from quarterdeck.backlog import status as status_machine
from quarterdeck.backlog.models import (
    CommsItem,
    EvaluationRequest,
    Feature,
    OnboardingStep,
    QaCheck,
    QaResult,
    RolloutStage,
    StageState,
    Status,
    UxTest,
)
from quarterdeck.core import activity
from quarterdeck.core.access import get_for, require_write, writer_required
from quarterdeck.core.forms import apply_errors
from quarterdeck.core.pagination import paginate

TABS = [
    ("overview", gettext_lazy("Overview")),
    ("evidence", gettext_lazy("Evidence")),
    ("delivery", gettext_lazy("Delivery")),
    ("communication", gettext_lazy("Communication")),
    ("slices", gettext_lazy("Slices")),
    ("activity", gettext_lazy("Activity")),
]
TAB_KEYS = [key for key, _label in TABS]


def _vary(response):
    patch_vary_headers(response, ["HX-Request"])
    return response


def _errors(exc: ValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def _message(exc: ValidationError) -> str:
    return " ".join(m for v in _errors(exc).values() for m in v)


# --- backlog ----------------------------------------------------------------------------------


def _backlog_params(request) -> dict:
    get = request.GET
    statuses = [s for s in get.getlist("status") if s in Status.values]
    ordering = get.get("ordering") or selectors.DEFAULT_ORDERING
    if ordering not in selectors.ORDERINGS:
        ordering = selectors.DEFAULT_ORDERING
    group = get.get("group") if get.get("group") in selectors.GROUPS else ""
    return {
        "status": statuses,
        "squad": get.get("squad", "").strip(),
        "driver": get.get("driver", "").strip(),
        "q": get.get("q", "").strip(),
        "ordering": ordering,
        "group": group,
    }


def backlog(request):
    params = _backlog_params(request)
    squad = params["squad"]
    if squad and squad != "none" and not squad.isdigit():
        params["squad"] = ""
    if params["driver"] and not params["driver"].isdigit():
        params["driver"] = ""
    qs = selectors.backlog_queryset(request.workspace, **params)
    page = paginate(request, selectors.backlog_roots(qs))
    rows = selectors.backlog_rows(qs, list(page.object_list))
    from quarterdeck.squads.models import Squad
    from quarterdeck.strategy.models import Driver

    sort_params = request.GET.copy()
    sort_params.pop("ordering", None)
    sort_params.pop("page", None)
    context = {
        "title": _("Backlog"),
        "page": page,
        "rows": rows,
        "params": params,
        "statuses": [(s, s.value in params["status"]) for s in selectors.STATUS_ORDER],
        "squads": Squad.objects.filter(workspace=request.workspace),
        "drivers": Driver.objects.filter(workspace=request.workspace),
        "sort_qs": sort_params.urlencode(),
        "filtered": any(params[k] for k in ("status", "squad", "driver", "q")),
        "request_count": selectors.open_request_count(request.workspace, request.user),
    }
    template = (
        "backlog/backlog.html#table"
        if request.htmx and not request.htmx.boosted
        else "backlog/backlog.html"
    )
    return _vary(render(request, template, context))


# --- board ------------------------------------------------------------------------------------


def _board_context(request, squad: str) -> dict:
    from quarterdeck.squads.models import Squad

    squad = squad if squad.isdigit() else ""
    return {
        "title": _("Board"),
        "columns": selectors.board_columns(request.workspace, squad=squad or None),
        "squads": Squad.objects.filter(workspace=request.workspace),
        "squad": squad,
        "flow": selectors.STATUS_ORDER,
    }


def board(request):
    context = _board_context(request, request.GET.get("squad", ""))
    template = "backlog/board.html#board" if request.htmx else "backlog/board.html"
    return _vary(render(request, template, context))


@require_POST
@writer_required
def board_move(request, pk):
    feature = get_for(request, Feature.objects.all(), pk)
    to = request.POST.get("to", "")
    try:
        services.feature_transition(
            feature=feature, to=to, by=request.user, reason=request.POST.get("reason", "")
        )
    except services.TransitionRefused as refused:
        if not request.htmx:
            messages.error(request, f"{feature.title}: {refused}")
            return redirect(reverse("backlog:board", kwargs={"ws": request.workspace.slug}))
        card = selectors.card(request.workspace, pk)
        context = {"card": card, "refusal": str(refused), "flow": selectors.STATUS_ORDER}
        return render(request, "backlog/board.html#card", context)
    if not request.htmx:
        return redirect(reverse("backlog:board", kwargs={"ws": request.workspace.slug}))
    context = _board_context(request, request.POST.get("squad", ""))
    context["moved"] = feature.pk
    response = render(request, "backlog/board.html#board", context)
    return reswap(retarget(response, "#board"), "outerHTML")


# --- feature create / edit --------------------------------------------------------------------


def _prefill(request) -> dict:
    from quarterdeck.insights.models import Need

    initial: dict = {}
    need_id, parent_id = request.GET.get("need"), request.GET.get("parent")
    if need_id:
        need = get_for(request, Need.objects.all(), need_id)
        initial.update(title=need.title, needs=[need], description=need.description)
    if parent_id:
        parent = get_for(request, Feature.objects.select_related("squad"), parent_id)
        initial.update(parent=parent, squad=parent.squad, owner=parent.owner)
    return initial


@writer_required
def feature_new(request):
    if request.method == "POST":
        form = forms.FeatureForm(request.POST, workspace=request.workspace)
        if form.is_valid():
            try:
                feature = services.feature_create(
                    workspace=request.workspace, by=request.user, **form.service_kwargs()
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Feature created."))
                return redirect(feature.get_absolute_url())
    else:
        require_write(request)
        form = forms.FeatureForm(workspace=request.workspace, initial=_prefill(request))
    parent = form.initial.get("parent")
    context = {
        "form": form,
        "title": _("New slice") if parent else _("New feature"),
        "parent": parent,
    }
    return render(request, "backlog/feature_form.html", context)


@writer_required
def feature_edit(request, pk):
    feature = get_for(request, Feature.objects.all(), pk)
    if request.method == "POST":
        form = forms.FeatureForm(request.POST, workspace=request.workspace, instance=feature)
        if form.is_valid():
            try:
                services.feature_update(feature=feature, by=request.user, **form.service_kwargs())
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Feature saved."))
                return redirect(feature.get_absolute_url())
    else:
        require_write(request)
        form = forms.FeatureForm(workspace=request.workspace, instance=feature)
    context = {"form": form, "feature": feature, "title": _("Edit %(t)s") % {"t": feature.title}}
    return render(request, "backlog/feature_form.html", context)


# --- feature page -----------------------------------------------------------------------------


def _score_box() -> bool:
    try:
        select_template(["strategy/_score_box.html"])
    except TemplateDoesNotExist:
        return False
    return True


def _moves(feature: Feature) -> list[dict]:
    moves = []
    for target in status_machine.allowed_targets(feature.status):
        if target == Status.DECLINED:
            continue
        if feature.status in (Status.DECLINED, Status.PARKED):
            kind, label = "reopen", _("Re-open")
        elif target == Status.PARKED:
            kind, label = "park", _("Park")
        elif status_machine.is_forward(feature.status, target):
            kind, label = "forward", _("Move to %(s)s") % {"s": target.label}
        else:
            kind, label = "back", _("Back to %(s)s") % {"s": target.label}
        moves.append({"to": target.value, "label": label, "kind": kind})
    order = {"forward": 0, "reopen": 0, "back": 1, "park": 2}
    return sorted(moves, key=lambda m: order[m["kind"]])


def _feature_context(request, feature: Feature, tab: str, **extra) -> dict:
    ws = request.workspace
    context = {
        "feature": feature,
        "title": feature.title,
        "tab": tab,
        "tabs": TABS,
        "moves": _moves(feature),
        "can_decline": Status.DECLINED in status_machine.allowed_targets(feature.status),
        "score_box": _score_box(),
        "progress": selectors.slice_progress([feature.pk]).get(feature.pk, (0, 0)),
    }
    if tab == "overview":
        context["latest_evaluation"] = selectors.latest_evaluation(feature)
        context["outcomes"] = [
            line.strip().lstrip("-*•").strip()
            for line in feature.expected_outcomes.splitlines()
            if line.strip()
        ]
    elif tab == "evidence":
        context["quotes"] = list(selectors.feature_evidence(feature))
    elif tab == "delivery":
        delivery = selectors.feature_delivery(feature)
        context.update(delivery)
        context["qa"] = selectors.qa_summary(delivery["qa_checks"])
        context["qa_results"] = QaResult.choices
        context["stage_states"] = StageState.choices
        context.setdefault("evaluation_form", forms.EvaluationForm())
        context.setdefault("request_form", forms.EvaluationRequestForm(workspace=ws))
        context.setdefault("ux_form", forms.UxTestForm(workspace=ws))
        context.setdefault("qa_form", forms.QaCheckForm())
        context.setdefault("stage_form", forms.RolloutStageForm(workspace=ws))
        context.setdefault("demo_form", forms.DemoForm())
    elif tab == "communication":
        context.update(selectors.feature_communication(feature))
        context.setdefault("comms_form", forms.CommsItemForm())
        context.setdefault("onboarding_form", forms.OnboardingStepForm())
    elif tab == "slices":
        context.setdefault("slice_form", forms.SliceForm())
    elif tab == "activity":
        context["history"] = activity.history(ws, feature, limit=200)
    context.update(extra)
    return context


def _load(request, pk) -> Feature:
    get_for(request, Feature.objects.only("pk"), pk)
    return selectors.feature_detail(request.workspace, pk)


def feature(request, pk):
    feature = _load(request, pk)
    tab = request.GET.get("tab") or "overview"
    if tab not in TAB_KEYS:
        raise Http404
    context = _feature_context(request, feature, tab)
    if request.htmx and request.htmx.target == "tab-panel":
        return _vary(render(request, "backlog/feature.html#panel", context))
    return _vary(render(request, "backlog/feature.html", context))


@require_POST
@writer_required
def transition(request, pk):
    feature = get_for(request, Feature.objects.all(), pk)
    form = forms.TransitionForm(request.POST)
    form.is_valid()
    to = form.cleaned_data.get("to", "")
    refusal = None
    try:
        services.feature_transition(
            feature=feature, to=to, by=request.user, reason=form.cleaned_data.get("reason", "")
        )
    except services.TransitionRefused as refused:
        refusal = str(refused)
    feature = selectors.feature_detail(request.workspace, pk)
    if request.htmx:
        context = _feature_context(request, feature, "overview", refusal=refusal, refused_to=to)
        if not refusal:
            context["moved"] = _("Moved to %(s)s.") % {"s": feature.get_status_display()}
        return render(request, "backlog/feature.html#head", context)
    if refusal:
        context = _feature_context(request, feature, "overview", refusal=refusal, refused_to=to)
        return render(request, "backlog/feature.html", context, status=409)
    messages.success(request, _("Moved to %(s)s.") % {"s": feature.get_status_display()})
    return redirect(feature.get_absolute_url())


def _after_write(
    request, pk, tab: str, *, form_name: str | None = None, form=None, ok_message="", **extra
):
    """Re-render the tab (and, out of band, the header) after a write; redirect without htmx."""
    feature = selectors.feature_detail(request.workspace, pk)
    if form is not None and form_name:
        extra[form_name] = form
    failed = form is not None or any(k.endswith("_error") for k in extra)
    if not failed and not request.htmx:
        messages.success(request, ok_message)
        return redirect(f"{feature.get_absolute_url()}?tab={tab}")
    context = _feature_context(request, feature, tab, **extra)
    context["oob"] = True
    context["saved"] = "" if failed else ok_message
    if request.htmx:
        return render(request, "backlog/_feature_write.html", context, status=200)
    return render(request, "backlog/feature.html", context, status=400)


def _write(request, pk, tab, form_class, form_name, call, ok_message, form_kwargs=None):
    feature = get_for(request, Feature.objects.all(), pk)
    form = form_class(request.POST, **(form_kwargs or {}))
    if form.is_valid():
        try:
            call(feature, form)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _after_write(request, pk, tab, ok_message=ok_message)
    return _after_write(request, pk, tab, form_name=form_name, form=form)


@require_POST
@writer_required
def slice_create(request, pk):
    def call(feature, form):
        services.slice_create(parent=feature, title=form.cleaned_data["title"], by=request.user)

    return _write(request, pk, "slices", forms.SliceForm, "slice_form", call, _("Slice added."))


@require_POST
@writer_required
def evaluation_create(request, pk):
    def call(feature, form):
        services.evaluation_create(feature=feature, by=request.user, **form.service_kwargs())

    return _write(
        request,
        pk,
        "delivery",
        forms.EvaluationForm,
        "evaluation_form",
        call,
        _("Evaluation added."),
    )


@require_POST
@writer_required
def evaluation_request_create(request, pk):
    def call(feature, form):
        services.evaluation_request_create(
            feature=feature,
            assignee=form.cleaned_data["assignee"],
            note=form.cleaned_data["note"],
            by=request.user,
        )

    return _write(
        request,
        pk,
        "delivery",
        forms.EvaluationRequestForm,
        "request_form",
        call,
        _("Evaluation requested."),
        {"workspace": request.workspace},
    )


@require_POST
@writer_required
def evaluation_request_cancel(request, pk, rid):
    get_for(request, Feature.objects.all(), pk)
    req = get_for(
        request, EvaluationRequest.objects.filter(feature_id=pk), rid, "feature__workspace"
    )
    try:
        services.evaluation_request_cancel(request=req, by=request.user)
    except ValidationError as exc:
        return _after_write(request, pk, "delivery", delivery_error=_message(exc))
    return _after_write(request, pk, "delivery", ok_message=_("Request cancelled."))


@require_POST
@writer_required
def ux_test_create(request, pk):
    def call(feature, form):
        data = form.cleaned_data
        services.ux_test_create(
            feature=feature,
            by=request.user,
            prototype_url=data["prototype_url"],
            participants=data["participants"],
            findings=data["findings"],
            verdict=data["verdict"],
            tested_on=data["tested_on"],
        )

    return _write(
        request,
        pk,
        "delivery",
        forms.UxTestForm,
        "ux_form",
        call,
        _("UX test recorded."),
        {"workspace": request.workspace},
    )


@require_POST
@writer_required
def ux_test_verdict(request, pk, tid):
    get_for(request, Feature.objects.all(), pk)
    test = get_for(request, UxTest.objects.filter(feature_id=pk), tid, "feature__workspace")
    try:
        services.ux_test_update(test=test, by=request.user, verdict=request.POST.get("verdict", ""))
    except ValidationError as exc:
        return _after_write(request, pk, "delivery", delivery_error=_message(exc))
    except services.TransitionRefused as exc:
        return _after_write(request, pk, "delivery", delivery_error=str(exc))
    return _after_write(request, pk, "delivery", ok_message=_("Verdict saved."))


@require_POST
@writer_required
def qa_check_create(request, pk):
    def call(feature, form):
        services.qa_check_create(feature=feature, by=request.user, **form.cleaned_data)

    return _write(request, pk, "delivery", forms.QaCheckForm, "qa_form", call, _("QA check added."))


@require_POST
@writer_required
def qa_from_outcomes(request, pk):
    feature = get_for(request, Feature.objects.all(), pk)
    try:
        created = services.qa_checks_from_outcomes(feature=feature, by=request.user)
    except ValidationError as exc:
        return _after_write(request, pk, "delivery", qa_error=_message(exc))
    return _after_write(
        request, pk, "delivery", ok_message=_("%(n)d checks added.") % {"n": len(created)}
    )


@require_POST
@writer_required
def qa_check_update(request, pk, cid):
    get_for(request, Feature.objects.all(), pk)
    check = get_for(request, QaCheck.objects.filter(feature_id=pk), cid, "feature__workspace")
    form = forms.QaResultForm(request.POST)
    if form.is_valid():
        services.qa_check_update(
            check=check,
            by=request.user,
            result=form.cleaned_data["result"],
            notes=form.cleaned_data["notes"] if "notes" in request.POST else None,
        )
    return _after_write(request, pk, "delivery", ok_message=_("QA check saved."))


@require_POST
@writer_required
def demo_create(request, pk):
    def call(feature, form):
        services.demo_create(feature=feature, by=request.user, **form.cleaned_data)

    return _write(request, pk, "delivery", forms.DemoForm, "demo_form", call, _("Demo recorded."))


@require_POST
@writer_required
def rollout_stage_create(request, pk):
    def call(feature, form):
        services.rollout_stage_create(feature=feature, by=request.user, **form.cleaned_data)

    return _write(
        request,
        pk,
        "delivery",
        forms.RolloutStageForm,
        "stage_form",
        call,
        _("Rollout stage added."),
        {"workspace": request.workspace},
    )


@require_POST
@writer_required
def rollout_stage_update(request, pk, sid):
    get_for(request, Feature.objects.all(), pk)
    stage = get_for(request, RolloutStage.objects.filter(feature_id=pk), sid, "feature__workspace")
    form = forms.StageStateForm(request.POST)
    if form.is_valid():
        try:
            services.rollout_stage_update(
                stage=stage, by=request.user, state=form.cleaned_data["state"]
            )
        except ValidationError as exc:
            return _after_write(request, pk, "delivery", delivery_error=_message(exc))
    return _after_write(request, pk, "delivery", ok_message=_("Rollout stage saved."))


@require_POST
@writer_required
def comms_create(request, pk):
    def call(feature, form):
        services.comms_item_create(feature=feature, by=request.user, **form.cleaned_data)

    return _write(
        request,
        pk,
        "communication",
        forms.CommsItemForm,
        "comms_form",
        call,
        _("Communication planned."),
    )


@require_POST
@writer_required
def comms_update(request, pk, cid):
    get_for(request, Feature.objects.all(), pk)
    item = get_for(request, CommsItem.objects.filter(feature_id=pk), cid, "feature__workspace")
    services.comms_item_update(item=item, by=request.user, sent=request.POST.get("sent") == "1")
    return _after_write(request, pk, "communication", ok_message=_("Communication saved."))


@require_POST
@writer_required
def onboarding_create(request, pk):
    def call(feature, form):
        services.onboarding_step_create(feature=feature, by=request.user, **form.cleaned_data)

    return _write(
        request,
        pk,
        "communication",
        forms.OnboardingStepForm,
        "onboarding_form",
        call,
        _("Onboarding step added."),
    )


@require_POST
@writer_required
def onboarding_delete(request, pk, sid):
    get_for(request, Feature.objects.all(), pk)
    step = get_for(request, OnboardingStep.objects.filter(feature_id=pk), sid, "feature__workspace")
    services.onboarding_step_delete(step=step, by=request.user)
    return _after_write(request, pk, "communication", ok_message=_("Onboarding step removed."))


# --- evaluation requests ------------------------------------------------------------------------


def my_requests(request):
    context = {
        "title": _("My evaluation requests"),
        "requests": list(selectors.my_evaluation_requests(request.workspace, request.user)),
        "form": forms.EvaluationForm(),
    }
    return render(request, "backlog/my_requests.html", context)


@require_POST
@writer_required
def request_answer(request, rid):
    req = get_for(
        request, EvaluationRequest.objects.select_related("feature"), rid, "feature__workspace"
    )
    form = forms.EvaluationForm(request.POST)
    answered = False
    if form.is_valid():
        try:
            services.evaluation_request_answer(
                request=req, by=request.user, **form.service_kwargs()
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            answered = True
    if not request.htmx and answered:
        messages.success(request, _("Estimate sent for %(t)s.") % {"t": req.feature.title})
        return redirect(reverse("backlog:my_requests", kwargs={"ws": request.workspace.slug}))
    context = {"req": req, "form": form, "answered": answered, "form_req": req.pk}
    if request.htmx:
        return render(request, "backlog/my_requests.html#request", context)
    context.update(
        title=_("My evaluation requests"),
        requests=list(selectors.my_evaluation_requests(request.workspace, request.user)),
    )
    return render(request, "backlog/my_requests.html", context, status=400)
