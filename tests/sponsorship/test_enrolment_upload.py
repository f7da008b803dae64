"""Agents and cooperatives enrol workers from a CSV: every row judged, a per-row report, a
stated rule for partial failures, and files that cannot be read refused whole."""

import csv
import io

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from bundles.models import PartnerKind, PartnerStatus
from extensions import db
from messaging.models import Message, MessageStatus
from tests.sponsorship.conftest import bulk_nik, csv_bytes, csv_row, upload
from workers.models import (
    ConsentEvent,
    EnrolmentSource,
    Heir,
    ImportJob,
    ImportRow,
    ImportRowStatus,
    ImportStatus,
    Worker,
)


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def report(client, job_id: int) -> list[list[str]]:
    response = client.get(f"/mitra/pendaftaran/{job_id}/laporan.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def agent_client(client, login_as, agent):
    return login_as(agent.user)


def test_template_has_the_columns_in_the_agents_language(agent_client):
    response = agent_client.get("/mitra/pendaftaran/templat.csv")
    assert response.data.startswith("\ufeff".encode())
    header = response.data.decode("utf-8-sig").strip().split(",")
    assert header[:3] == ["nama_lengkap", "nik", "no_hp"]
    agent_client.post("/bahasa", data={"lang": "en", "next": "/"})
    header = agent_client.get("/mitra/pendaftaran/templat.csv").data.decode("utf-8-sig")
    assert header.startswith("full_name,nik,phone,")


def test_page_states_the_rule_for_partial_failures(agent_client):
    page = agent_client.get("/mitra/pendaftaran").text
    assert "Apa yang didaftarkan jika sebagian baris gagal" in page
    assert "Setiap baris yang valid didaftarkan" in page


def test_agent_enrols_workers_with_consent_recorded_and_a_report(agent_client, agent):
    rows = [csv_row(1), csv_row(2, setuju_ditampilkan="tidak"), csv_row(3, pekerjaan="fisher")]
    response = upload(agent_client, csv_bytes(rows))
    job = db.session.scalar(select(ImportJob))
    assert response.headers["Location"] == f"/mitra/pendaftaran/{job.id}"
    assert job.status == ImportStatus.DONE
    assert (job.total_rows, job.imported_rows, job.refused_rows) == (3, 3, 0)
    assert job.source_encrypted is None  # the NIKs left with the file

    workers = db.session.scalars(select(Worker).order_by(Worker.id)).all()
    assert [w.is_listed for w in workers] == [True, False, True]
    assert workers[2].occupation == "fisher"
    for worker in workers:
        assert worker.source == EnrolmentSource.AGENT_CSV
        assert worker.enrolled_by_partner_id == agent.id
        assert worker.consent_recorded_by_id == agent.user_id
        assert worker.insurer_consent_at == job.created_at
        assert worker.consent_confirmed_at is None
        assert worker.user_id is None
    assert count(Heir) == 3
    events = db.session.scalars(select(ConsentEvent)).all()
    assert len(events) == 5  # three insurer consents, two listings
    assert {e.partner_id for e in events} == {agent.id}

    welcome = db.session.scalars(select(Message).where(Message.purpose == "worker_enrolled")).all()
    assert len(welcome) == 3
    assert all(m.status == MessageStatus.SENT for m in welcome)
    assert "Koperasi Tani Makmur mendaftarkan Anda" in welcome[0].body

    page = agent_client.get(f"/mitra/pendaftaran/{job.id}").text
    assert "http-equiv" not in page
    assert "terdaftar" in page
    lines = report(agent_client, job.id)
    assert lines[0] == ["Baris", "Hasil", "Nama", "Nomor HP", "Catatan"]
    assert [line[:3] for line in lines[1:]] == [
        ["2", "Terdaftar", "Siti Pekerja 1"],
        ["3", "Terdaftar", "Siti Pekerja 2"],
        ["4", "Terdaftar", "Siti Pekerja 3"],
    ]
    text = "\n".join(",".join(line) for line in lines)
    assert bulk_nik(1) not in text
    assert "085700000001" not in text and "+6285700000001" not in text
    assert "+62 857-••••-001" in text


def test_each_bad_row_is_refused_with_its_reason_and_good_rows_still_import(
    agent_client, make_worker
):
    make_worker(nik=bulk_nik(50), phone_e164="+6281111111111")
    make_worker(nik=bulk_nik(51), phone_e164="+6285700000060")
    rows = [
        csv_row(1),
        csv_row(2, nik="1234"),
        csv_row(3, nama_lengkap='=HYPERLINK("http://evil")'),
        csv_row(4, nik=bulk_nik(7)),
        csv_row(7),
        csv_row(8, no_hp="081299990000"),
        csv_row(9, no_hp="081299990000"),
        csv_row(50),
        csv_row(60),
        csv_row(10, tanggal_lahir="31-02-1990", jenis_kelamin="X"),
        csv_row(11, setuju_data_bpjs="tidak"),
        csv_row(12, no_hp="+62 812 3456 0012"),
        csv_row(13, pekerjaan="astronot", provinsi="99"),
        csv_row(14, hubungan_ahli_waris=""),
    ]
    upload(agent_client, csv_bytes(rows))
    job = db.session.scalar(select(ImportJob))
    outcomes = {
        row.row_number: row
        for row in db.session.scalars(select(ImportRow).where(ImportRow.job_id == job.id))
    }

    def status(line: int) -> str:
        return outcomes[line].status

    def says(line: int) -> str:
        return " ".join(outcomes[line].messages)

    assert status(2) == ImportRowStatus.IMPORTED
    assert status(13) == ImportRowStatus.IMPORTED  # "+62 …" phone is a number, not a formula
    assert status(3) == ImportRowStatus.REFUSED and "tepat 16 angka" in says(3)
    assert status(4) == ImportRowStatus.REFUSED and "rumus spreadsheet" in says(4)
    assert status(5) == status(6) == ImportRowStatus.REFUSED
    assert "NIK yang sama juga ada di baris 6" in says(5)
    assert "baris 5" in says(6)
    assert status(7) == status(8) == ImportRowStatus.REFUSED and "Nomor HP yang sama" in says(7)
    # People already in Payung through someone else look like new ones (issue 13, item 1):
    # they wait for the worker's answer and nothing about them changes.
    assert status(9) == status(10) == ImportRowStatus.IMPORTED
    assert status(11) == ImportRowStatus.REFUSED
    assert "tanggal_lahir" in says(11) and "jenis_kelamin" in says(11)
    assert status(12) == ImportRowStatus.REFUSED and "tanpa persetujuan ini" in says(12)
    assert status(14) == ImportRowStatus.REFUSED
    assert "pekerjaan" in says(14) and "provinsi" in says(14)
    assert status(15) == ImportRowStatus.REFUSED and "wajib diisi" in says(15)

    assert (job.imported_rows, job.skipped_rows, job.refused_rows) == (4, 0, 10)
    assert count(Worker) == 2 + 2
    page = agent_client.get(f"/mitra/pendaftaran/{job.id}").text
    assert "Baris yang ditolak" in page
    lines = report(agent_client, job.id)
    formula_line = next(line for line in lines if line[0] == "4")
    assert formula_line[2].startswith("'=")  # the report itself never carries a formula


def test_nik_date_mismatch_imports_with_a_warning(agent_client):
    upload(agent_client, csv_bytes([csv_row(1, tanggal_lahir="13-05-1990")]))
    row = db.session.scalar(select(ImportRow))
    assert row.status == ImportRowStatus.IMPORTED
    assert "Tanggal lahir di NIK berbeda" in " ".join(row.messages)


def test_semicolons_bom_english_headers_and_indonesian_dates_are_understood(agent_client):
    english = [
        "full_name",
        "nik",
        "phone",
        "birth_date",
        "gender",
        "occupation",
        "province",
        "regency",
        "heir_name",
        "heir_relation",
        "consent_listing",
        "consent_insurer",
    ]
    rows = [
        {
            "full_name": "Agus Salim",
            "nik": bulk_nik(1).replace("52", "12", 1),
            "phone": "0812 1",
            "birth_date": "1990-05-12",
            "gender": "male",
            "occupation": "ojek_online",
            "province": "32",
            "regency": "Kota Bandung",
            "heir_name": "Ani",
            "heir_relation": "istri",
            "consent_listing": "yes",
            "consent_insurer": "Ya",
        },
    ]
    rows[0]["phone"] = "0812-1234-5678"
    upload(agent_client, csv_bytes(rows, header=english, delimiter=";", bom=True))
    job = db.session.scalar(select(ImportJob))
    assert job.imported_rows == 1, db.session.scalar(select(ImportRow.messages))
    worker = db.session.scalar(select(Worker))
    assert (worker.gender, worker.occupation, worker.phone_e164) == (
        "male",
        "ojek_online",
        "+6281212345678",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("nama_lengkap,nik\nSiti Pekerja,café\n".encode("latin-1"), "bukan teks UTF-8"),
        (b"", "File kosong"),
        (csv_bytes([]), "tanpa data pekerja"),
        (b"name,nik,hp\nSiti,1,2\n", "Kolom tidak dikenal"),
        (b"nama_lengkap,nik\nSiti,3201015205900001\n", "Kolom belum ada"),
        (b"nik,nik\n1,2\n", "dua kali"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "bukan"),
    ],
)
def test_unreadable_files_are_refused_whole(agent_client, data, message):
    response = upload(agent_client, data)
    assert response.status_code == 400
    assert message in response.text
    assert count(ImportJob) == 0
    assert count(Worker) == 0


