"""Codes in messages: no column of the messages table holds a sign-in code or a bundle code in
clear; the admin log never shows them, the development outbox does, and the SMS gateway gets the
whole text (the SMS provider, played by the sandbox)."""

import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
from sqlalchemy import select, text

from extensions import db, utcnow
from fulfillment.claims.services import issue_claim_code
from messaging.models import Message, MessageStatus
from sponsorship.checkout.models import OrderLine
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers

PHONE = "+6281234567890"
OTP = re.compile(r"\b\d{6}\b")
CLAIM_CODE = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){3}-[0-9A-Z]\b")


def raw_rows() -> str:
    """Every column of every row, as anyone reading the database (or a backup) sees it."""
    return "\n".join(repr(tuple(row)) for row in db.session.execute(text("SELECT * FROM messages")))


def request_otp(app) -> None:
    worker = app.test_client()
    assert worker.post("/masuk/pekerja", data={"phone": "0812-3456-7890"}).status_code == 302


def send_claim_code() -> None:
    combo = make_combofit(codes=1)
    order = make_paid_order(combo.bundle, make_workers(1), months=1)
    line = db.session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
    issue_claim_code(line, now=utcnow())
    db.session.commit()


def read_from(text: str, pattern: re.Pattern[str]) -> str:
    found = pattern.search(text)
    assert found, text
    return found.group(0)


def dev_outbox(client) -> str:
    """The messages' texts on the development outbox page, newest first."""
    page = client.get("/dev/outbox").text
    return "\n".join(re.findall(r'<pre class="message-body">(.*?)</pre>', page, re.S))


def test_codes_are_not_in_the_table_nor_the_admin_log_but_in_the_dev_outbox(app, admin):
    request_otp(app)
    send_claim_code()
    outbox = dev_outbox(app.test_client())
    otp, claim_code = read_from(outbox, OTP), read_from(outbox, CLAIM_CODE)
    assert "Payung: kode masuk Anda" in outbox and "/klaim" in outbox

    stored = raw_rows()
    for secret in (otp, claim_code, claim_code.replace("-", "")):
        assert secret not in stored
    assert "Payung: kode masuk Anda ••••••." in stored  # the rest is still readable

    log = admin.get("/admin/pesan/").text
    assert "kode masuk Anda" in log and "/klaim" in log
    assert otp not in log and claim_code not in log

    # The code read from the outbox is the real one: it signs the worker in.
    worker = app.test_client()
    worker.post("/masuk/pekerja", data={"phone": "0812-3456-7890"})
    otp = read_from(dev_outbox(worker), OTP)
    assert worker.post("/masuk/pekerja/kode", data={"code": otp}).headers["Location"] == "/saya"


@pytest.fixture
def gateway(app, sandbox, monkeypatch) -> Callable[[], list[dict[str, Any]]]:
    """The SMS provider played by the partner sandbox; returns what reached the phones."""
    requests.post(sandbox.url("/_messaging/reset"), timeout=10).raise_for_status()
    monkeypatch.setitem(app.config, "SMS_API_URL", sandbox.url("/sms/v1"))
    monkeypatch.setitem(app.config, "SMS_API_KEY", "sandbox-sms-key")

    def received() -> list[dict[str, Any]]:
        answer = requests.get(sandbox.url("/_messaging/messages"), timeout=10)
        return answer.json()["messages"]

    return received


def test_the_provider_gets_the_whole_text_and_then_no_copy_of_the_code_is_kept(app, gateway):
    request_otp(app)
    send_claim_code()
    phones = gateway()
    otp = read_from(phones[0]["text"], OTP)
    claim_code = read_from(phones[1]["text"], CLAIM_CODE)
    assert phones[0]["to"] == PHONE

    sent = db.session.scalars(select(Message).order_by(Message.id)).all()
    assert [m.status for m in sent] == [MessageStatus.SENT] * 2
    assert [m.provider_reference for m in sent] == [p["message_id"] for p in phones]
    assert all(m.body_sealed is None for m in sent)  # with the provider: not even sealed
    stored = raw_rows()
    assert otp not in stored and claim_code not in stored
