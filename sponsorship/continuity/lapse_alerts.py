"""Lapse alerts: 14, 7 and 1 days before a worker's cover lapses, an email to the sponsor(s)
who paid the latest months and an SMS (or WhatsApp) to the worker — each exactly once.

Exactly once: a ``LapseAlert`` row per worker × ``covered_until`` × threshold × recipient is
inserted first with ``ON CONFLICT DO NOTHING``; messages are written only for the rows this run
really inserted, in the same transaction, and delivered after the commit. A run repeated, or two
at once (PostgreSQL makes the second wait on the first's rows, then skip them), sends nothing
twice. A run that missed days catches up with the tightest threshold still due (a worker with
5 days left who got no 7-day alert gets it, saying "5 days").

Set-based: workers with 1–14 days left are read in keyset batches of ``batch_size``; per batch
the alert rows (worker and latest sponsors, threshold computed in SQL) go in with two
``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING``, then one bulk INSERT of the messages and
one bulk UPDATE linking them: a fixed number of statements per batch, whatever its size. Each
batch commits (memory stays bounded; a crash loses at most one batch, which the next run redoes).

Privacy: worker texts carry no NIK; sponsor emails carry the worker's first name and initial,
never a phone number or NIK.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import ColumnElement, Row, and_, case, false, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from accounts.models import User
from core.dates import add_months, first_of_month
from core.identity import first_name_and_initial
from extensions import db, utcnow
from i18n import local_date
from jobs import enqueue_after_commit
from messaging import links
from messaging.models import Channel, Message
from messaging.templates import Rendered, current_locale, render
from sponsorship.continuity.alert_models import AlertRecipient, LapseAlert
from sponsorship.continuity.ledger import DUE_DAY, LAPSING_DAYS, days_left, latest_sponsor_pairs
from sponsorship.continuity.renewals.models import PlanStatus, RenewalPlan
from sponsorship.continuity.renewals.services import charge_day
from workers.models import Worker

ALERT_DAYS = (14, 7, 1)  # thresholds, days of cover left
WORKER_PURPOSE = "lapse_alert_worker"
SPONSOR_PURPOSE = "lapse_alert_sponsor"
DEFAULT_BATCH = 1000
MESSAGE_PAGE = 20  # messages per multi-row INSERT: short enough for psycopg's statement cache
DELIVERY_CHUNK = 500  # message ids per delivery task


def threshold_for(left: int) -> int | None:
    """The alert due with ``left`` days of cover left: the tightest threshold at or above it
    (14 for 8–14 days, 7 for 2–7, 1 for the last day), None outside 1–14."""
    if not 1 <= left <= LAPSING_DAYS:
        return None
    return min(days for days in ALERT_DAYS if days >= left)


@dataclass
class AlertRun:
    """What one run of the alerts did."""

    workers_seen: int = 0
    sponsor_emails: int = 0
    worker_texts: int = 0
    batches: int = 0
    by_threshold: dict[int, int] = field(default_factory=lambda: dict.fromkeys(ALERT_DAYS, 0))

    @property
    def messages(self) -> int:
        return self.sponsor_emails + self.worker_texts


def send_lapse_alerts(
    today: date, *, batch_size: int = DEFAULT_BATCH, commit: bool = True
) -> AlertRun:
    """Send every lapse alert due on ``today``; commits after each batch unless ``commit`` is
    False (then the caller commits; for small runs in tests)."""
    run = AlertRun()
    last_id = 0
    while True:
        ids = db.session.scalars(
            select(Worker.id)
            .where(_window(today), Worker.id > last_id)
            .order_by(Worker.id)
            .limit(batch_size)
        ).all()
        if not ids:
            return run
        last_id = ids[-1]
        run.workers_seen += len(ids)
        run.batches += 1
        inserted = _insert_new_alerts(today, ids[0], last_id)
        if inserted:
            _write_messages(today, inserted, run)
        if commit:
            db.session.commit()
        else:
            db.session.flush()


def _window(today: date) -> ColumnElement[bool]:
    """Workers with 1–14 days of cover left."""
    return and_(
        Worker.covered_until >= today,
        Worker.covered_until < today + timedelta(days=LAPSING_DAYS),
    )


def _threshold(today: date) -> ColumnElement[int]:
    """SQL twin of ``threshold_for`` inside the window: days left <= d ⇔ covered_until < today+d."""
    tighter = sorted(ALERT_DAYS)
    return case(
        *((Worker.covered_until < today + timedelta(days=d), d) for d in tighter[:-1]),
        else_=tighter[-1],
    )


_UNIQUE = ["worker_id", "covered_until", "days_before", "recipient_kind", "recipient_id"]
_COLUMNS = ["worker_id", "recipient_id", "covered_until", "days_before", "recipient_kind"]


def _insert_new_alerts(today: date, first_id: int, last_id: int) -> list[Row]:
    """INSERT … SELECT the alert rows due for workers ``first_id``–``last_id`` that no run has
    taken yet (``ON CONFLICT DO NOTHING``); returns the rows this call inserted. Rows another
    run holds are skipped, never an error."""
    dialect = db.session.get_bind().dialect.name
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = LapseAlert.__table__
    now = literal(utcnow(), table.c.created_at.type)
    in_batch = and_(_window(today), Worker.id.between(first_id, last_id))
    workers = select(
        Worker.id,
        Worker.id,
        Worker.covered_until,
        _threshold(today),
        literal(AlertRecipient.WORKER.value),
        now,
    ).where(in_batch)
    # A sponsor who stopped (needs_sponsor) is not asked again; the worker still is.
    sponsors = (
        latest_sponsor_pairs()
        .add_columns(
            Worker.covered_until, _threshold(today), literal(AlertRecipient.SPONSOR.value), now
        )
        .where(
            in_batch,
            Worker.needs_sponsor == false(),
            User.is_disabled == false(),
            User.email.is_not(None),
        )
        .distinct()
    )
    inserted: list[Row] = []
    for source in (workers, sponsors):
        statement = (
            dialect_insert(table)
            .from_select([*_COLUMNS, "created_at"], source)
            .on_conflict_do_nothing(index_elements=_UNIQUE)
            .returning(
                table.c.id,
                table.c.worker_id,
                table.c.recipient_kind,
                table.c.recipient_id,
                table.c.days_before,
                table.c.covered_until,
            )
        )
        inserted.extend(db.session.execute(statement))
    return inserted


def _write_messages(today: date, inserted: list[Row], run: AlertRun) -> None:
    # Read after the insert: exactly the workers whose alerts this run took.
    workers = {
        row.id: row
        for row in db.session.execute(
            select(Worker.id, Worker.full_name, Worker.phone_e164, User.locale)
            .outerjoin(User, User.id == Worker.user_id)
            .where(Worker.id.in_({alert.worker_id for alert in inserted}))
        )
    }
    sponsor_ids = {a.recipient_id for a in inserted if a.recipient_kind == AlertRecipient.SPONSOR}
    sponsors = {
        user.id: user
        for user in db.session.execute(
            select(User.id, User.email, User.locale).where(User.id.in_(sponsor_ids))
        )
    }
    auto_renewed = _auto_renewed({alert.worker_id for alert in inserted})
    default_locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    site = current_app.config["SITE_URL"].rstrip("/")
    channel = Channel(current_app.config.get("CONTINUITY_WORKER_CHANNEL", Channel.SMS))
    grouped: dict[str, list[Row]] = defaultdict(list)
    for alert in inserted:
        if alert.recipient_kind == AlertRecipient.WORKER:
            locale = workers[alert.worker_id].locale
        else:
            locale = sponsors[alert.recipient_id].locale
        grouped[locale or default_locale].append(alert)
    now = utcnow()
    messages: list[dict] = []
    alert_ids: list[int] = []
    with current_app.test_request_context(base_url=site):
        for locale, alerts in grouped.items():
            with force_locale(locale):
                for alert in alerts:
                    worker = workers[alert.worker_id]
                    if alert.recipient_kind == AlertRecipient.WORKER:
                        renewing = any(w == alert.worker_id for _s, w in auto_renewed)
                        message = _worker_text(worker, alert, today, channel, renewing)
                        run.worker_texts += 1
                    else:
                        email = sponsors[alert.recipient_id].email
                        if (alert.recipient_id, alert.worker_id) in auto_renewed:
                            message = _sponsor_auto_email(worker, alert, today, email)
                        else:
                            message = _sponsor_email(worker, alert, today, email)
                        run.sponsor_emails += 1
                    run.by_threshold[alert.days_before] += 1
                    message["created_at"] = now
                    messages.append(message)
                    alert_ids.append(alert.id)
    # Core INSERT of the table, ids back in the order of ``messages``. Small pages keep each
    # statement short enough for the driver's statement cache.
    table = Message.__table__
    message_ids = list(
        db.session.scalars(
            insert(table)
            .returning(table.c.id, sort_by_parameter_order=True)
            .execution_options(insertmanyvalues_page_size=MESSAGE_PAGE),
            messages,
        )
    )
    db.session.execute(
        update(LapseAlert),
        [
            {"id": alert_id, "message_id": message_id}
            for alert_id, message_id in zip(alert_ids, message_ids, strict=True)
        ],
    )

    for start in range(0, len(message_ids), DELIVERY_CHUNK):
        enqueue_after_commit(
            "sponsorship.deliver_messages", message_ids[start : start + DELIVERY_CHUNK]
        )


def _auto_renewed(worker_ids: set[int]) -> set[tuple[int, int]]:
    """(sponsor, worker) pairs whose automatic renewal will charge a saved card."""
    if not worker_ids:
        return set()
    rows = db.session.execute(
        select(RenewalPlan.sponsor_id, RenewalPlan.worker_id).where(
            RenewalPlan.worker_id.in_(worker_ids),
            RenewalPlan.status == PlanStatus.ACTIVE,
            RenewalPlan.payment_method_id.is_not(None),
        )
    )
    return {(sponsor_id, worker_id) for sponsor_id, worker_id in rows}


def next_due_date(covered_until: date) -> date:
    """When the dues for the first month after ``covered_until`` are due (the 15th)."""
    return add_months(first_of_month(covered_until), 1).replace(day=DUE_DAY)


def _message(channel: Channel, recipient: str, rendered: Rendered, purpose: str) -> dict:
    return {
        "channel": channel,
        "recipient": recipient,
        "subject": rendered.subject,
        "body": rendered.body,
        "purpose": purpose,
        "template": rendered.template,
        "locale": current_locale(),
    }


def _worker_text(worker: Row, alert: Row, today: date, channel: Channel, renewing: bool) -> dict:
    if renewing:
        rendered = render(
            "lapse_worker_renewing",
            current_locale(),
            date=local_date(alert.covered_until),
            link=links.worker_home(),
        )
        return _message(channel, worker.phone_e164, rendered, WORKER_PURPOSE)
    rendered = render(
        "lapse_worker",
        current_locale(),
        date=local_date(alert.covered_until),
        num=days_left(alert.covered_until, today),
        due=local_date(next_due_date(alert.covered_until)),
        link=links.worker_home(),
    )
    return _message(channel, worker.phone_e164, rendered, WORKER_PURPOSE)


def _sponsor_email(worker: Row, alert: Row, today: date, email: str) -> dict:
    rendered = render(
        "lapse_sponsor",
        current_locale(),
        name=first_name_and_initial(worker.full_name),
        date=local_date(alert.covered_until),
        due=local_date(next_due_date(alert.covered_until)),
        num=days_left(alert.covered_until, today),
        link=links.renew(worker.id),
    )
    return _message(Channel.EMAIL, email, rendered, SPONSOR_PURPOSE)


def _sponsor_auto_email(worker: Row, alert: Row, today: date, email: str) -> dict:
    """The sponsor turned on automatic renewal: say when the card will be charged, not "renew"."""
    rendered = render(
        "lapse_sponsor_auto",
        current_locale(),
        name=first_name_and_initial(worker.full_name),
        date=local_date(alert.covered_until),
        charge=local_date(max(today, charge_day(alert.covered_until))),
        link=links.renewals(),
    )
    return _message(Channel.EMAIL, email, rendered, SPONSOR_PURPOSE)
