"""A worker registers on their phone: one-time code, details, heirs, two consents."""

import io

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from accounts.models import User
from extensions import db
from tests.sponsorship.conftest import (
    image_bytes,
    make_nik,
    post_multipart,
    registration_form,
    sign_in_worker,
)
from vault import decrypt, digest
from workers.models import ConsentEvent, ConsentKind, Heir, Worker, WorkerPhoto

PHONE = "+6281234567890"


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_new_worker_signs_in_registers_and_appears_in_the_directory(client):
    sign_in_worker(client, "0812-3456-7890")

    home = client.get("/saya")
    assert home.headers["Location"] == "/saya/mulai"
    assert client.get("/saya/mulai").headers["Location"] == "/saya/daftar"
    form = client.get("/saya/daftar")
    assert form.status_code == 200
    assert "+62 812-••••-890" in form.text

    response = client.post("/saya/daftar", data=registration_form())
    assert response.status_code == 302
    assert response.headers["Location"] == "/saya/data"

    worker = db.session.scalar(select(Worker))
    assert worker.phone_e164 == PHONE
    assert worker.is_listed
    assert worker.consent_confirmed_at is not None
    assert decrypt(worker.nik_encrypted) == make_nik()
    assert worker.nik_digest == digest(make_nik(), purpose="nik")
    assert make_nik() not in worker.nik_encrypted
    heir = db.session.scalar(select(Heir))
    assert (heir.full_name, heir.relation, heir.phone_e164) == (
        "Budi Santoso",
        "spouse",
        "+6281311112222",
    )
    kinds = set(db.session.scalars(select(ConsentEvent.kind)))
    assert kinds == {ConsentKind.LISTING, ConsentKind.INSURER_DATA}
    user = db.session.scalar(select(User).where(User.phone_e164 == PHONE))
    assert user.display_name == "Siti R."

    assert client.get("/saya").status_code == 200  # registration complete: home opens
    directory = client.get("/pekerja?q=siti").text
    assert "Siti R." in directory
    assert "Rahmawati" not in directory
    assert "Berjualan sayur" in directory


def test_registration_page_is_only_for_signed_in_workers(client, login_as, sponsor):
    assert client.get("/saya/daftar").headers["Location"].startswith("/masuk")
    login_as(sponsor)
    assert client.get("/saya/daftar").status_code == 403


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nik", "320101520590", "tepat 16 angka"),
        ("nik", "9901015205900001", "kode provinsi"),
        ("nik", "3201013205900001", "bukan tanggal lahir"),
        ("nik", "3201015205900000", "0000"),
        ("nik", "32010152059OOO01", "hanya berisi angka"),
        ("heirs-0-phone", "0211234567", "telepon rumah"),
        ("heirs-0-full_name", "", "ahli waris"),
        ("birth_date", "2031-01-01", "masa depan"),
        ("occupation", "astronaut", ""),
        ("consent_insurer", None, "BPJS Ketenagakerjaan"),
        ("regency", "", ""),
    ],
)
def test_bad_details_are_refused_with_a_message_and_nothing_is_saved(
    client, login_as, worker_user, field, value, message
):
    login_as(worker_user)
    response = client.post("/saya/daftar", data=registration_form(**{field: value}))
    assert response.status_code == 200
    assert "Periksa formulir" in response.text or "error-message" in response.text
    assert message in response.text
    assert count(Worker) == 0
    assert count(Heir) == 0
    assert count(ConsentEvent) == 0


def test_heir_named_without_a_relation_is_refused(client, login_as, worker_user):
    login_as(worker_user)
    response = client.post(
        "/saya/daftar", data=registration_form(**{"heirs-1-full_name": "Anak Pertama"})
    )
    assert "Pilih hubungan" in response.text
    assert count(Worker) == 0


def test_one_nik_one_worker(client, login_as, worker_user, make_registered_worker):
    make_registered_worker(nik=make_nik())
    login_as(worker_user)
    response = client.post("/saya/daftar", data=registration_form())
    assert "sudah terdaftar di Payung" in response.text
    assert count(Worker) == 1
    assert count(Heir) == 0


def test_nik_typed_with_spaces_is_stored_as_16_digits(client, login_as, worker_user):
    login_as(worker_user)
    spaced = " ".join(make_nik()[i : i + 4] for i in range(0, 16, 4))
    client.post("/saya/daftar", data=registration_form(nik=spaced))
    assert decrypt(db.session.scalar(select(Worker.nik_encrypted))) == make_nik()


def test_nik_date_that_disagrees_with_the_birth_date_is_a_warning_not_an_error(
    client, login_as, worker_user
):
    login_as(worker_user)
    response = client.post("/saya/daftar", data=registration_form(birth_date="1990-05-13"))
    assert response.status_code == 302
    assert count(Worker) == 1
    page = client.get(response.headers["Location"]).text
    assert "Tanggal lahir di NIK berbeda" in page


