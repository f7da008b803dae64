"""A bulk enrolment whose import job never started (its publish failed after the upload's
commit, or the message was lost) is enqueued again by ``workers.sweep_enrolment_imports``
(Celery beat; ``workers.enrolment.recovery``): once a sweep, only past
ENROLMENT_STUCK_AFTER_S, never a job that started or ended. A job enqueued twice imports
each row once, one copy after the other or both at the same moment."""

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from bundles.models import Partner
from extensions import db, utcnow
from tests.core.broker_support import PublishedJobs, close_broker_connections
from tests.sponsorship.conftest import csv_bytes, csv_row
from vault import encrypt
from workers.enrolment import csv_upload
from workers.models import ImportJob, ImportRow, ImportStatus, Worker
from workers.tasks import run_enrolment_import, sweep_enrolment_imports

RUN = "sponsorship.run_enrolment_import"
PAST_THE_GRACE = timedelta(seconds=601)  # ENROLMENT_STUCK_AFTER_S is 600


def upload_of(agent: Partner, rows: int, *, age: timedelta, **fields: Any) -> ImportJob:
    """An upload saved ``age`` ago, as ``csv_upload.start_import`` saves it."""
    job = ImportJob(
        partner_id=agent.id,
        uploaded_by_id=agent.user_id,
        filename="pekerja.csv",
        total_rows=rows,
        source_encrypted=encrypt(csv_bytes([csv_row(n) for n in range(rows)]).decode()),
        created_at=utcnow() - age,
        **fields,
    )
    db.session.add(job)
    db.session.commit()
    return job


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def published() -> Iterator[PublishedJobs]:
    jobs = PublishedJobs()
    yield jobs
    jobs.empty()


class TestSweepOnARealBroker:
    @pytest.fixture
    def app_config(self, published: PublishedJobs) -> dict[str, Any]:
        return published.config()

    @pytest.fixture(autouse=True)
    def broker_connections_closed(self, app: Flask) -> Iterator[None]:
        yield
        close_broker_connections(app)

    @staticmethod
    def runs(published: PublishedJobs) -> list[str]:
        return [args for name, args in published.tasks() if name == RUN]

    def test_a_stuck_job_is_enqueued_once_a_sweep_and_a_started_or_young_one_never(
        self, app, agent, published
    ) -> None:
        stuck = upload_of(agent, 2, age=PAST_THE_GRACE)
        upload_of(agent, 2, age=timedelta(seconds=60))  # its job may still be in the queue
        for status in (ImportStatus.RUNNING, ImportStatus.DONE, ImportStatus.FAILED):
            upload_of(agent, 2, age=timedelta(days=1), status=status)

        assert sweep_enrolment_imports() == 1
        assert self.runs(published) == [f"({stuck.id},)"]
        assert sweep_enrolment_imports() == 1  # still queued: enqueued again, once
        assert self.runs(published) == [f"({stuck.id},)"] * 2

        run_enrolment_import(stuck.id)  # a worker takes one copy; the other finds it done
        run_enrolment_import(stuck.id)
        db.session.expire_all()
        assert db.session.get(ImportJob, stuck.id).status == ImportStatus.DONE
        assert count(Worker) == 2
        assert sweep_enrolment_imports() == 0
        assert len(self.runs(published)) == 2


def test_an_upload_whose_job_was_lost_is_imported_by_the_sweep(app, agent) -> None:
    # No broker: the job enqueued by the sweep runs at the sweep's commit.
    job = upload_of(agent, 3, age=PAST_THE_GRACE)
    assert sweep_enrolment_imports() == 1
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert (job.status, job.imported_rows, job.source_encrypted) == (ImportStatus.DONE, 3, None)
    assert count(Worker) == 3
    assert sweep_enrolment_imports() == 0


def test_two_copies_of_a_job_at_the_same_moment_import_each_row_once(
    app, agent, monkeypatch, caplog
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(csv_upload, "CHUNK_ROWS", 2)
    job_id = upload_of(agent, 8, age=PAST_THE_GRACE).id
    together = threading.Barrier(2)
    errors: list[BaseException] = []

    def copy() -> None:
        try:
            together.wait()
            run_enrolment_import(job_id)  # in an app context (and a session) of its own
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=copy) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert job.status == ImportStatus.DONE
    assert (job.processed_rows, job.imported_rows, job.refused_rows) == (8, 8, 0)
    assert count(ImportRow) == 8
    assert count(Worker) == 8
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
