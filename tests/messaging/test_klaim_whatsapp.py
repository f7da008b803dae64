"""KLAIM over WhatsApp: the sandbox posts the worker's WhatsApp text to Payung's signed webhook,
and it goes through the same keyword flow as an SMS to ``/sms/inbound``: the owner gets the
essentials back on WhatsApp (the vouchers kept only encrypted), the bundle is claimed, and
another number learns nothing."""

import time

from sqlalchemy import select

from extensions import db
from messaging.models import Channel, Message, MessageStatus
from messaging.services import REDACTED
from tests.fulfillment.test_claim import KPJ, build_line, claimed_at
from tests.messaging.conftest import wait_for


def reply_to(phone: str, timeout: float = 15.0) -> Message:
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        found = db.session.scalar(
            select(Message).where(Message.recipient == phone, Message.purpose == "claim_sms_reply")
        )
        if found is not None:
            return found
        assert time.monotonic() < deadline, "no reply to the WhatsApp text"
        time.sleep(0.1)


def test_the_owner_claims_by_whatsapp_and_gets_the_essentials_there(app, request):
    line = build_line()  # its claim code went to the dev outbox, where the test reads it
    providers = request.getfixturevalue("providers")
    providers.whatsapp_reply(line["phone"].lstrip("+"), f"KLAIM {line['code'].lower()}")
    reply = reply_to(line["phone"])
    assert reply.channel == Channel.WHATSAPP
    delivered = wait_for(reply.id, lambda m: m.status == MessageStatus.DELIVERED)
    assert line["voucher"] not in delivered.body and REDACTED in delivered.body
    assert delivered.body_sealed is None  # the provider has it: no copy is kept
    [text] = [
        p["text"]
        for p in providers.phones()
        if p["to"] == line["phone"].lstrip("+") and line["voucher"] in p["text"]
    ]
    assert KPJ in text and "31-03-2026" in text
    assert claimed_at(line["claim_id"]) is not None


def test_another_number_on_whatsapp_learns_nothing(app, request):
    line = build_line()
    providers = request.getfixturevalue("providers")
    stranger = "+6281399990000"
    providers.whatsapp_reply(stranger.lstrip("+"), f"KLAIM {line['code']}")
    reply = reply_to(stranger)
    delivered = wait_for(reply.id, lambda m: m.status == MessageStatus.DELIVERED)
    assert line["voucher"] not in delivered.full_body()
    assert "kode" in delivered.full_body().lower()  # the Indonesian "unknown code" answer
    assert claimed_at(line["claim_id"]) is None