def test_upload_without_the_consent_attestation_is_refused(agent_client):
    response = upload(agent_client, csv_bytes([csv_row(1)]), attest="")
    assert response.status_code == 400
    assert "persetujuan para pekerja" in response.text
    assert count(ImportJob) == 0


class TestLimits:
    @pytest.fixture
    def app_config(self):
        return {"ENROLMENT_MAX_ROWS": 3, "ENROLMENT_MAX_BYTES": 2_000}

    def test_too_many_rows_are_refused(self, agent_client):
        response = upload(agent_client, csv_bytes([csv_row(n) for n in range(4)]))
        assert "lebih dari 3 pekerja" in response.text
        assert count(Worker) == 0

    def test_too_large_files_are_refused(self, agent_client):
        response = upload(agent_client, csv_bytes([csv_row(1, cerita="x" * 3000)]))
        assert "lebih dari 0 MB" not in response.text
        assert "Ukuran file lebih dari" in response.text
        assert count(ImportJob) == 0


def test_check_only_registers_nobody(agent_client):
    upload(agent_client, csv_bytes([csv_row(1), csv_row(2, nik="x")]), check_only="y")
    job = db.session.scalar(select(ImportJob))
    assert job.is_check_only
    assert (job.imported_rows, job.refused_rows) == (1, 1)
    assert count(Worker) == 0
    assert count(Message) == 0
    statuses = set(db.session.scalars(select(ImportRow.status)))
    assert statuses == {ImportRowStatus.CHECKED, ImportRowStatus.REFUSED}
    assert "Valid (tidak didaftarkan" in report(agent_client, job.id)[1][1]


