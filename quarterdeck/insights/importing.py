"""Import insights from a CSV file, quickly and idempotently.

Columns (a header row is required; names are case-insensitive, order is free):

==================  ==========================================================================
``text``            required: what the person said
``source``          where it came from (a channel such as ``support`` or a tool name); default
                    ``import``. The insight's channel is the source when it names a channel,
                    else ``import``.
``external_id``     the id in the source system
``stakeholder_email``  the person; a stakeholder with this email is created on first sight
``stakeholder_name``   their name, used when the stakeholder is created
``segment``         a segment key of the workspace (``student``, ``mentor``…); default: the
                    stakeholder's segment
``captured_at``     ISO 8601 date or date-time (``2025-03-14`` or ``2025-03-14T09:30:00+01:00``);
                    default: now. Times without an offset are taken as UTC.
``tags``            comma-separated
==================  ==========================================================================

Any other column is an error. The whole file is validated before anything is written: a file
with an invalid row imports nothing, unless ``skip_invalid`` is set, in which case the valid rows
are imported and the others reported. Line numbers are physical lines of the file (the header is
line 1), so they match what a text editor shows.

Re-importing is idempotent. An insight is identified by ``source`` + ``external_id``; a row
without an ``external_id`` gets a stable one derived from its content: ``"csv-"`` followed by the
first 24 hex digits of the SHA-256 of its text, stakeholder email and captured_at (normalised to
UTC), so importing the same file twice creates nothing new. An existing insight is updated only
where the columns present in the file differ from it (its triage state, importance and links are
kept); otherwise it is counted as unchanged.

Writes happen in one transaction, in batches (``bulk_create`` and batched UPDATEs), with one
Activity entry for the whole import.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quarterdeck.core import activity
from quarterdeck.insights import services as insight_services
from quarterdeck.insights.models import Channel, Insight, Segment, Stakeholder

COLUMNS = (
    "text",
    "source",
    "external_id",
    "stakeholder_email",
    "stakeholder_name",
    "segment",
    "captured_at",
    "tags",
)
REQUIRED_COLUMNS = ("text",)
DEFAULT_SOURCE = Channel.IMPORT.value
MAX_TEXT = 20_000
MAX_TAG = 50
LIMITS = {
    "source": Insight._meta.get_field("source").max_length,
    "external_id": Insight._meta.get_field("external_id").max_length,
    "stakeholder_email": 254,
    "stakeholder_name": Stakeholder._meta.get_field("name").max_length,
    "segment": Segment._meta.get_field("key").max_length,
}
PREVIEW_ROWS = 20
LOOKUP_CHUNK = 500
WRITE_BATCH = 1000
csv.field_size_limit(max(csv.field_size_limit(), 4 * MAX_TEXT))
# The fields an import compares with (and may update on) an existing insight.
_COMPARED = ("id", "text", "channel", "stakeholder_id", "segment_id", "captured_at", "tags")
_channel = functools.lru_cache(maxsize=4096)(insight_services.channel_for)


@functools.lru_cache(maxsize=65536)
def _is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def template_csv() -> str:
    """The header row of an importable file."""
    return ",".join(COLUMNS) + "\r\n"


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    dry_run: bool = False
    rows: int = 0
    skipped: int = 0
    stakeholders_created: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)
    file_error: bool = False
    skipped_invalid: bool = False
    insight_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def imported(self) -> bool:
        """Whether rows were (or, in a dry run, would be) written."""
        return not self.file_error and (self.ok or self.skipped_invalid)

    def summary(self) -> str:
        verb = _("would be") if self.dry_run else ""
        parts = [
            _("%(n)d created") % {"n": self.created},
            _("%(n)d updated") % {"n": self.updated},
            _("%(n)d unchanged") % {"n": self.unchanged},
        ]
        text = ", ".join(parts)
        if verb:
            text = _("Dry run, nothing written: %(counts)s") % {"counts": text}
        if self.skipped:
            text += "; " + _("%(n)d invalid rows skipped") % {"n": self.skipped}
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [list(e) for e in self.errors],
            "dry_run": self.dry_run,
            "rows": self.rows,
            "skipped": self.skipped,
            "stakeholders_created": self.stakeholders_created,
            "file_error": self.file_error,
        }


@dataclass(slots=True)
class _Row:
    line: int
    text: str
    source: str
    external_id: str
    email: str
    name: str
    segment_key: str
    captured_at: dt.datetime | None
    tags: list[str] | None


class _FileError(Exception):
    """The file as a whole cannot be imported (bad header, wrong encoding…)."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def _open_text(file: str | os.PathLike | IO) -> tuple[IO[str], bool]:
    """A text stream over `file` (a path, or a binary or text file object); (stream, close?)."""
    if isinstance(file, (str, os.PathLike)):
        return open(file, encoding="utf-8-sig", newline=""), True
    if isinstance(file, io.TextIOBase):
        return file, False
    if hasattr(file, "seek"):
        file.seek(0)
    stream = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")  # type: ignore[arg-type]
    return stream, False


