"""Imports whose job never started: the upload was saved, but its job was never enqueued (the
broker was down at the commit, ``jobs``) or was lost before a worker took it.

Celery beat runs ``workers.sweep_enrolment_imports`` every few minutes: a job still queued
``ENROLMENT_STUCK_AFTER_S`` after its upload is enqueued again, once a sweep. A job that
started (running, done or failed) is never touched here: a running job that lost its worker
comes back through the broker (``task_acks_late``). A job enqueued twice runs once
(``csv_upload.run_import``).
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from extensions import db, utcnow
from jobs import enqueue_after_commit
from workers.models import ImportJob, ImportStatus

RUN_TASK = "sponsorship.run_enrolment_import"
SWEEP_LIMIT = 100


def requeue_stuck_imports(*, now: datetime | None = None) -> list[int]:
    """Enqueue (after the commit) every import still queued past the grace; returns their ids."""
    now = now or utcnow()
    grace = timedelta(seconds=float(current_app.config["ENROLMENT_STUCK_AFTER_S"]))
    job_ids = list(
        db.session.scalars(
            select(ImportJob.id)
            .where(ImportJob.status == ImportStatus.QUEUED, ImportJob.created_at <= now - grace)
            .order_by(ImportJob.id)
            .limit(SWEEP_LIMIT)
        )
    )
    for job_id in job_ids:
        enqueue_after_commit(RUN_TASK, job_id)
    return job_ids
