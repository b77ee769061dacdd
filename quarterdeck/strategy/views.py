"""OKR, driver and prioritization pages. Thin: parse input, call one service or selector, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from quarterdeck.core.access import get_for, require_manage, require_write
from quarterdeck.core.forms import apply_errors
from quarterdeck.strategy import selectors, services
from quarterdeck.strategy.forms import (
    CheckInCsvForm,
    CheckInForm,
    DriverForm,
    KeyResultForm,
    ObjectiveForm,
)
from quarterdeck.strategy.models import Driver, KeyResult, Objective


def _okrs_url(workspace, quarter: str) -> str:
    return reverse("strategy:okrs", kwargs={"ws": workspace.slug}) + f"?q={quarter}"


# --- OKRs -------------------------------------------------------------------------------------


@login_required
def okrs(request):
    from quarterdeck.squads.models import Squad

    quarter = request.GET.get("q") or selectors.current_quarter()
    try:
        services.validate_quarter(quarter)
    except ValidationError:
        messages.error(request, services.QUARTER_FORMAT)
        quarter = selectors.current_quarter()
    squad = request.GET.get("squad") or None
    objectives = list(selectors.okr_objectives(request.workspace, quarter=quarter, squad=squad))
    return render(
        request,
        "strategy/okrs.html",
        {
            "quarter": quarter,
            "quarters": selectors.quarter_choices(request.workspace),
            "squads": Squad.objects.filter(workspace=request.workspace),
            "squad_filter": squad or "",
            "objectives": objectives,
            "title": _("OKRs %(q)s") % {"q": quarter},
        },
    )


@login_required
def objective(request, pk):
    obj = get_for(request, selectors.okr_objectives_any(request.workspace), pk)
    return render(request, "strategy/objective.html", {"objective": obj, "title": obj.title})


@login_required
@require_http_methods(["GET", "POST"])
def objective_new(request):
    require_manage(request)
    quarter = request.GET.get("q") or selectors.current_quarter()
    initial = {"quarter": quarter, "squad": request.GET.get("squad") or None}
    form = ObjectiveForm(request.POST or None, workspace=request.workspace, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            obj = services.objective_create(
                workspace=request.workspace, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Objective created. Add its key results."))
            return redirect("strategy:objective", ws=request.workspace.slug, pk=obj.pk)
    return render(
        request,
        "strategy/objective_form.html",
        {"form": form, "title": _("New objective")},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def objective_edit(request, pk):
    require_manage(request)
    obj = get_for(request, Objective.objects.select_related("squad", "owner"), pk)
    initial = {
        "title": obj.title,
        "description": obj.description,
        "quarter": obj.quarter,
        "squad": obj.squad,
        "owner": obj.owner,
    }
    form = ObjectiveForm(request.POST or None, workspace=request.workspace, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.objective_update(objective=obj, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Objective saved."))
            return redirect("strategy:objective", ws=request.workspace.slug, pk=obj.pk)
    return render(
        request,
        "strategy/objective_form.html",
        {"form": form, "objective": obj, "title": _("Edit objective")},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def key_result_new(request, pk):
    require_manage(request)
    obj = get_for(request, Objective.objects.all(), pk)
    form = KeyResultForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            kr = services.key_result_create(objective=obj, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Key result added."))
            return redirect("strategy:key_result", ws=request.workspace.slug, pk=kr.pk)
    return render(
        request,
        "strategy/key_result_form.html",
        {"form": form, "objective": obj, "title": _("New key result")},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def key_result_edit(request, pk):
    require_manage(request)
    kr = get_for(request, KeyResult.objects.select_related("objective"), pk, "objective__workspace")
    initial = {f: getattr(kr, f) for f in services.KEY_RESULT_FIELDS}
    form = KeyResultForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.key_result_update(key_result=kr, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Key result saved."))
            return redirect("strategy:key_result", ws=request.workspace.slug, pk=kr.pk)
    return render(
        request,
        "strategy/key_result_form.html",
        {"form": form, "objective": kr.objective, "key_result": kr, "title": _("Edit key result")},
        status=400 if form.errors else 200,
    )


def _key_result_page(request, kr, *, checkin_form=None, csv_form=None, status=200):
    return render(
        request,
        "strategy/key_result.html",
        {
            "kr": kr,
            "objective": kr.objective,
            "check_ins": list(reversed(kr.check_ins.all())),
            "checkin_form": checkin_form or CheckInForm(),
            "csv_form": csv_form or CheckInCsvForm(),
            "title": kr.metric,
        },
        status=status,
    )


def _get_key_result(request, pk) -> KeyResult:
    try:
        return selectors.key_result_detail(request.workspace, pk)
    except (KeyResult.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


@login_required
def key_result(request, pk):
    return _key_result_page(request, _get_key_result(request, pk))


@login_required
@require_POST
def checkin(request, pk):
    require_write(request)
    kr = _get_key_result(request, pk)
    form = CheckInForm(request.POST)
    if form.is_valid():
        try:
            services.check_in_create(key_result=kr, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Check-in recorded."))
            return redirect(request.POST.get("next") or kr.get_absolute_url())
    return _key_result_page(request, kr, checkin_form=form, status=400)


@login_required
@require_POST
def checkin_csv(request, pk):
    require_write(request)
    kr = _get_key_result(request, pk)
    form = CheckInCsvForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            created = services.check_ins_import(
                key_result=kr, text=form.cleaned_data["file"], by=request.user
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(n)s check-ins imported.") % {"n": len(created)})
            return redirect(kr.get_absolute_url())
    return _key_result_page(request, kr, csv_form=form, status=400)


# --- drivers ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def drivers(request):
    form = DriverForm(request.POST or None, initial={"weight": 1.0}, prefix="new")
    if request.method == "POST":
        require_manage(request)
        if form.is_valid():
            try:
                services.driver_create(
                    workspace=request.workspace, by=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Driver added; scores are being updated."))
                return redirect("strategy:drivers", ws=request.workspace.slug)
    return render(
        request,
        "strategy/drivers.html",
        {
            "drivers": selectors.drivers_with_usage(request.workspace),
            "form": form,
            "title": _("Strategic drivers"),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def driver_edit(request, pk):
    require_manage(request)
    driver = get_for(request, Driver.objects.all(), pk)
    form = DriverForm(
        request.POST or None,
        initial={"name": driver.name, "description": driver.description, "weight": driver.weight},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.driver_update(driver=driver, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Driver saved; scores are being updated."))
            return redirect("strategy:drivers", ws=request.workspace.slug)
    return render(
        request,
        "strategy/driver_form.html",
        {"form": form, "driver": driver, "title": _("Edit driver")},
        status=400 if form.errors else 200,
    )


# --- prioritization ---------------------------------------------------------------------------


def _feature(request, pk):
    from quarterdeck.backlog.models import Feature

    return get_for(request, Feature.objects.select_related("workspace", "squad"), pk)


@login_required
def feature_score(request, pk):
    from quarterdeck.strategy import ranking

    feature = _feature(request, pk)
    return render(
        request,
        "strategy/feature_score.html",
        {
            "feature": feature,
            "score": ranking.feature_breakdown(feature),
            "changes": feature.rank_changes.all()[:20],
            "title": _("Score of %(f)s") % {"f": feature.title},
        },
    )


@login_required
@require_POST
def feature_measure(request, pk):
    from quarterdeck.strategy.forms import MeasureForm

    require_write(request)
    feature = _feature(request, pk)
    form = MeasureForm(request.POST)
    if form.is_valid():
        try:
            services.feature_measure(feature=feature, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for errors in exc.message_dict.values():
                for error in errors:
                    messages.error(request, error)
        else:
            messages.success(request, _("Measured against its key results."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect(request.POST.get("next") or _feature_page(feature))


def _feature_page(feature) -> str:
    from django.urls import NoReverseMatch

    try:
        return feature.get_absolute_url()
    except NoReverseMatch:
        return reverse(
            "strategy:feature_score", kwargs={"ws": feature.workspace.slug, "pk": feature.pk}
        )


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _weights_from(request, drivers) -> tuple[dict[int, float], dict[int, str]]:
    """Driver weights posted as weight-<id>; bad values are reported per driver."""
    weights, errors = {}, {}
    for driver in drivers:
        raw = request.POST.get(f"weight-{driver.pk}")
        if raw is None or raw == "":
            continue
        try:
            value = float(raw)
            if not 0 <= value < float("inf"):
                raise ValueError
        except ValueError:
            errors[driver.pk] = _("Weight of “%(d)s” is a number of zero or more.") % {
                "d": driver.name
            }
            continue
        weights[driver.pk] = value
    return weights, errors


@login_required
def matrix(request):
    return _matrix_page(request)


def _matrix_page(request, weights=None, errors=None):
    from quarterdeck.insights.models import Segment
    from quarterdeck.squads.models import Squad
    from quarterdeck.strategy import charts, ranking

    squad, driver = _int(request.GET.get("squad")), _int(request.GET.get("driver"))
    segment = request.GET.get("segment") or None
    data = ranking.matrix(request.workspace, squad=squad, driver=driver, segment=segment)
    bubbles = [
        charts.Bubble(
            effort=job_size,
            value=value,
            demand=demand,
            color=feature.squad.color if feature.squad else "#6b7280",
            url=_feature_page(feature),
            title=feature.title,
            detail=_("score %(s)s, value %(v)s, effort %(e)s, demand %(d)s")
            % {
                "s": charts.fmt(None if feature.score is None else round(feature.score, 2)),
                "v": charts.fmt(round(value, 2)),
                "e": charts.fmt(round(job_size, 2)),
                "d": charts.fmt(round(demand, 2)),
            },
        )
        for feature, value, job_size, demand in data.points
    ]
    chart = (
        charts.matrix_chart(bubbles, value_split=data.value_split, effort_split=data.effort_split)
        if bubbles
        else None
    )
    drivers = list(selectors.drivers(request.workspace))
    squads = list(Squad.objects.filter(workspace=request.workspace))
    return render(
        request,
        "strategy/matrix.html",
        {
            "data": data,
            "chart": chart,
            "drivers": drivers,
            "squads": squads,
            "legend_squads": [s for s in squads if any(p[0].squad_id == s.pk for p in data.points)],
            "segments": Segment.objects.filter(workspace=request.workspace),
            "filters": {"squad": squad, "driver": driver, "segment": segment or ""},
            "weights": weights or {},
            "rows": [] if errors else ranking.what_if(request.workspace, weights or {}),
            "errors": (errors or {}).values(),
            "preview": weights is not None,
            "changes": selectors.rank_changes(request.workspace, limit=15),
            "title": _("Prioritization"),
        },
        status=400 if errors else 200,
    )


@login_required
@require_POST
def what_if(request):
    """The re-ranked top 20 under the posted driver weights; nothing is saved."""
    from quarterdeck.strategy import ranking

    drivers = list(selectors.drivers(request.workspace))
    weights, errors = _weights_from(request, drivers)
    if not request.htmx:
        return _matrix_page(request, weights, errors)
    rows = [] if errors else ranking.what_if(request.workspace, weights)
    response = render(
        request,
        "strategy/matrix.html#whatif",
        {"rows": rows, "errors": errors.values(), "preview": True},
        status=400 if errors else 200,
    )
    response["Vary"] = "HX-Request"
    return response


@login_required
@require_POST
def weights_save(request):
    require_manage(request)
    drivers = list(selectors.drivers(request.workspace))
    weights, errors = _weights_from(request, drivers)
    if errors:
        for error in errors.values():
            messages.error(request, error)
    else:
        try:
            changed = services.driver_weights_update(
                workspace=request.workspace, weights=weights, by=request.user
            )
        except ValidationError as exc:
            for errs in exc.message_dict.values():
                for error in errs:
                    messages.error(request, error)
        else:
            if changed:
                messages.success(
                    request,
                    _("Weights saved for %(n)s drivers; the backlog is re-ranked.")
                    % {"n": len(changed)},
                )
            else:
                messages.info(request, _("The weights were already these."))
    target = reverse("strategy:matrix", kwargs={"ws": request.workspace.slug})
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


@login_required
@require_http_methods(["GET", "POST"])
def scoring_settings(request):
    from quarterdeck.strategy import ranking, scoring

    config = ranking.scoring_config(request.workspace)
    error, position, posted = None, None, None
    if request.method == "POST":
        require_manage(request)
        posted = {
            "framework": request.POST.get("framework", config.framework),
            "formula": request.POST.get("formula", config.formula),
        }
        half_life = request.POST.get("half_life_days", "").strip()
        if "half_life_days" in request.POST:
            try:
                posted["half_life_days"] = float(half_life) if half_life else None
            except ValueError:
                error = _("half_life_days: a number of days, or empty for no decay")
        if error is None:
            try:
                services.scoring_config_update(
                    workspace=request.workspace, by=request.user, **posted
                )
            except ValidationError as exc:
                error = "; ".join(m for msgs in exc.message_dict.values() for m in msgs)
                position = getattr(exc, "position", None)
            else:
                messages.success(request, _("Scoring saved; the backlog is re-ranked."))
                return redirect("strategy:scoring", ws=request.workspace.slug)
    return render(
        request,
        "strategy/scoring.html",
        {
            "config": config,
            "posted": posted or {},
            "frameworks": [
                (key, scoring.FRAMEWORK_LABELS[key], scoring.FRAMEWORKS.get(key, ""))
                for key in [*scoring.FRAMEWORKS, scoring.CUSTOM]
            ],
            "terms": scoring.TERMS.items(),
            "error": error,
            "position": position,
            "title": _("Scoring"),
        },
        status=400 if error else 200,
    )
