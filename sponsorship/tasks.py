"""Celery tasks of the worker registry. Tasks take ids, re-read their rows and commit."""

import logging
import traceback

from celery import shared_task
from sqlalchemy import select

from extensions import db
from fulfillment.models import Message
from messaging.services import deliver
from workers.enrolment.csv_upload import fail_import, run_import
from workers.models import ImportJob

log = logging.getLogger(__name__)


@shared_task(name="sponsorship.run_enrolment_import", ignore_result=True)
def run_enrolment_import(job_id: int) -> None:
    """Run (or resume after a crash) a bulk enrolment; chunks commit as they finish."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.is_finished:
        return
    try:
        run_import(job)
    except Exception as exc:
        # The frames but not the message: database errors quote the rows' personal data.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error("enrolment import %s failed: %s\n%s", job_id, type(exc).__name__, frames)
        fail_import(job_id)


@shared_task(name="sponsorship.deliver_messages", ignore_result=True)
def deliver_messages(message_ids: list[int]) -> None:
    """Deliver a batch of queued messages (welcome texts of a bulk enrolment)."""
    messages = db.session.scalars(
        select(Message).where(Message.id.in_(message_ids)).order_by(Message.id).with_for_update()
    )
    for message in messages:
        deliver(message)
    db.session.commit()


@shared_task(name="sponsorship.continuity_nightly", ignore_result=True)
def continuity_nightly(today_iso: str | None = None) -> None:
    """The nightly continuity run (flags and lapse alerts); safe to repeat or overlap."""
    from datetime import date

    from core.dates import jakarta_today
    from sponsorship.continuity.nightly import run_nightly

    run_nightly(date.fromisoformat(today_iso) if today_iso else jakarta_today())


@shared_task(name="sponsorship.run_renewals", ignore_result=True)
def run_renewals(today_iso: str | None = None) -> None:
    """The nightly automatic-renewal run (charges exactly once per period, even run twice)."""
    from datetime import date

    from sponsorship.continuity.renewals.run import run_renewals as run

    run(today=date.fromisoformat(today_iso) if today_iso else None)
