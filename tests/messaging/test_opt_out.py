"""BERHENTI / STOP, by SMS or WhatsApp, stops non-essential messages to that number (sign-in
and claim codes still come; sponsors' lapse alerts go by email, untouched); MULAI starts them
again; the worker chooses WhatsApp or SMS on their own page; KLAIM keeps working."""

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from core.signing import sign
from extensions import db, utcnow
from fulfillment import sweeper
from messaging import delivery, tasks
from messaging.contacts import chosen_channel, is_stopped
from messaging.models import Channel, Contact, Message, MessageStatus
from messaging.services import queue_message
from tests.fulfillment.test_claim import build_line
from tests.messaging.conftest import reread, wait_for
from tests.sponsorship.test_worker_self import signed_in_worker

PHONE = "+6281234567890"
SECRET = "inbound-secret"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"SMS_INBOUND_SECRET": SECRET}


def text_payung(client: Any, sender: str, text: str) -> Any:
    body = json.dumps({"id": "gw-1", "from": sender, "text": text}).encode()
    timestamp = int(time.time())
    return client.post(
        "/sms/inbound",
        data=body,
        content_type="application/json",
        headers={
            "X-Payung-Timestamp": str(timestamp),
            "X-Payung-Signature": sign(SECRET.encode(), timestamp, body),
        },
    )


def news(purpose: str = "lapse_alert_worker") -> Message:
    message = queue_message(
        channel=Channel.SMS, recipient=PHONE, body="Payung: perlindungan Anda", purpose=purpose
    )
    db.session.commit()
    return reread(message.id)


@pytest.mark.parametrize("word", ["BERHENTI", "stop", " Stop. "])
def test_stop_by_sms_stops_news_but_not_codes(app, client, word):
    assert text_payung(client, PHONE, word).status_code == 200
    assert is_stopped(PHONE)
    confirmation = db.session.scalar(select(Message).where(Message.purpose == "opt_out"))
    assert confirmation.status == MessageStatus.SENT and "MULAI" in confirmation.body

    stopped = news()
    assert (stopped.status, stopped.error, stopped.attempts) == (
        MessageStatus.FAILED,
        "recipient_opted_out",
        0,
    )
    code = queue_message(
        channel=Channel.SMS,
        recipient=PHONE,
        body="Payung: kode masuk Anda 123456",
        purpose="sign_in",
        secrets=("123456",),
    )
    db.session.commit()
    assert reread(code.id).status == MessageStatus.SENT

    assert text_payung(client, PHONE, "MULAI").status_code == 200
    assert not is_stopped(PHONE)
    assert news().status == MessageStatus.SENT


def test_the_number_is_kept_only_as_a_digest(app, client):
    text_payung(client, PHONE, "STOP")
    contact = db.session.scalar(select(Contact))
    assert PHONE not in repr(contact.__dict__) and PHONE[1:] not in contact.phone_digest


def test_stop_by_whatsapp_reaches_payung_through_the_signed_webhook(app, providers):
    providers.whatsapp_reply(PHONE.lstrip("+"), "BERHENTI")
    deadline = time.monotonic() + 15
    while not is_stopped(PHONE):
        assert time.monotonic() < deadline, "the STOP never arrived"
        time.sleep(0.1)
        db.session.rollback()
    confirmation = db.session.scalar(select(Message).where(Message.purpose == "opt_out"))
    wait_for(confirmation.id, lambda m: m.status == MessageStatus.DELIVERED)
    stopped = news()
    assert stopped.status == MessageStatus.FAILED
    claim = queue_message(
        channel=Channel.WHATSAPP, recipient=PHONE, body="Payung: kode klaim", purpose="claim_code"
    )
    db.session.commit()
    wait_for(claim.id, lambda m: m.status == MessageStatus.DELIVERED)
    texts = [p["text"] for p in providers.phones()]
    assert "Payung: perlindungan Anda" not in texts and "Payung: kode klaim" in texts


def test_rows_written_in_bulk_meet_the_stop_when_delivered(app, client):
    """Lapse alerts are inserted in bulk, not through queue_message: delivery checks too."""
    text_payung(client, PHONE, "STOP")
    message_id = db.session.scalar(
        insert(Message)
        .values(
            channel=Channel.SMS,
            recipient=PHONE,
            body="Payung: perlindungan Anda berakhir",
            purpose="lapse_alert_worker",
        )
        .returning(Message.id)
    )
    db.session.commit()
    delivery.deliver(reread(message_id))
    db.session.commit()
    assert (reread(message_id).status, reread(message_id).error) == (
        MessageStatus.FAILED,
        "recipient_opted_out",
    )


def test_klaim_still_answers_and_other_texts_get_the_help(app, client):
    text_payung(client, PHONE, "STOP")
    answer = text_payung(client, PHONE, "halo")
    reply = db.session.get(Message, answer.json["reply_id"])
    assert reply.purpose == "claim_sms_reply" and "KLAIM" in reply.body
    assert reply.status == MessageStatus.SENT  # essential: a stopped number still gets it


def test_the_worker_chooses_sms_and_no_news_on_their_page(app, client):
    line = signed_in_worker(client)
    phone = line["phone"]
    page = client.get("/saya/pesan")
    assert page.status_code == 200 and 'value="whatsapp"' in page.text
    answer = client.post("/saya/pesan", data={"channel": "sms"})
    assert answer.status_code == 302
    assert chosen_channel(phone) == Channel.SMS and is_stopped(phone)
    client.post("/saya/pesan", data={"channel": "whatsapp", "news": "y"})
    assert chosen_channel(phone) == Channel.WHATSAPP and not is_stopped(phone)
    assert client.post("/saya/pesan", data={"channel": "fax"}).status_code == 422
    assert chosen_channel(phone) == Channel.WHATSAPP


def test_the_preference_page_needs_a_worker(app, client):
    build_line()
    assert client.get("/saya/pesan").status_code in (302, 401, 403)


def test_the_fulfillment_sweeper_never_sends_a_stopped_or_failed_message_again(app, client):
    text_payung(client, PHONE, "STOP")
    stopped = news()
    later = utcnow() + timedelta(hours=1)
    assert stopped.id not in sweeper._undelivered(later, 100)
    queued = queue_message(channel=Channel.SMS, recipient="+6281299990000", body="x", purpose="t")
    db.session.flush()  # not committed: no delivery job ran, the sweeper must pick it up
    assert sweeper._undelivered(later, 100) == [queued.id]


def test_a_batch_looks_up_its_stopped_numbers_once(app, client):
    text_payung(client, PHONE, "STOP")
    ids = [
        db.session.scalar(
            insert(Message)
            .values(channel=Channel.SMS, recipient=phone, body="kabar", purpose="news")
            .returning(Message.id)
        )
        for phone in (PHONE, "+6281299990000")
    ]
    db.session.commit()
    tasks.deliver_messages(ids)
    stopped, other = (reread(message_id) for message_id in ids)
    assert (stopped.status, stopped.error) == (MessageStatus.FAILED, "recipient_opted_out")
    assert other.status == MessageStatus.SENT
