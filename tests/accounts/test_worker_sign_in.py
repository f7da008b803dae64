"""Workers sign in with a phone number and a one-time code sent by SMS."""

import re
from datetime import timedelta

from sqlalchemy import func, select

from accounts.models import OneTimeCode, Role, User
from extensions import db, utcnow
from messaging.models import Message, MessageStatus


def last_code(phone: str) -> str:
    message = db.session.scalar(
        select(Message).where(Message.recipient == phone).order_by(Message.id.desc()).limit(1)
    )
    return re.search(r"\b(\d{6})\b", message.full_body()).group(1)


def is_signed_in(client) -> bool:
    """/saya sends strangers to sign in; a signed-in worker sees it (or registration)."""
    response = client.get("/saya")
    return not (response.status_code == 302 and response.headers["Location"].startswith("/masuk"))


def test_worker_receives_a_code_by_sms_and_signs_in(client):
    response = client.post("/masuk/pekerja", data={"phone": "0812-3456-7890"})
    assert response.headers["Location"] == "/masuk/pekerja/kode"

    message = db.session.scalar(select(Message))
    assert message.recipient == "+6281234567890"
    assert message.status == MessageStatus.SENT  # delivered by the eager job after commit
    assert "Payung: kode masuk Anda" in message.body

    page = client.get("/masuk/pekerja/kode")
    assert "+62 812-••••-890" in page.text
    assert "+6281234567890" not in page.text

    response = client.post("/masuk/pekerja/kode", data={"code": last_code("+6281234567890")})
    assert response.headers["Location"] == "/saya"
    user = db.session.scalar(select(User).where(User.phone_e164 == "+6281234567890"))
    assert user.role == Role.WORKER
    home = client.get("/saya")  # signed in; a new worker is sent on to register first
    assert home.status_code == 302
    assert not home.headers["Location"].startswith("/masuk")


def test_code_is_stored_only_as_a_keyed_hash(client):
    client.post("/masuk/pekerja", data={"phone": "081234567890"})
    code = last_code("+6281234567890")
    otp = db.session.scalar(select(OneTimeCode))
    assert code not in otp.code_digest
    assert len(otp.code_digest) == 64


def test_wrong_code_is_refused_and_counted(client):
    client.post("/masuk/pekerja", data={"phone": "081234567890"})
    right = last_code("+6281234567890")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post("/masuk/pekerja/kode", data={"code": wrong})
    assert "Kode tidak cocok" in response.text
    assert db.session.scalar(select(OneTimeCode.attempts)) == 1
    assert not is_signed_in(client)


def test_too_many_wrong_codes_lock_that_code_but_a_new_code_works(client):
    client.post("/masuk/pekerja", data={"phone": "081234567890"})
    right = last_code("+6281234567890")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(5):
        client.post("/masuk/pekerja/kode", data={"code": wrong})
    response = client.post("/masuk/pekerja/kode", data={"code": right})
    assert "Terlalu banyak percobaan salah" in response.text
    assert not is_signed_in(client)

    client.post("/masuk/pekerja/kirim-ulang")
    fresh = last_code("+6281234567890")
    response = client.post("/masuk/pekerja/kode", data={"code": fresh})
    assert response.headers["Location"] == "/saya"


def test_expired_code_is_refused(client):
    client.post("/masuk/pekerja", data={"phone": "081234567890"})
    code = last_code("+6281234567890")
    otp = db.session.scalar(select(OneTimeCode))
    otp.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.post("/masuk/pekerja/kode", data={"code": code})
    assert "sudah kedaluwarsa" in response.text


def test_a_new_code_replaces_the_old_one(client):
    client.post("/masuk/pekerja", data={"phone": "081234567890"})
    first = last_code("+6281234567890")
    otp = db.session.scalar(select(OneTimeCode))
    otp.created_at -= timedelta(seconds=61)  # past the resend wait
    db.session.commit()
    client.post("/masuk/pekerja/kirim-ulang")
    assert db.session.scalar(select(func.count()).select_from(OneTimeCode)) == 2
    second = last_code("+6281234567890")
    if first != second:
        response = client.post("/masuk/pekerja/kode", data={"code": first})
        assert not is_signed_in(client), response.text
    response = client.post("/masuk/pekerja/kode", data={"code": second})
    assert response.headers["Location"] == "/saya"


def test_invalid_phone_numbers_are_refused_and_nothing_is_sent(client):
    for phone in ("021-555-1234", "12345", "+1 202 555 0100", ""):
        response = client.post("/masuk/pekerja", data={"phone": phone})
        assert response.status_code == 200, phone
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0
    assert db.session.scalar(select(func.count()).select_from(OneTimeCode)) == 0


def test_staff_phone_numbers_cannot_use_the_worker_sign_in(client, make_user):
    make_user(Role.SPONSOR, phone_e164="+6281234567890")
    client.post("/masuk/pekerja", data={"phone": "081234567890"})
    response = client.post("/masuk/pekerja/kode", data={"code": last_code("+6281234567890")})
    assert response.status_code == 200
    assert not is_signed_in(client)
    assert client.get("/sponsor").status_code == 302
