"""The CSV side of bulk enrolment: the template, reading an upload, the import job that runs
it in chunks, and the per-row report.

A file is refused whole (nothing saved) when it cannot be read as a list of workers: not
UTF-8, too large, too many rows, no rows, or a header with missing, unknown or repeated
columns. Otherwise a job is queued and its rows are judged one by one (see ``enrolment``).
The uploaded file holds NIKs, so it is stored encrypted and deleted when the job ends.
"""

import csv
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import insert, select

from accounts.models import User
from bundles.models import Partner
from core.locking import lock_row
from core.spreadsheets import safe_cell, stream_csv
from extensions import db
from i18n import number
from jobs import enqueue_after_commit
from vault import decrypt, encrypt
from workers.enrolment.bulk import RowOutcome, enrol_workers, ensure_approved_agent
from workers.enrolment.rows import (
    COLUMNS,
    EXTRA_CELLS,
    HEADER_ALIASES,
    REQUIRED_COLUMNS,
    duplicate_keys,
    forget_keys,
)
from workers.models import EnrolmentSource, ImportJob, ImportRow, ImportRowStatus, ImportStatus
from workers.registry import RegistryError

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_ROWS = 50_000
CHUNK_ROWS = 500
DELIMITERS = (",", ";", "\t")


class CsvFileError(RegistryError):
    field = "file"


@dataclass
class CsvFile:
    headers: dict[str, str]  # canonical key → the column name used in the file
    rows: list[tuple[int, dict[str, str]]]  # (spreadsheet row number, cells by key)