def _records(stream: IO[str]) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, fields) of every non-blank record."""
    reader = csv.reader(stream)
    last = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise _FileError(
                last + 1, _("The file is not UTF-8 text: save it as “CSV UTF-8” and retry.")
            ) from exc
        except csv.Error as exc:
            raise _FileError(
                last + 1, _("The CSV cannot be read here: %(e)s") % {"e": exc}
            ) from exc
        start, last = last + 1, reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        yield start, fields


def parse_datetime(value: str) -> dt.datetime:
    """An ISO 8601 date or date-time; naive values are UTC. ValueError when unreadable."""
    value = value.strip()
    if value.endswith(("z", "Z")):
        value = value[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(value)
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def derived_external_id(text: str, email: str, captured_at: dt.datetime | None) -> str:
    """The stable id of a row imported without an external_id."""
    stamp = captured_at.isoformat() if captured_at else ""
    digest = hashlib.sha256("\x1f".join((text, email, stamp)).encode()).hexdigest()
    return "csv-" + digest[:24]


class _Validator:
    def __init__(self, workspace, header: list[str]):
        self.header = header
        self.segment_keys = dict(
            Segment.objects.filter(workspace=workspace).values_list("key", "pk")
        )
        self.seen: dict[tuple[str, str], int] = {}

    def row(self, line: int, values: dict[str, str]) -> tuple[_Row | None, list[str]]:
        problems: list[str] = []
        text = values.get("text", "").strip()
        if not text:
            problems.append(_("text is empty (it is required)"))
        elif len(text) > MAX_TEXT:
            problems.append(
                _("text is %(n)d characters long (at most %(max)d)")
                % {"n": len(text), "max": MAX_TEXT}
            )
        for column, limit in LIMITS.items():
            value = values.get(column, "").strip()
            if len(value) > limit:
                problems.append(
                    _("%(col)s is %(n)d characters long (at most %(max)d)")
                    % {"col": column, "n": len(value), "max": limit}
                )
        source = values.get("source", "").strip() or DEFAULT_SOURCE
        external_id = values.get("external_id", "").strip()
        email = values.get("stakeholder_email", "").strip().lower()
        if email and not _is_email(email):
            problems.append(_("stakeholder_email “%(v)s” is not an email address") % {"v": email})
        name = values.get("stakeholder_name", "").strip()
        segment_key = values.get("segment", "").strip().lower()
        if segment_key and segment_key not in self.segment_keys:
            problems.append(
                _("segment “%(v)s” is unknown; known segments: %(known)s")
                % {"v": segment_key, "known": ", ".join(sorted(self.segment_keys)) or "—"}
            )
        raw_date = values.get("captured_at", "").strip()
        captured_at = None
        if raw_date:
            try:
                captured_at = parse_datetime(raw_date)
            except ValueError:
                problems.append(
                    _(
                        "captured_at “%(v)s” is not an ISO 8601 date "
                        "(e.g. 2025-03-14 or 2025-03-14T09:30:00Z)"
                    )
                    % {"v": raw_date}
                )
        tags = None
        if "tags" in values:
            tags = insight_services.normalise_tags(values["tags"].split(","))
            long_tags = [t for t in values["tags"].split(",") if len(t.strip()) > MAX_TAG]
            if long_tags:
                problems.append(
                    _("tag “%(v)s…” is longer than %(max)d characters")
                    % {"v": long_tags[0].strip()[:20], "max": MAX_TAG}
                )
        if problems:
            return None, problems
        if not external_id:
            external_id = derived_external_id(text, email, captured_at)
        key = (source, external_id)
        if key in self.seen:
            return None, [
                _("repeats line %(n)d (same source and external_id)") % {"n": self.seen[key]}
            ]
        self.seen[key] = line
        return _Row(
            line, text, source, external_id, email, name, segment_key, captured_at, tags
        ), []


def _read(workspace, file, report: ImportReport, preview_rows: int) -> tuple[list[_Row], set]:
    """Validate every row; (valid rows, columns present). Errors land in `report`."""
    stream, close = _open_text(file)
    try:
        records = _records(stream)
        first = next(records, None)
        if first is None:
            raise _FileError(1, _("The file is empty: the first line must name the columns."))
        _line, raw_header = first
        header = [h.strip().lower() for h in raw_header]
        unknown = [h for h in header if h not in COLUMNS]
        if unknown:
            raise _FileError(
                1,
                _("Unknown columns: %(cols)s. Allowed columns: %(all)s")
                % {"cols": ", ".join(f"“{c}”" for c in unknown), "all": ", ".join(COLUMNS)},
            )
        duplicated = sorted({h for h in header if header.count(h) > 1})
        if duplicated:
            raise _FileError(
                1, _("Columns named twice: %(cols)s") % {"cols": ", ".join(duplicated)}
            )
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise _FileError(
                1, _("Missing required column: %(cols)s") % {"cols": ", ".join(missing)}
            )
        validator = _Validator(workspace, header)
        rows: list[_Row] = []
        for line, fields in records:
            report.rows += 1
            if len(fields) > len(header):
                report.errors.append(
                    (
                        line,
                        _("%(n)d values but the header names %(h)d columns")
                        % {"n": len(fields), "h": len(header)},
                    )
                )
                continue
            values = dict(zip(header, fields, strict=False))
            row, problems = validator.row(line, values)
            if len(report.preview) < preview_rows:
                report.preview.append(
                    {
                        "line": line,
                        "values": [values.get(c, "") for c in header],
                        "errors": problems,
                    }
                )
            if problems:
                report.errors.append((line, "; ".join(problems)))
            else:
                rows.append(row)
        return rows, set(header)
    finally:
        if close:
            stream.close()
        elif isinstance(stream, io.TextIOWrapper) and not isinstance(file, io.TextIOBase):
            stream.detach()


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _stakeholders(workspace, rows: list[_Row], *, write: bool) -> tuple[dict[str, Any], int]:
    """email → (stakeholder id, segment id), creating the missing ones when `write`."""
    emails = sorted({r.email for r in rows if r.email})
    found: dict[str, Any] = {}
    for chunk in _chunks(emails, LOOKUP_CHUNK):
        for pk, email, segment_id in (
            Stakeholder.objects.filter(workspace=workspace, email__in=chunk)
            .order_by()
            .values_list("pk", "email", "segment_id")
        ):
            found[email] = (pk, segment_id)
    segment_ids = dict(Segment.objects.filter(workspace=workspace).values_list("key", "pk"))
    new: dict[str, Stakeholder] = {}
    for row in rows:
        if row.email and row.email not in found and row.email not in new:
            new[row.email] = Stakeholder(
                workspace=workspace,
                email=row.email,
                name=row.name or row.email.split("@")[0],
                segment_id=segment_ids.get(row.segment_key),
            )
        elif row.email in new:
            pending = new[row.email]
            if not pending.segment_id and row.segment_key:
                pending.segment_id = segment_ids.get(row.segment_key)
            if row.name and pending.name == row.email.split("@")[0]:
                pending.name = row.name
    if write and new:
        Stakeholder.objects.bulk_create(new.values(), batch_size=WRITE_BATCH)
        if any(s.pk is None for s in new.values()):  # a backend without RETURNING
            for chunk in _chunks(list(new), LOOKUP_CHUNK):
                for pk, email, segment_id in (
                    Stakeholder.objects.filter(workspace=workspace, email__in=chunk)
                    .order_by()
                    .values_list("pk", "email", "segment_id")
                ):
                    found[email] = (pk, segment_id)
    for email, stakeholder in new.items():
        found.setdefault(email, (stakeholder.pk, stakeholder.segment_id))
    return found, len(new)


def _apply(workspace, rows: list[_Row], columns: set, report: ImportReport, *, by, write: bool):
    stakeholders, report.stakeholders_created = _stakeholders(workspace, rows, write=write)
    segment_ids = dict(Segment.objects.filter(workspace=workspace).values_list("key", "pk"))
    has_person = "stakeholder_email" in columns
    has_segment = "segment" in columns or has_person
    has_tags = "tags" in columns

    by_source: dict[str, list[_Row]] = {}
    for row in rows:
        by_source.setdefault(row.source, []).append(row)
    existing: dict[tuple[str, str], tuple] = {}
    for source, source_rows in by_source.items():
        ids = [r.external_id for r in source_rows]
        for chunk in _chunks(ids, LOOKUP_CHUNK):
            for found in (
                Insight.objects.filter(workspace=workspace, source=source, external_id__in=chunk)
                .exclude(external_id="")  # lets SQLite use the partial unique index
                .order_by()
                .values_list("external_id", *_COMPARED)
            ):
                existing[(source, found[0])] = found[1:]

    now = timezone.now()
    captured_by_id = by.pk if getattr(by, "is_authenticated", False) else None
    to_create: list[Insight] = []
    to_update: list[Insight] = []
    for row in rows:
        person = stakeholders.get(row.email) if row.email else None
        stakeholder_id = person[0] if person else None
        segment_id = segment_ids.get(row.segment_key) or (person[1] if person else None)
        channel = _channel(row.source.lower())
        current = existing.get((row.source, row.external_id))
        if current is None:
            to_create.append(
                Insight(
                    workspace_id=workspace.pk,
                    text=row.text,
                    source=row.source,
                    channel=channel,
                    external_id=row.external_id,
                    stakeholder_id=stakeholder_id,
                    segment_id=segment_id,
                    captured_at=row.captured_at or now,
                    captured_by_id=captured_by_id,
                    tags=row.tags or [],
                )
            )
            continue
        values = dict(zip(_COMPARED, current, strict=True))
        wanted: dict[str, Any] = {"text": row.text, "channel": channel}
        if has_person:
            wanted["stakeholder_id"] = stakeholder_id
        if has_segment:
            wanted["segment_id"] = segment_id
        if row.captured_at is not None:
            wanted["captured_at"] = row.captured_at
        if has_tags:
            wanted["tags"] = row.tags or []
        if any(values[name] != value for name, value in wanted.items()):
            values.update(wanted)
            to_update.append(Insight(workspace_id=workspace.pk, updated_at=now, **values))
        else:
            report.unchanged += 1
    report.created, report.updated = len(to_create), len(to_update)
    if not write:
        return
    Insight.objects.bulk_create(to_create, batch_size=WRITE_BATCH)
    if to_update:
        _update_rows(to_update)
    new_ids = [i.pk for i in to_create if i.pk is not None]
    if len(new_ids) < len(to_create):  # a backend without RETURNING
        keys = [(i.source, i.external_id) for i in to_create]
        new_ids = []
        for source in {s for s, _e in keys}:
            ids = [e for s, e in keys if s == source]
            for chunk in _chunks(ids, LOOKUP_CHUNK):
                new_ids += (
                    Insight.objects.filter(
                        workspace=workspace, source=source, external_id__in=chunk
                    )
                    .exclude(external_id="")
                    .order_by()
                    .values_list("pk", flat=True)
                )
    report.insight_ids = new_ids + [i.pk for i in to_update]


def _update_rows(insights: list[Insight]) -> None:
    """UPDATE the compared fields of `insights`, one parameterised statement run for all rows.

    `bulk_update` builds CASE expressions whose cost grows with the batch size on SQLite;
    `executemany` of a plain UPDATE … WHERE id = %s stays linear on every backend.
    """
    fields = [Insight._meta.get_field(f) for f in _COMPARED if f != "id"]
    fields.append(Insight._meta.get_field("updated_at"))
    connection = connections[Insight.objects.db]
    qn = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 - names from model meta
        qn(Insight._meta.db_table),
        ", ".join(f"{qn(f.column)} = %s" for f in fields),
        qn(Insight._meta.pk.column),
    )
    with connection.cursor() as cursor:
        for chunk in _chunks(insights, WRITE_BATCH):
            cursor.executemany(
                sql,
                [
                    [f.get_db_prep_save(getattr(i, f.attname), connection) for f in fields] + [i.pk]
                    for i in chunk
                ],
            )


def insights_import(
    *,
    workspace,
    file: str | os.PathLike | IO,
    by=None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    filename: str = "",
    preview_rows: int = 0,
) -> ImportReport:
    """Validate the CSV `file` and import its rows into `workspace` (see the module docstring).

    With errors and without `skip_invalid`, or with `dry_run`, nothing is written; the report
    still counts what would be created, updated and left unchanged.
    """
    report = ImportReport(dry_run=dry_run, skipped_invalid=skip_invalid)
    try:
        rows, columns = _read(workspace, file, report, preview_rows)
    except _FileError as exc:
        report.errors.append((exc.line, exc.message))
        report.file_error = True
        return report
    if report.errors:
        if skip_invalid:
            report.skipped = len(report.errors)
        else:
            # Nothing will be written; still count what the valid rows would do.
            _apply(workspace, rows, columns, report, by=by, write=False)
            return report
    if dry_run:
        _apply(workspace, rows, columns, report, by=by, write=False)
        return report
    with transaction.atomic():
        _apply(workspace, rows, columns, report, by=by, write=True)
        name = os.path.basename(str(filename or getattr(file, "name", "") or "CSV"))
        activity.record(
            workspace=workspace,
            actor=by,
            verb="imported",
            target=workspace,
            changes={},
            message=_(
                "Imported %(name)s: %(created)d created, %(updated)d updated, "
                "%(unchanged)d unchanged, %(skipped)d invalid rows skipped."
            )
            % {
                "name": name,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "skipped": report.skipped,
            },
        )
        if report.insight_ids:
            insight_services.insights_arrived_hook(report.insight_ids)
            if report.updated:  # an updated stakeholder, segment or date weighs differently
                insight_services.evidence_changed(insight_ids=report.insight_ids)
    return report


def format_errors(errors: Iterable[tuple[int, str]]) -> list[str]:
    return [_("line %(n)d: %(msg)s") % {"n": line, "msg": msg} for line, msg in errors]