def test_a_running_import_shows_progress_and_refreshes_itself(agent_client, agent):
    job = ImportJob(
        partner_id=agent.id,
        uploaded_by_id=agent.user_id,
        filename="besar.csv",
        status=ImportStatus.RUNNING,
        total_rows=20_000,
        processed_rows=5_000,
    )
    db.session.add(job)
    db.session.commit()
    page = agent_client.get(f"/mitra/pendaftaran/{job.id}").text
    assert '<meta http-equiv="refresh" content="2">' in page
    assert '<progress value="5000" max="20000"' in page
    assert "5.000 dari 20.000 baris" in page


def test_other_partners_cannot_see_an_import(app, agent_client, make_partner):
    upload(agent_client, csv_bytes([csv_row(1)]))
    job = db.session.scalar(select(ImportJob))
    other = make_partner(PartnerKind.AGENT)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = other.user.get_id()
    assert client.get(f"/mitra/pendaftaran/{job.id}").status_code == 404
    assert client.get(f"/mitra/pendaftaran/{job.id}/laporan.csv").status_code == 404


@pytest.mark.parametrize(
    ("kind", "status", "text"),
    [
        (PartnerKind.HEALTH_APP, PartnerStatus.APPROVED, "agen dan koperasi"),
        (PartnerKind.AGENT, PartnerStatus.PENDING, "menunggu persetujuan"),
        (PartnerKind.AGENT, PartnerStatus.SUSPENDED, "agen dan koperasi"),
    ],
)
def test_only_approved_agents_may_enrol(client, login_as, make_partner, kind, status, text):
    partner = make_partner(kind, status=status)
    login_as(partner.user)
    page = client.get("/mitra/pendaftaran")
    assert page.status_code == 403
    assert text in page.text
    response = upload(client, csv_bytes([csv_row(1)]))
    assert response.status_code == 403
    assert count(ImportJob) == 0


def test_sponsors_and_strangers_cannot_reach_bulk_enrolment(app, client, login_as, make_user):
    assert client.get("/mitra/pendaftaran").status_code == 302
    login_as(make_user(Role.SPONSOR))
    assert client.get("/mitra/pendaftaran").status_code == 403


PER_ROW = ("INSERT INTO workers ", "INSERT INTO heirs ")


@pytest.mark.slow
def test_ten_thousand_workers_from_one_csv(agent_client, count_queries):
    rows = [csv_row(n) for n in range(10_000)]
    with count_queries() as statements:
        upload(agent_client, csv_bytes(rows))
    job = db.session.scalar(select(ImportJob))
    assert job.status == ImportStatus.DONE
    assert (job.imported_rows, job.refused_rows) == (10_000, 0)
    assert count(Worker) == 10_000
    assert len(report(agent_client, job.id)) == 10_001
    # Its cost is pinned in statements, not in seconds (a machine's speed): at most one
    # INSERT per worker and one per heir, and everything else (the known NIKs and phones, the
    # pending requests, a savepoint, the job's progress) once per chunk of 500 rows.
    per_row = [text for text in statements if text.lstrip().startswith(PER_ROW)]
    assert len(per_row) <= 2 * 10_000
    assert len(statements) - len(per_row) <= 20 * 20, len(statements) - len(per_row)
