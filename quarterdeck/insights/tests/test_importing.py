"""CSV import: validation that names each line, idempotent re-imports, dry runs, the command
and the upload → preview → confirm pages."""

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from quarterdeck.core.models import Activity
from quarterdeck.insights.importing import derived_external_id, insights_import, parse_datetime
from quarterdeck.insights.models import Channel, Insight, InsightState, Stakeholder

GOOD = (
    "text,source,external_id,stakeholder_email,stakeholder_name,segment,captured_at,tags\n"
    "I can't find my project,support,T-1,ana@example.org,Ana Lopez,student,2025-03-14,"
    '"projects, navigation"\n'
    "Please add calendar sync,interview,T-2,ben@example.org,Ben Ode,mentor,"
    "2025-03-15T09:30:00+01:00,\n"
    '"Multi-line\nfeedback, with a comma",zendesk,Z-9,ana@example.org,,,,\n'
    "No id and no date here,,,,,employer,,\n"
)

BAD = (
    "text,source,external_id,segment,captured_at\n"
    "Fine row,support,B-1,student,2025-01-02\n"
    ",support,B-2,student,2025-01-02\n"
    "Another fine row,support,B-3,mentor,\n"
    "Bad date row,support,B-4,student,14/03/2025\n"
    "Unknown segment row,support,B-5,alien,2025-01-02\n"
)


def write(tmp_path, content: str, name="insights.csv") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def ids(workspace):
    return sorted(Insight.objects.filter(workspace=workspace).values_list("id", flat=True))


def test_a_good_file_imports_every_row(acme, paula, tmp_path):
    report = insights_import(workspace=acme, file=write(tmp_path, GOOD), by=paula)
    assert report.ok and (report.created, report.updated, report.unchanged) == (4, 0, 0)
    first = Insight.objects.get(workspace=acme, external_id="T-1")
    assert first.text == "I can't find my project"
    assert first.channel == Channel.SUPPORT and first.source == "support"
    assert first.stakeholder.email == "ana@example.org"
    assert first.stakeholder.name == "Ana Lopez"
    assert first.segment.key == "student"
    assert first.tags == ["projects", "navigation"]
    assert first.captured_by == paula
    assert first.state == InsightState.NEW
    second = Insight.objects.get(workspace=acme, external_id="T-2")
    assert second.captured_at.isoformat() == "2025-03-15T08:30:00+00:00"
    zendesk = Insight.objects.get(workspace=acme, external_id="Z-9")
    assert zendesk.text == "Multi-line\nfeedback, with a comma"
    assert zendesk.channel == Channel.IMPORT and zendesk.source == "zendesk"
    assert zendesk.stakeholder_id == first.stakeholder_id  # one stakeholder per email
    assert zendesk.segment.key == "student"  # the stakeholder's segment
    anonymous = Insight.objects.get(workspace=acme, text="No id and no date here")
    assert anonymous.source == "import" and anonymous.external_id.startswith("csv-")
    assert anonymous.segment.key == "employer" and anonymous.stakeholder is None
    assert Stakeholder.objects.filter(workspace=acme).count() == 2
    assert Activity.objects.filter(workspace=acme, verb="imported").count() == 1
    assert not Activity.objects.filter(workspace=acme, verb="created", target_type="insight")


def test_a_bad_file_imports_nothing_and_names_each_line(acme, tmp_path):
    report = insights_import(workspace=acme, file=write(tmp_path, BAD))
    assert not report.ok
    lines = dict(report.errors)
    assert sorted(lines) == [3, 5, 6]
    assert "text is empty" in lines[3]
    assert "“14/03/2025” is not an ISO 8601 date" in lines[5]
    assert "segment “alien” is unknown" in lines[6] and "student" in lines[6]
    assert Insight.objects.filter(workspace=acme).count() == 0
    assert not Activity.objects.filter(workspace=acme, verb="imported").exists()


def test_an_unknown_column_is_refused_by_name(acme, tmp_path):
    report = insights_import(
        workspace=acme, file=write(tmp_path, "text,mood,colour\nhello,happy,red\n")
    )
    assert report.file_error
    assert report.errors[0][0] == 1
    assert "“mood”" in report.errors[0][1] and "“colour”" in report.errors[0][1]
    assert Insight.objects.filter(workspace=acme).count() == 0


def test_line_numbers_are_physical_lines(acme, tmp_path):
    content = 'text,captured_at\n"two\nlines",2025-01-01\n\nbad date,yesterday\n'
    report = insights_import(workspace=acme, file=write(tmp_path, content))
    assert [line for line, _m in report.errors] == [5]


