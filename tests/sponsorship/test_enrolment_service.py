"""``enrol_workers``, the service behind both the CSV import and the partner JSON API, and the
import job that runs a file in resumable chunks."""

import pytest
from sqlalchemy import func, select

from bundles.models import PartnerKind, PartnerStatus
from extensions import db
from tests.sponsorship.conftest import bulk_nik, csv_bytes, csv_row
from vault import encrypt
from workers.enrolment import csv_upload as enrolment_csv
from workers.enrolment.bulk import NotAnApprovedAgent, TooManyRows, enrol_workers
from workers.models import (
    ConsentEvent,
    EnrolmentSource,
    ImportJob,
    ImportRow,
    ImportRowStatus,
    ImportStatus,
    Worker,
)
from workers.tasks import run_enrolment_import


def api_row(n: int, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "full_name": f"Agus Pekerja {n}",
        "nik": bulk_nik(n).replace("52", "12", 1),  # a man's NIK: day 12
        "phone": f"0812{n:08d}",
        "birth_date": "1990-05-12",
        "gender": "male",
        "occupation": "ojek_online",
        "province": "32",
        "regency": "Kota Bandung",
        "heir_name": "Ani",
        "heir_relation": "spouse",
        "consent_listing": True,
        "consent_insurer": True,
    }
    row.update(overrides)
    return row


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_api_rows_are_enrolled_and_reported(app, agent):
    with app.test_request_context():
        outcomes = enrol_workers(
            [api_row(1), api_row(2, nik="123"), api_row(3, consent_listing=False)],
            agent_partner=agent,
            source=EnrolmentSource.AGENT_API,
        )
        messages = [[str(m) for m in o.messages] for o in outcomes]
    db.session.commit()
    assert [o.row_number for o in outcomes] == [1, 2, 3]
    assert [o.status for o in outcomes] == [
        ImportRowStatus.IMPORTED,
        ImportRowStatus.REFUSED,
        ImportRowStatus.IMPORTED,
    ]
    assert messages[1] == ["nik: NIK terdiri dari tepat 16 angka."]
    assert outcomes[0].masked_phone == "+62 812-••••-001"
    workers = {w.id: w for w in db.session.scalars(select(Worker))}
    assert workers[outcomes[0].worker_id].source == EnrolmentSource.AGENT_API
    assert workers[outcomes[0].worker_id].is_listed
    assert not workers[outcomes[2].worker_id].is_listed
    assert count(ConsentEvent) == 3


def test_numbers_and_booleans_from_json_are_understood(app, agent):
    with app.test_request_context():
        row = api_row(1, nik=int(api_row(1)["nik"]), consent_listing=1)
        (outcome,) = enrol_workers([row], agent_partner=agent, source=EnrolmentSource.AGENT_API)
    assert outcome.status == ImportRowStatus.IMPORTED, outcome.messages


@pytest.mark.parametrize(
    ("kind", "status"),
    [(PartnerKind.TELCO, PartnerStatus.APPROVED), (PartnerKind.AGENT, PartnerStatus.PENDING)],
)
def test_only_approved_agents(app, make_partner, kind, status):
    partner = make_partner(kind, status=status)
    with app.test_request_context(), pytest.raises(NotAnApprovedAgent):
        enrol_workers([api_row(1)], agent_partner=partner, source=EnrolmentSource.AGENT_API)
    assert count(Worker) == 0


def test_at_most_a_thousand_rows_per_call(app, agent):
    with app.test_request_context(), pytest.raises(TooManyRows):
        enrol_workers(
            [api_row(n) for n in range(1001)],
            agent_partner=agent,
            source=EnrolmentSource.AGENT_API,
        )
    assert count(Worker) == 0


def test_check_only_changes_nothing(app, agent):
    with app.test_request_context():
        outcomes = enrol_workers(
            [api_row(1)], agent_partner=agent, source=EnrolmentSource.AGENT_API, check_only=True
        )
    assert outcomes[0].status == ImportRowStatus.CHECKED
    assert count(Worker) == 0


def queued_job(agent, rows, **fields) -> ImportJob:
    text = csv_bytes(rows).decode()
    job = ImportJob(
        partner_id=agent.id,
        uploaded_by_id=agent.user_id,
        filename="pekerja.csv",
        total_rows=len(rows),
        source_encrypted=encrypt(text),
        **fields,
    )
    db.session.add(job)
    db.session.commit()
    return job


def test_an_interrupted_import_resumes_after_the_last_committed_chunk(app, agent, monkeypatch):
    monkeypatch.setattr(enrolment_csv, "CHUNK_ROWS", 2)
    job = queued_job(
        agent, [csv_row(n) for n in range(5)], status=ImportStatus.RUNNING, processed_rows=2
    )
    run_enrolment_import(job.id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.status == ImportStatus.DONE
    assert job.imported_rows == 3
    assert sorted(db.session.scalars(select(ImportRow.row_number))) == [4, 5, 6]
    assert count(Worker) == 3


def test_a_failing_import_keeps_finished_chunks_and_says_it_stopped(app, agent, monkeypatch):
    monkeypatch.setattr(enrolment_csv, "CHUNK_ROWS", 2)
    calls = []
    real = enrolment_csv.enrol_workers

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(enrolment_csv, "enrol_workers", flaky)
    job = queued_job(agent, [csv_row(n) for n in range(5)])
    run_enrolment_import(job.id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.status == ImportStatus.FAILED
    assert job.processed_rows == 2
    assert job.source_encrypted is None
    assert count(Worker) == 2


def test_a_finished_job_is_not_run_again(app, agent):
    job = queued_job(agent, [csv_row(1)], status=ImportStatus.DONE)
    run_enrolment_import(job.id)
    assert count(Worker) == 0


def test_a_redelivered_import_task_does_not_redo_a_chunk(app, agent):
    job = queued_job(agent, [csv_row(n) for n in range(4)], status=ImportStatus.RUNNING)
    db.session.execute(
        ImportJob.__table__.update().where(ImportJob.id == job.id).values(processed_rows=2)
    )  # another worker finished the first chunk meanwhile
    assert not enrolment_csv._still_ours(job, 0)
    assert enrolment_csv._still_ours(job, 2)
