"""A worker's message goes by WhatsApp first, then by SMS when WhatsApp fails or has not
delivered it in time; one-time codes go by SMS; whichever way, one delivered copy."""

from datetime import timedelta

from sqlalchemy import func, select

from extensions import db, utcnow
from messaging import delivery
from messaging.contacts import set_channel
from messaging.models import Channel, Message, MessageStatus
from messaging.services import queue_message
from tests.messaging.conftest import reread, wait_for

PHONE = "+6281234567890"
CODE = "ABCD-EFGH-JKLM-NPQR-S"


def delivered(message: Message) -> bool:
    return message.status == MessageStatus.DELIVERED


def claim_code_message() -> Message:
    message = queue_message(
        channel=Channel.WHATSAPP,
        recipient=PHONE,
        body=f"Payung: kode klaim Anda {CODE}",
        purpose="claim_code",
        secrets=(CODE,),
    )
    db.session.commit()
    return message


def test_whatsapp_failing_falls_back_to_sms_with_the_whole_text(app, providers):
    providers.faults(whatsapp={"fail": "Message undeliverable", "delay_ms": 0})
    message = claim_code_message()
    done = wait_for(message.id, delivered)
    assert done.channel == Channel.SMS and done.fallback_channel is None
    assert done.error == "whatsapp: 131026: Message undeliverable"  # why it fell back
    whatsapp, sms = providers.phones()
    assert (whatsapp["provider"], sms["provider"]) == ("whatsapp", "sms")
    assert CODE in sms["text"]  # the sealed copy was kept for the fallback …
    assert done.body_sealed is None  # … and dropped once delivered
    assert db.session.scalar(select(func.count()).select_from(Message)) == 1


def test_whatsapp_not_delivered_in_time_goes_by_sms_once(app, providers, monkeypatch):
    providers.faults(whatsapp={"not_delivered": True, "delay_ms": 0})
    message = claim_code_message()
    sent = reread(message.id)
    assert (sent.status, sent.channel) == (MessageStatus.SENT, Channel.WHATSAPP)
    deadline = sent.fallback_at
    assert deadline - sent.sent_at == timedelta(seconds=300)  # MESSAGING_FALLBACK_AFTER_S

    assert delivery.sweep(now=deadline - timedelta(seconds=1))["fell_back"] == 0
    db.session.commit()
    assert reread(message.id).channel == Channel.WHATSAPP

    assert delivery.sweep(now=deadline)["fell_back"] == 1
    db.session.commit()
    done = wait_for(message.id, delivered)
    assert done.channel == Channel.SMS and done.error == "whatsapp: not delivered within 300 s"
    assert delivery.sweep(now=deadline + timedelta(hours=1))["fell_back"] == 0  # only once
    db.session.commit()
    assert [p["provider"] for p in providers.phones()] == ["whatsapp", "sms"]

    # WhatsApp's late "delivered" for a channel the message has left changes nothing.
    whatsapp = providers.phones()[0]
    delivery.apply_report(
        Channel.WHATSAPP, f"msg-{message.id}", whatsapp["message_id"], "delivered", None
    )
    db.session.commit()
    assert reread(message.id).channel == Channel.SMS


def test_a_whatsapp_outage_is_retried_before_it_falls_back(app, providers, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGING_MAX_ATTEMPTS", 2)
    providers.faults(whatsapp={"down": True})
    message = claim_code_message()
    waiting = reread(message.id)
    assert (waiting.status, waiting.channel, waiting.attempts) == (
        MessageStatus.QUEUED,
        Channel.WHATSAPP,
        1,
    )
    delivery.deliver(waiting, now=utcnow() + timedelta(minutes=5))
    db.session.commit()  # the second failure is the last: on to SMS, delivered there
    done = wait_for(message.id, delivered)
    assert done.channel == Channel.SMS
    assert [p["provider"] for p in providers.phones()] == ["sms"]


def test_a_worker_who_chose_sms_gets_no_whatsapp(app, providers):
    set_channel(PHONE, Channel.SMS)
    db.session.commit()
    message = claim_code_message()
    done = wait_for(message.id, delivered)
    assert done.channel == Channel.SMS and done.fallback_channel is None
    assert [p["provider"] for p in providers.phones()] == ["sms"]


def test_a_worker_who_chose_whatsapp_gets_it_even_where_sms_was_meant(app, providers):
    set_channel(PHONE, Channel.WHATSAPP)
    db.session.commit()
    message = queue_message(channel=Channel.SMS, recipient=PHONE, body="halo", purpose="t")
    db.session.commit()
    assert wait_for(message.id, delivered).channel == Channel.WHATSAPP


def test_one_time_codes_go_by_sms_whatever_was_chosen(app, providers):
    set_channel(PHONE, Channel.WHATSAPP)
    db.session.commit()
    message = queue_message(
        channel=Channel.WHATSAPP,
        recipient=PHONE,
        body="Payung: kode masuk Anda 123456",
        purpose="sign_in",
        secrets=("123456",),
    )
    db.session.commit()
    assert wait_for(message.id, delivered).channel == Channel.SMS


def test_without_providers_whatsapp_stays_in_the_outbox_and_waits_for_no_fallback(app):
    message = claim_code_message()  # no provider configured: the outbox adapter
    sent = reread(message.id)
    assert (sent.status, sent.channel) == (MessageStatus.SENT, Channel.WHATSAPP)
    assert sent.fallback_channel is None and sent.fallback_at is None
    assert sent.full_body().endswith(CODE)  # the dev outbox still shows the code
    assert delivery.sweep(now=utcnow() + timedelta(days=1))["fell_back"] == 0
