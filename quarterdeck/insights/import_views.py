"""CSV import pages: upload → preview (parsed rows, counts, every error) → confirm → report.

The uploaded file is kept on the server under a random token remembered in the session; the
preview and the import both parse that file, never data sent back by the browser.
"""

import re
import secrets
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from quarterdeck.core.access import require_write
from quarterdeck.insights import importing, selectors

MAX_UPLOAD = 100 * 1024 * 1024
KEEP_SECONDS = 24 * 3600
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
SESSION_KEY = "insight_imports"
MAX_ERRORS_SHOWN = 1000


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("UTF-8, with a header row. Up to 100 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(
                _(
                    "The file is %(mb).0f MB; the limit is 100 MB. Split it, or use the command "
                    "line: quarterdeck import_insights."
                )
                % {"mb": upload.size / 1024 / 1024}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload


def _folder() -> Path:
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _forget_old_uploads(folder: Path) -> None:
    limit = time.time() - KEEP_SECONDS
    for path in folder.glob("*.csv"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            continue


def _upload(request, token: str) -> tuple[dict, Path]:
    """The upload `token` of this session in this workspace, and its file; else 404."""
    entry = request.session.get(SESSION_KEY, {}).get(token) if TOKEN.match(token) else None
    if not entry or entry.get("workspace") != request.workspace.pk:
        raise Http404(_("This upload has expired. Upload the file again."))
    path = _folder() / f"{token}.csv"
    return entry, path


def _inbox_url(request) -> str:
    try:
        return reverse("insights:inbox", kwargs={"ws": request.workspace.slug})
    except NoReverseMatch:
        return reverse("core:home", kwargs={"ws": request.workspace.slug})


@login_required
@require_http_methods(["GET", "POST"])
def start(request):
    """Upload a CSV to import."""
    require_write(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        folder = _folder()
        _forget_old_uploads(folder)
        token = secrets.token_urlsafe(24)
        with open(folder / f"{token}.csv", "wb") as out:
            for chunk in form.cleaned_data["file"].chunks():
                out.write(chunk)
        uploads = dict(list(request.session.get(SESSION_KEY, {}).items())[-9:])
        uploads[token] = {
            "workspace": request.workspace.pk,
            "name": Path(form.cleaned_data["file"].name).name[:200],
        }
        request.session[SESSION_KEY] = uploads
        return redirect("importing:preview", ws=request.workspace.slug, token=token)
    return render(
        request,
        "importing/start.html",
        {
            "form": form,
            "columns": importing.COLUMNS,
            "segment_keys": list(
                selectors.segments(request.workspace).values_list("key", flat=True)
            ),
            "title": _("Import insights"),
        },
    )


@login_required
def template(request):
    """An empty CSV with the header row."""
    require_write(request)
    response = HttpResponse(importing.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="quarterdeck-insights.csv"'
    return response


@login_required
def preview(request, token: str):
    """What the import would do: the first rows as parsed, the counts and every error."""
    require_write(request)
    entry, path = _upload(request, token)
    if not path.exists():
        raise Http404(_("This upload has expired. Upload the file again."))
    report = importing.insights_import(
        workspace=request.workspace,
        file=path,
        by=request.user,
        dry_run=True,
        preview_rows=importing.PREVIEW_ROWS,
        filename=entry["name"],
    )
    header = []
    if not report.file_error:
        with open(path, encoding="utf-8-sig", newline="") as f:
            header = [h.strip().lower() for h in next(importing.csv.reader(f), [])]
    return render(
        request,
        "importing/preview.html",
        {
            "report": report,
            "header": header,
            "name": entry["name"],
            "token": token,
            "valid_rows": report.rows - len(report.errors),
            "errors": report.errors[:MAX_ERRORS_SHOWN],
            "hidden_errors": max(len(report.errors) - MAX_ERRORS_SHOWN, 0),
            "title": _("Check the import"),
        },
    )


@login_required
@require_POST
def confirm(request, token: str):
    """Import the uploaded file (all of it, or its valid rows when asked to skip the rest)."""
    require_write(request)
    entry, path = _upload(request, token)
    if not path.exists():
        raise Http404(_("This upload has expired. Upload the file again."))
    skip_invalid = request.POST.get("skip_invalid") == "1"
    report = importing.insights_import(
        workspace=request.workspace,
        file=path,
        by=request.user,
        skip_invalid=skip_invalid,
        filename=entry["name"],
    )
    if not report.imported:
        return redirect("importing:preview", ws=request.workspace.slug, token=token)
    path.unlink(missing_ok=True)
    uploads = request.session.get(SESSION_KEY, {})
    summary = report.as_dict()
    summary["error_count"] = len(report.errors)
    summary["errors"] = summary["errors"][:MAX_ERRORS_SHOWN]
    uploads[token] = {**entry, "report": summary}
    request.session[SESSION_KEY] = uploads
    return redirect("importing:done", ws=request.workspace.slug, token=token)


@login_required
def done(request, token: str):
    """The report of a finished import."""
    require_write(request)
    entry, _path = _upload(request, token)
    if "report" not in entry:
        return redirect("importing:preview", ws=request.workspace.slug, token=token)
    report = entry["report"]
    return render(
        request,
        "importing/done.html",
        {
            "report": report,
            "errors": report["errors"],
            "hidden_errors": report["error_count"] - len(report["errors"]),
            "name": entry["name"],
            "inbox_url": _inbox_url(request),
            "title": _("Import finished"),
        },
    )