def test_invalid_email_and_over_long_fields_are_reported(acme, tmp_path):
    long_id = "x" * 201
    content = f"text,stakeholder_email,external_id\nhi,not-an-email,\nhello,,{long_id}\n"
    report = insights_import(workspace=acme, file=write(tmp_path, content))
    lines = dict(report.errors)
    assert "“not-an-email” is not an email address" in lines[2]
    assert "external_id is 201 characters long (at most 200)" in lines[3]


def test_skip_invalid_imports_the_good_rows(acme, tmp_path):
    report = insights_import(workspace=acme, file=write(tmp_path, BAD), skip_invalid=True)
    assert report.created == 2 and report.skipped == 3
    assert sorted(Insight.objects.filter(workspace=acme).values_list("external_id", flat=True)) == [
        "B-1",
        "B-3",
    ]


def test_reimporting_the_same_file_creates_no_duplicates(acme, tmp_path):
    path = write(tmp_path, GOOD)
    insights_import(workspace=acme, file=path)
    before = ids(acme)
    again = insights_import(workspace=acme, file=path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert ids(acme) == before
    assert Stakeholder.objects.filter(workspace=acme).count() == 2


def test_a_changed_row_updates_the_existing_insight_and_keeps_its_triage(acme, tmp_path):
    insights_import(workspace=acme, file=write(tmp_path, GOOD))
    insight = Insight.objects.get(workspace=acme, external_id="T-1")
    Insight.objects.filter(pk=insight.pk).update(state=InsightState.TRIAGED)
    changed = GOOD.replace("I can't find my project", "I still can't find my project")
    report = insights_import(workspace=acme, file=write(tmp_path, changed, "v2.csv"))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 3)
    insight.refresh_from_db()
    assert insight.text == "I still can't find my project"
    assert insight.state == InsightState.TRIAGED


def test_dry_run_counts_and_writes_nothing(acme, tmp_path):
    report = insights_import(workspace=acme, file=write(tmp_path, GOOD), dry_run=True)
    assert report.dry_run and report.created == 4 and report.stakeholders_created == 2
    assert Insight.objects.filter(workspace=acme).count() == 0
    assert Stakeholder.objects.filter(workspace=acme).count() == 0
    assert not Activity.objects.filter(workspace=acme).exists()


def test_imports_stay_in_their_workspace(acme, globex, tmp_path):
    path = write(tmp_path, GOOD)
    insights_import(workspace=acme, file=path)
    report = insights_import(workspace=globex, file=path)
    assert report.created == 4
    assert Insight.objects.filter(workspace=globex).count() == 4


def test_derived_ids_are_stable_and_naive_dates_are_utc():
    when = parse_datetime("2025-03-14T10:00:00")
    assert when.isoformat() == "2025-03-14T10:00:00+00:00"
    assert parse_datetime("2025-03-14T10:00:00Z") == when
    assert derived_external_id("a", "b@x.org", when) == derived_external_id("a", "b@x.org", when)
    assert derived_external_id("a", "", None) != derived_external_id("b", "", None)


