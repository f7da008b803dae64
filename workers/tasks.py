"""Celery tasks of the worker registry. Tasks take ids, re-read their rows and commit."""

import logging

from celery import shared_task

from extensions import db
from jobs import without_message
from workers.enrolment.csv_upload import fail_import, run_import
from workers.enrolment.recovery import requeue_stuck_imports
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
        log.error("enrolment import %s failed: %s", job_id, without_message(exc))
        fail_import(job_id)


@shared_task(name="workers.sweep_enrolment_imports", ignore_result=True)
def sweep_enrolment_imports() -> int:
    """Enqueue again the imports whose job never started (``enrolment.recovery``)."""
    job_ids = requeue_stuck_imports()
    db.session.commit()
    if job_ids:
        log.warning("enrolment imports %s were still queued: enqueued again", job_ids)
    return len(job_ids)
