"""Bulk enrolment by agents and cooperatives: many workers at once, each row judged alone.

``enrol_workers`` is the one entry point, for the CSV import (in chunks, from a job) and for
the partner JSON API alike. Each valid row becomes a worker whose consent is recorded as
collected by the agent at ``collected_at``; the worker confirms it on first sign-in, and is
told by SMS that they were registered. Services flush; the caller commits.

Rule for partial failures: every valid row is imported, rows with a problem are not. A NIK or
phone number that appears on more than one row refuses all those rows (we cannot tell which is
right). A worker this partner already sent is skipped, so a corrected file can be uploaded
again whole.

Enrolment is never an oracle for who is in Payung: a partner learns conflicts only with the
workers it sent itself. A row whose NIK or phone belongs to a worker registered by themself or
by someone else is answered exactly like a new worker (same status, messages and fields; the
same queries run for every row), but it only waits as an ``EnrolmentRequest``: nothing about
that worker changes, and the worker is told by SMS so that only they decide.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import insert, or_, select
from sqlalchemy.exc import IntegrityError

from bundles.models import Partner, PartnerKind, PartnerStatus
from core.dates import jakarta_today
from core.identity import mask_phone
from extensions import db, utcnow
from jobs import enqueue_after_commit
from messaging.models import Channel, Message
from messaging.templates import render
from workers.enrolment.models import EnrolmentRequest
from workers.enrolment.rows import (
    COLUMNS,
    ParsedRow,
    Vocabulary,
    duplicate_keys,
    parse_row,
)
from workers.models import (
    ConsentAction,
    ConsentEvent,
    ConsentKind,
    EnrolmentSource,
    ImportRowStatus,
    Worker,
)
from workers.registry import RegistryError, new_worker, nik_digest, refresh_listing
from workers.search import index_workers

MAX_ROWS_PER_CALL = 1_000
WELCOME_PURPOSE = "worker_enrolled"
HELD_PURPOSE = "enrolment_held"
ALREADY_SENT = _l("You already sent this worker; nothing changed.")
PHONE_ALREADY_SENT = _l(
    "This phone number is on another worker you already sent. Each worker needs their own number."
)


class NotAnApprovedAgent(RegistryError):
    pass


class TooManyRows(RegistryError):
    pass


@dataclass
class RowOutcome:
    row_number: int
    status: ImportRowStatus
    full_name: str = ""
    masked_phone: str = ""
    messages: list[LazyString | str] = field(default_factory=list)
    worker_id: int | None = None


def ensure_approved_agent(partner: Partner) -> None:
    if partner.kind != PartnerKind.AGENT or partner.status != PartnerStatus.APPROVED:
        raise NotAnApprovedAgent(
            _l("Only approved agent and cooperative partners can register workers in bulk.")
        )


@dataclass
class _Row:
    raw: Mapping[str, object]
    parsed: ParsedRow
    outcome: RowOutcome
    known_worker_id: int | None = None  # someone already in Payung, not sent by this partner

    @property
    def is_candidate(self) -> bool:
        return self.parsed.details is not None

    def refuse(self, message: LazyString | str, status: ImportRowStatus) -> None:
        self.parsed.details = None
        self.outcome.status = status
        self.outcome.messages.insert(0, message)


def enrol_workers(
    rows: Sequence[Mapping[str, object]],
    *,
    agent_partner: Partner,
    source: EnrolmentSource,
    row_numbers: Sequence[int] | None = None,
    repeated: Mapping[str, list[int]] | None = None,
    check_only: bool = False,
    collected_at: datetime | None = None,
    headers: Mapping[str, str] | None = None,
    today: date | None = None,
) -> list[RowOutcome]:
    """Check and register ``rows`` (mappings keyed like ``COLUMNS``); one outcome per row.

    ``row_numbers`` name the rows in messages (default 1, 2, …); ``repeated`` lists NIK and
    phone keys seen on several rows of a larger file this call is a chunk of; ``headers``
    gives the column names the file used; ``check_only`` registers nobody. Raises
    NotAnApprovedAgent, or TooManyRows above 1,000 rows per call.
    """
    ensure_approved_agent(agent_partner)
    if source not in (EnrolmentSource.AGENT_CSV, EnrolmentSource.AGENT_API):
        raise ValueError(f"not a bulk source: {source}")
    if len(rows) > MAX_ROWS_PER_CALL:
        raise TooManyRows(_l("Send at most 1,000 workers at a time."))
    numbers = list(row_numbers or range(1, len(rows) + 1))
    if len(numbers) != len(rows):
        raise ValueError("one row number per row")
    vocabulary = Vocabulary.build()
    names = {key: key for key in COLUMNS} | dict(headers or {})
    today = today or jakarta_today()
    batch = []
    for number, raw in zip(numbers, rows, strict=True):
        parsed = parse_row(raw, vocabulary=vocabulary, today=today, headers=names)
        batch.append(_Row(raw, parsed, _outcome(number, raw, parsed)))

    _refuse_repeats(batch, repeated or {})
    _judge_known([row for row in batch if row.is_candidate], agent_partner)
    candidates = [row for row in batch if row.is_candidate]
    if check_only:
        for row in candidates:
            row.outcome.status = ImportRowStatus.CHECKED
    else:
        fresh = [row for row in candidates if row.known_worker_id is None]
        raced = _insert(fresh, agent_partner, source, collected_at or utcnow())
        _hold([row for row in candidates if row.known_worker_id is not None], agent_partner)
        _hold(raced, agent_partner)
    return [row.outcome for row in batch]


def _outcome(number: int, raw: Mapping[str, object], parsed: ParsedRow) -> RowOutcome:
    return RowOutcome(
        row_number=number,
        status=ImportRowStatus.REFUSED if parsed.errors else ImportRowStatus.IMPORTED,
        full_name=str(raw.get("full_name") or "").strip()[:120],
        masked_phone=mask_phone(parsed.phone_e164) if parsed.phone_e164 else "",
        messages=[*parsed.errors, *parsed.warnings],
    )


def _refuse_repeats(batch: list[_Row], repeated: Mapping[str, list[int]]) -> None:
    repeats = {key: list(numbers) for key, numbers in repeated.items()}
    in_batch = duplicate_keys((row.outcome.row_number, row.raw) for row in batch)
    for key, numbers in in_batch.items():
        repeats[key] = sorted(set(repeats.get(key, [])) | set(numbers))
    for row in batch:
        details = row.parsed.details
        if details is None:
            continue
        for key in (f"nik:{details.nik}", f"phone:{row.parsed.phone_e164}"):
            if key in repeats and row.is_candidate:
                message = _repeat_message(key, repeats[key], row.outcome.row_number)
                row.refuse(message, ImportRowStatus.REFUSED)


def _repeat_message(key: str, found_on: list[int], own: int) -> LazyString:
    others = ", ".join(str(n) for n in found_on if n != own)
    if key.startswith("nik:"):
        return _l("The same NIK is also on row %(rows)s. Keep it on one row only.", rows=others)
    return _l(
        "The same phone number is also on row %(rows)s. Each worker needs their own number.",
        rows=others,
    )


def _judge_known(candidates: list[_Row], partner: Partner) -> None:
    """Refuse or skip a row only for a conflict with what this partner sent itself; mark the
    rows that meet anyone else (they will be held, and answered as new)."""
    if not candidates:
        return
    digests = {nik_digest(row.parsed.details.nik) for row in candidates if row.parsed.details}
    phones = {row.parsed.phone_e164 for row in candidates}
    workers = db.session.execute(
        select(Worker.id, Worker.nik_digest, Worker.phone_e164, Worker.enrolled_by_partner_id)
        .where(or_(Worker.nik_digest.in_(digests), Worker.phone_e164.in_(phones)))
        .order_by(Worker.id)
    ).all()
    sent = db.session.execute(
        select(EnrolmentRequest.nik_digest, EnrolmentRequest.phone_e164).where(
            EnrolmentRequest.partner_id == partner.id,
            or_(EnrolmentRequest.nik_digest.in_(digests), EnrolmentRequest.phone_e164.in_(phones)),
        )
    ).all()
    own = [w for w in workers if w.enrolled_by_partner_id == partner.id]
    own_niks = {w.nik_digest for w in own} | {r.nik_digest for r in sent}
    own_phones = {w.phone_e164 for w in own} | {r.phone_e164 for r in sent}
    others = [w for w in workers if w.enrolled_by_partner_id != partner.id]
    other_by_nik = {w.nik_digest: w.id for w in others if w.nik_digest}
    other_by_phone = {w.phone_e164: w.id for w in others}
    for row in candidates:
        assert row.parsed.details is not None
        key, phone = nik_digest(row.parsed.details.nik), row.parsed.phone_e164
        if key in own_niks:
            row.refuse(ALREADY_SENT, ImportRowStatus.SKIPPED)
        elif phone in own_phones:
            row.refuse(PHONE_ALREADY_SENT, ImportRowStatus.REFUSED)
        else:
            row.known_worker_id = other_by_nik.get(key) or other_by_phone.get(phone or "")


def _build(row: _Row, partner: Partner, source: EnrolmentSource, collected_at: datetime) -> Worker:
    details, phone = row.parsed.details, row.parsed.phone_e164
    assert details is not None and phone is not None
    worker = new_worker(details, phone_e164=phone, source=source)
    worker.enrolled_by_partner_id = partner.id
    worker.consent_recorded_by_id = partner.user_id
    worker.insurer_consent_at = collected_at
    worker.listing_consent_at = collected_at if row.parsed.listing_consent else None
    worker.consent_confirmed_at = None
    refresh_listing(worker)
    return worker


def _insert(
    candidates: list[_Row], partner: Partner, source: EnrolmentSource, collected_at: datetime
) -> list[_Row]:
    """Register the new workers; return the rows someone registered meanwhile (to hold)."""
    raced: list[_Row] = []
    saved: list[tuple[_Row, Worker]] = []
    try:
        with db.session.begin_nested():
            saved = [(row, _build(row, partner, source, collected_at)) for row in candidates]
            db.session.add_all(worker for _row, worker in saved)
            db.session.flush()
    except IntegrityError:
        # Someone registered one of these people meanwhile: go row by row to see who.
        saved = []
        for row in candidates:
            try:
                with db.session.begin_nested():
                    worker = _build(row, partner, source, collected_at)
                    db.session.add(worker)
                    db.session.flush()
            except IntegrityError:
                raced.append(row)
            else:
                saved.append((row, worker))
    for row, worker in saved:
        row.outcome.worker_id = worker.id
    workers = [worker for _row, worker in saved]
    _record_consents(workers, partner, source, collected_at)
    index_workers(workers)
    _welcome(workers, partner)
    db.session.flush()
    return raced


def _hold(rows: list[_Row], partner: Partner) -> None:
    """Rows that meet a worker already in Payung wait for that worker; the agent's answer
    stays "imported", as for a new worker. The worker is told, in Indonesian, by SMS."""
    if not rows:
        return
    for row in rows:
        if row.known_worker_id is None:  # registered by someone else a moment ago
            assert row.parsed.details is not None
            row.known_worker_id = db.session.scalar(
                select(Worker.id).where(
                    or_(
                        Worker.nik_digest == nik_digest(row.parsed.details.nik),
                        Worker.phone_e164 == row.parsed.phone_e164,
                    )
                )
            )
    held = [row for row in rows if row.known_worker_id is not None and row.parsed.details]
    for row in held:
        assert row.parsed.details is not None and row.parsed.phone_e164 is not None
        try:
            with db.session.begin_nested():
                db.session.add(
                    EnrolmentRequest(
                        partner_id=partner.id,
                        nik_digest=nik_digest(row.parsed.details.nik),
                        phone_e164=row.parsed.phone_e164,
                        worker_id=row.known_worker_id,
                    )
                )
                db.session.flush()
        except IntegrityError:
            pass  # the same row sent twice at once: one request is enough
    worker_ids = {row.known_worker_id for row in held}
    phones = db.session.scalars(select(Worker.phone_e164).where(Worker.id.in_(worker_ids)))
    link = f"{current_app.config['SITE_URL'].rstrip('/')}/saya"
    body = render(
        "enrolment_held", current_app.config["BABEL_DEFAULT_LOCALE"], agent=partner.name, link=link
    ).body
    _send_sms(sorted(phones), body, HELD_PURPOSE)


def _record_consents(
    workers: list[Worker], partner: Partner, source: EnrolmentSource, at: datetime
) -> None:
    events = [
        {
            "worker_id": worker.id,
            "kind": kind,
            "action": ConsentAction.GIVEN,
            "recorded_by_id": partner.user_id,
            "partner_id": partner.id,
            "source": source,
            "created_at": at,
        }
        for worker in workers
        for kind, at_field in (
            (ConsentKind.INSURER_DATA, worker.insurer_consent_at),
            (ConsentKind.LISTING, worker.listing_consent_at),
        )
        if at_field is not None
    ]
    if events:
        db.session.execute(insert(ConsentEvent), events)


def _welcome(workers: list[Worker], partner: Partner) -> None:
    """Tell each new worker who registered them and how to check it (in Indonesian)."""
    if not workers:
        return
    link = f"{current_app.config['SITE_URL'].rstrip('/')}/saya"
    body = render(
        "enrolment_welcome",
        current_app.config["BABEL_DEFAULT_LOCALE"],
        agent=partner.name,
        link=link,
    ).body
    _send_sms([worker.phone_e164 for worker in workers], body, WELCOME_PURPOSE)


def _send_sms(phones: list[str], body: str, purpose: str) -> None:
    if not phones:
        return
    rows = [
        {
            "channel": Channel.SMS,
            "recipient": phone,
            "body": body,
            "purpose": purpose,
            "created_at": utcnow(),
        }
        for phone in phones
    ]
    ids = list(db.session.scalars(insert(Message).returning(Message.id), rows))

    enqueue_after_commit("sponsorship.deliver_messages", ids)