def test_a_file_with_a_byte_order_mark_and_uppercase_headers_imports(acme, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffText,Source\r\nFrom Excel,survey\r\n".encode())
    report = insights_import(workspace=acme, file=path)
    assert report.created == 1
    assert Insight.objects.get(workspace=acme).channel == Channel.SURVEY


# The command


def test_command_imports_and_reports(acme, tmp_path):
    out = io.StringIO()
    call_command("import_insights", str(write(tmp_path, GOOD)), workspace="acme", stdout=out)
    assert "4 created, 0 updated, 0 unchanged" in out.getvalue()
    assert Insight.objects.filter(workspace=acme).count() == 4


def test_command_refuses_a_bad_file_and_lists_lines(acme, tmp_path):
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing imported: 3 invalid row"):
        call_command("import_insights", str(write(tmp_path, BAD)), workspace="acme", stderr=err)
    assert "line 3: text is empty" in err.getvalue()
    assert "line 5:" in err.getvalue() and "line 6:" in err.getvalue()
    assert Insight.objects.filter(workspace=acme).count() == 0


def test_command_dry_run_and_skip_invalid(acme, tmp_path):
    out = io.StringIO()
    path = str(write(tmp_path, GOOD))
    call_command("import_insights", path, workspace="acme", dry_run=True, stdout=out)
    assert "Dry run" in out.getvalue() and "would be 4 created" in out.getvalue()
    assert Insight.objects.filter(workspace=acme).count() == 0
    out = io.StringIO()
    call_command(
        "import_insights",
        str(write(tmp_path, BAD, "bad.csv")),
        workspace="acme",
        skip_invalid=True,
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "3 invalid row(s) skipped" in out.getvalue()
    assert Insight.objects.filter(workspace=acme).count() == 2


def test_command_names_an_unknown_workspace_or_file(acme, tmp_path):
    with pytest.raises(CommandError, match="No workspace with the slug 'nope'"):
        call_command("import_insights", str(write(tmp_path, GOOD)), workspace="nope")
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_insights", str(tmp_path / "missing.csv"), workspace="acme")


@pytest.mark.django_db(transaction=True)
def test_console_script_exits_non_zero_on_a_bad_file(tmp_path):
    data = tmp_path / "data"
    env = {"QUARTERDECK_DATA_DIR": str(data), "PATH": "/usr/bin:/bin", "TASK_BACKEND": "dummy"}
    script = Path(sys.executable).parent / "quarterdeck"
    subprocess.run([str(script), "migrate", "-v", "0"], env=env, check=True, timeout=180)
    subprocess.run(
        [str(script), "create_workspace", "acme", "--name", "Acme", "--admin", "a@example.com"],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
    )
    bad = subprocess.run(
        [str(script), "import_insights", str(write(tmp_path, BAD)), "--workspace", "acme"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0
    assert "line 3: text is empty" in bad.stderr
    good = subprocess.run(
        [
            str(script),
            "import_insights",
            str(write(tmp_path, GOOD, "g.csv")),
            "--workspace",
            "acme",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert good.returncode == 0, good.stderr
    assert "4 created" in good.stdout


# The pages


def upload(client, content: str, name="feedback.csv"):
    url = reverse("importing:start", kwargs={"ws": "acme"})
    return client.post(url, {"file": SimpleUploadedFile(name, content.encode(), "text/csv")})


def test_upload_preview_then_confirm_imports(pm_client, acme, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    response = upload(pm_client, GOOD)
    assert response.status_code == 302
    preview_url = response["Location"]
    preview = pm_client.get(preview_url)
    assert preview.status_code == 200
    body = preview.content.decode()
    assert "Ready to import" in body and "I can&#x27;t find my project" in body
    assert Insight.objects.filter(workspace=acme).count() == 0
    token = preview.context["token"]
    confirm = pm_client.post(reverse("importing:confirm", kwargs={"ws": "acme", "token": token}))
    assert confirm.status_code == 302
    done = pm_client.get(confirm["Location"])
    assert done.status_code == 200
    assert "4 insights created, 0 updated, 0 unchanged" in done.content.decode()
    assert Insight.objects.filter(workspace=acme).count() == 4
    assert not list(Path(tmp_path, "imports").glob("*.csv"))


def test_preview_lists_every_error_and_offers_to_skip(pm_client, acme, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    preview = pm_client.get(upload(pm_client, BAD)["Location"])
    body = preview.content.decode()
    assert "3 rows have problems" in body
    assert "text is empty" in body and "14/03/2025" in body and "alien" in body
    assert "Import the 2 valid rows, skip the rest" in body
    token = preview.context["token"]
    url = reverse("importing:confirm", kwargs={"ws": "acme", "token": token})
    refused = pm_client.post(url)
    assert refused.status_code == 302 and Insight.objects.filter(workspace=acme).count() == 0
    pm_client.post(url, {"skip_invalid": "1"})
    assert Insight.objects.filter(workspace=acme).count() == 2


def test_preview_of_an_unknown_column_says_so(pm_client, acme, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    preview = pm_client.get(upload(pm_client, "text,mood\nhi,ok\n")["Location"])
    assert "This file cannot be imported" in preview.content.decode()
    assert "“mood”" in preview.content.decode()


def test_someone_elses_upload_token_is_not_found(pm_client, client, carl, acme, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    preview_url = upload(pm_client, GOOD)["Location"]
    client.force_login(carl)
    assert client.get(preview_url).status_code == 404
    token = preview_url.rstrip("/").rsplit("/", 1)[-1]
    url = reverse("importing:confirm", kwargs={"ws": "acme", "token": token})
    assert client.post(url).status_code == 404


def test_template_csv_has_the_header_row(pm_client, acme):
    response = pm_client.get(reverse("importing:template", kwargs={"ws": "acme"}))
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().strip() == (
        "text,source,external_id,stakeholder_email,stakeholder_name,segment,captured_at,tags"
    )


def test_viewer_cannot_import(viewer_client, acme, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    url = reverse("importing:start", kwargs={"ws": "acme"})
    assert viewer_client.get(url).status_code == 403
    assert upload(viewer_client, GOOD).status_code == 403
    assert Insight.objects.filter(workspace=acme).count() == 0


def test_outsider_gets_404(outsider_client, acme):
    assert outsider_client.get(reverse("importing:start", kwargs={"ws": "acme"})).status_code == 404