def test_listing_consent_is_optional_but_then_the_worker_is_not_listed(
    client, login_as, worker_user
):
    login_as(worker_user)
    client.post("/saya/daftar", data=registration_form(consent_listing=None))
    worker = db.session.scalar(select(Worker))
    assert worker.insurer_consent_at is not None
    assert worker.listing_consent_at is None
    assert not worker.is_listed
    assert "worker-card" not in client.get("/pekerja").text


def test_a_registered_worker_cannot_register_twice(client, login_as, worker_user):
    login_as(worker_user)
    client.post("/saya/daftar", data=registration_form())
    again = client.post("/saya/daftar", data=registration_form(nik=make_nik(serial=2)))
    assert again.status_code == 302
    assert count(Worker) == 1


def test_photo_is_checked_by_content_resized_and_stored(client, login_as, worker_user):
    login_as(worker_user)
    data = registration_form()
    data["photo"] = FileStorage(io.BytesIO(image_bytes("PNG", (2000, 1500))), "me.png")
    response = post_multipart(client, "/saya/daftar", data)
    assert response.status_code == 302
    photo = db.session.scalar(select(WorkerPhoto))
    assert photo.mime_type == "image/jpeg"
    assert max(photo.width, photo.height) == 480
    assert photo.content.startswith(b"\xff\xd8\xff")
    assert db.session.scalar(select(Worker.photo_version)) == 1


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"GIF89a" + b"\x00" * 100, "me.jpg", "JPEG, PNG atau WebP"),
        (b"<script>alert(1)</script>", "me.png", "JPEG, PNG atau WebP"),
        (b"\xff\xd8\xff\xe0" + b"garbage" * 20, "me.jpg", "tidak bisa dibaca"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024), "big.png", "5 MB"),
    ],
)
def test_bad_photos_are_refused_and_nothing_is_saved(
    client, login_as, worker_user, content, filename, message
):
    login_as(worker_user)
    data = registration_form()
    data["photo"] = FileStorage(io.BytesIO(content), filename)
    response = post_multipart(client, "/saya/daftar", data)
    assert response.status_code == 200
    assert message in response.text
    assert count(Worker) == 0
    assert count(WorkerPhoto) == 0


def test_nik_never_reaches_the_logs(client, login_as, worker_user, caplog):
    login_as(worker_user)
    with caplog.at_level("DEBUG"):
        client.post("/saya/daftar", data=registration_form())
        client.post("/saya/daftar", data=registration_form(nik="9901015205900001"))
    assert make_nik() not in caplog.text
    assert "9901015205900001" not in caplog.text
    assert make_nik() not in repr(db.session.scalar(select(Worker)))


def test_english_speakers_get_english_messages(client, login_as, worker_user):
    login_as(worker_user)
    client.post("/bahasa", data={"lang": "en", "next": "/"})
    response = client.post("/saya/daftar", data=registration_form(nik="1234"))
    assert "A NIK has exactly 16 digits." in response.text


def test_worker_edits_their_card_and_search_follows(client, login_as, worker_user):
    login_as(worker_user)
    client.post("/saya/daftar", data=registration_form())
    form = client.get("/saya/data/kartu")
    assert 'value="Kab. Bogor"' in form.text
    data = {
        "occupation": "fisher",
        "province": "73",
        "regency": "Kota Makassar",
        "story": "Melaut setiap pagi.",
        "photo": FileStorage(io.BytesIO(image_bytes("WEBP", (300, 200))), "me.webp"),
    }
    response = post_multipart(client, "/saya/data/kartu", data)
    assert response.headers["Location"] == "/saya/data"
    worker = db.session.scalar(select(Worker))
    assert (worker.occupation, worker.province_code, worker.regency) == (
        "fisher",
        "73",
        "Kota Makassar",
    )
    assert worker.photo_version == 1
    assert "Siti R." in client.get("/pekerja?q=makassar").text
    assert "worker-card" not in client.get("/pekerja?q=bogor").text

    client.post("/saya/data/kartu", data={**data, "photo": None, "remove_photo": "y"})
    assert db.session.scalar(select(func.count()).select_from(WorkerPhoto)) == 0


def test_bad_card_changes_are_refused_and_change_nothing(client, login_as, worker_user):
    login_as(worker_user)
    client.post("/saya/daftar", data=registration_form())
    data = {
        "occupation": "fisher",
        "province": "32",
        "regency": "Kab. Bogor",
        "photo": FileStorage(io.BytesIO(b"%PDF-1.7 not a photo"), "me.jpg"),
    }
    response = post_multipart(client, "/saya/data/kartu", data)
    assert "JPEG, PNG atau WebP" in response.text
    assert db.session.scalar(select(Worker.occupation)) == "market_trader"