def max_bytes() -> int:
    return int(current_app.config.get("ENROLMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_rows() -> int:
    return int(current_app.config.get("ENROLMENT_MAX_ROWS", DEFAULT_MAX_ROWS))


def size_label(size: int) -> str:
    megabytes, kilobytes = size / (1024 * 1024), size / 1024
    return f"{megabytes:.0f} MB" if megabytes >= 1 else f"{max(kilobytes, 1):.0f} KB"


def template_csv(locale: str) -> str:
    """The header row agents fill in: Indonesian column names, or English ones."""
    names = list(COLUMNS.values()) if locale == "id" else list(COLUMNS)
    return "".join(stream_csv(names, []))  # after a BOM, so Excel reads UTF-8


def decode_upload(data: bytes) -> str:
    if len(data) > max_bytes():
        raise CsvFileError(_l("The file is larger than %(size)s.", size=size_label(max_bytes())))
    if not data.strip():
        raise CsvFileError(_l("The file is empty."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvFileError(
            _l("The file is not UTF-8 text. In your spreadsheet, save it as “CSV UTF-8”.")
        ) from None
    if "\x00" in text:
        raise CsvFileError(_l("This is not a CSV file. Save the spreadsheet as “CSV UTF-8”."))
    return text


def read_csv(text: str) -> CsvFile:
    """Parse a decoded upload; raise CsvFileError when it cannot be a list of workers."""
    first_line = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise CsvFileError(_l("The file is empty."))
        keys = _header_keys(header)
        headers = {key: name.strip() for key, name in zip(keys, header, strict=True) if key}
        rows: list[tuple[int, dict[str, str]]] = []
        for row_number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= max_rows():
                raise CsvFileError(
                    _l(
                        "The file has more than %(limit)s workers. Split it into smaller files.",
                        limit=LazyString(number, max_rows()),
                    )
                )
            row = {key: cell for key, cell in zip(keys, cells, strict=False) if key}
            if len(cells) > len(keys):
                row[EXTRA_CELLS] = "1"
            rows.append((row_number, row))
    except csv.Error:
        raise CsvFileError(_l("The file is not a valid CSV file.")) from None
    if not rows:
        raise CsvFileError(_l("The file has a header but no workers."))
    return CsvFile(headers=headers, rows=rows)


def _header_keys(header: list[str]) -> list[str | None]:
    keys = [HEADER_ALIASES.get(name.strip().lower().replace(" ", "_")) for name in header]
    unknown = [name.strip() for name, key in zip(header, keys, strict=True) if not key]
    if any(unknown):
        raise CsvFileError(
            _l(
                "Unknown columns: %(columns)s. Use the template's column names.",
                columns=", ".join(name for name in unknown if name),
            )
        )
    repeated = {key for key in keys if key and keys.count(key) > 1}
    if repeated:
        raise CsvFileError(
            _l("Columns appear twice: %(columns)s.", columns=", ".join(sorted(repeated)))
        )
    missing = [COLUMNS[key] for key in REQUIRED_COLUMNS if key not in keys]
    if missing:
        raise CsvFileError(
            _l("Missing columns: %(columns)s. Start from the template.", columns=", ".join(missing))
        )
    return keys


def start_import(
    partner: Partner,
    *,
    uploaded_by: User,
    filename: str,
    data: bytes,
    check_only: bool,
    locale: str,
) -> ImportJob:
    """Check the file as a whole and queue its import; raise NotAnApprovedAgent or
    CsvFileError (then nothing is saved)."""
    ensure_approved_agent(partner)
    text = decode_upload(data)
    parsed = read_csv(text)
    job = ImportJob(
        partner_id=partner.id,
        uploaded_by_id=uploaded_by.id,
        filename=(filename or "workers.csv")[-200:],
        locale=locale,
        is_check_only=check_only,
        total_rows=len(parsed.rows),
        source_encrypted=encrypt(text),
    )
    db.session.add(job)
    db.session.flush()
    enqueue_after_commit("sponsorship.run_enrolment_import", job.id)
    return job


def run_import(job: ImportJob) -> None:
    """Process the job's remaining rows, committing after every chunk (resumable). Another
    copy of the job (redelivered, or enqueued again by ``recovery``) is harmless: the job
    starts and ends once, and each chunk is processed by the copy that locked it first."""
    if job.status == ImportStatus.QUEUED:
        lock_row(ImportJob, job.id)
        if job.status == ImportStatus.QUEUED:
            job.transition(ImportStatus.RUNNING)
        db.session.commit()
    if job.status != ImportStatus.RUNNING:
        return  # another copy finished it meanwhile
    partner = db.session.get(Partner, job.partner_id)
    assert partner is not None and job.source_encrypted is not None
    parsed = read_csv(decrypt(job.source_encrypted))
    repeated = duplicate_keys(parsed.rows)
    with force_locale(job.locale), _forgetting_keys():
        for start in range(job.processed_rows, len(parsed.rows), CHUNK_ROWS):
            if not _still_ours(job, start):
                return  # a redelivered copy of this task got ahead of us
            chunk = parsed.rows[start : start + CHUNK_ROWS]
            outcomes = enrol_workers(
                [row for _number, row in chunk],
                agent_partner=partner,
                source=EnrolmentSource.AGENT_CSV,
                row_numbers=[number for number, _row in chunk],
                repeated=repeated,
                check_only=job.is_check_only,
                collected_at=job.created_at,
                headers=parsed.headers,
            )
            _save_outcomes(job, outcomes)
            db.session.commit()
    lock_row(ImportJob, job.id)
    if job.status == ImportStatus.RUNNING:
        job.transition(ImportStatus.DONE)
    db.session.commit()


def _still_ours(job: ImportJob, start: int) -> bool:
    """Lock the job row and check nobody processed this chunk meanwhile."""
    lock_row(ImportJob, job.id)
    return job.status == ImportStatus.RUNNING and job.processed_rows == start


@contextmanager
def _forgetting_keys() -> Iterator[None]:
    try:
        yield
    finally:
        forget_keys()


def _save_outcomes(job: ImportJob, outcomes: list[RowOutcome]) -> None:
    db.session.execute(
        insert(ImportRow),
        [
            {
                "job_id": job.id,
                "row_number": outcome.row_number,
                "status": outcome.status,
                "full_name": outcome.full_name,
                "masked_phone": outcome.masked_phone,
                "messages": [str(message) for message in outcome.messages],
                "worker_id": outcome.worker_id,
            }
            for outcome in outcomes
        ],
    )
    counts = {status: 0 for status in ImportRowStatus}
    for outcome in outcomes:
        counts[outcome.status] += 1
    job.processed_rows += len(outcomes)
    job.imported_rows += counts[ImportRowStatus.IMPORTED] + counts[ImportRowStatus.CHECKED]
    job.skipped_rows += counts[ImportRowStatus.SKIPPED]
    job.refused_rows += counts[ImportRowStatus.REFUSED]


def fail_import(job_id: int) -> None:
    db.session.rollback()
    job = db.session.get(ImportJob, job_id)
    if job is not None and not job.is_finished:
        job.transition(ImportStatus.FAILED)
        db.session.commit()


def job_for_partner(partner: Partner, job_id: int) -> ImportJob | None:
    """The partner's own job; None for another partner's (no peeking by id)."""
    job = db.session.get(ImportJob, job_id)
    return job if job is not None and job.partner_id == partner.id else None


def recent_jobs(partner: Partner, limit: int = 10) -> list[ImportJob]:
    return list(
        db.session.scalars(
            select(ImportJob)
            .where(ImportJob.partner_id == partner.id)
            .order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
            .limit(limit)
        )
    )


def problem_rows(job: ImportJob, limit: int = 100) -> list[ImportRow]:
    return list(
        db.session.scalars(
            select(ImportRow)
            .where(ImportRow.job_id == job.id, ImportRow.status == ImportRowStatus.REFUSED)
            .order_by(ImportRow.row_number)
            .limit(limit)
        )
    )


def report_lines(
    job: ImportJob, *, header: list[str], status_labels: dict[str, str]
) -> Iterator[str]:
    """The per-row report as CSV text, streamed in row order (``core.spreadsheets``: cells
    never start like a formula, a BOM first for Excel)."""
    return stream_csv(header, _report_rows(job, status_labels), chunk_rows=1000)


def _report_rows(job: ImportJob, status_labels: dict[str, str]) -> Iterator[list[Any]]:
    rows = db.session.scalars(
        select(ImportRow)
        .where(ImportRow.job_id == job.id)
        .order_by(ImportRow.row_number)
        .execution_options(yield_per=1000)
    )
    for row in rows:
        yield [
            row.row_number,
            status_labels.get(row.status, row.status),
            safe_cell(row.full_name),
            row.masked_phone,
            safe_cell(" ".join(row.messages)),
        ]
