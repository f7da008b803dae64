"""queued → sent → delivered / failed, as the providers (the sandbox) report it: WhatsApp's
signed status webhooks and the SMS provider's signed delivery reports; retries with backoff
and one copy on the phone per message, however often Payung retries."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from extensions import db, utcnow
from messaging import delivery
from messaging.channels import SendError
from messaging.channels.sms import SmsAdapter
from messaging.models import Channel, Message, MessageStatus
from messaging.services import queue_message, queue_template
from tests.messaging.conftest import WHATSAPP_SECRET, reread, wait_for

PHONE = "+6281234567890"
CODE = "KODE-1234-5678"


def delivered(message: Message) -> bool:
    return message.status == MessageStatus.DELIVERED


def test_a_whatsapp_message_goes_as_a_template_and_is_reported_delivered(app, providers):
    providers.faults(whatsapp={"delay_ms": 1500})  # time to see it sent, before delivered
    message = queue_message(
        channel=Channel.WHATSAPP,
        recipient=PHONE,
        body=f"Payung: kode klaim Anda {CODE}.",
        purpose="claim_code",
        secrets=(CODE,),
    )
    db.session.commit()
    assert reread(message.id).status == MessageStatus.SENT  # accepted, not yet on the phone
    done = wait_for(message.id, delivered)
    assert (done.channel, done.attempts, done.error) == (Channel.WHATSAPP, 1, None)
    assert done.delivered_at is not None and done.provider_reference.startswith("wamid.")
    assert done.body_sealed is None  # delivered: the code is gone from the database
    (phone,) = providers.phones()
    assert phone["provider"] == "whatsapp" and phone["to"] == PHONE.lstrip("+")
    assert phone["template"] == "payung_notice" and CODE in phone["text"]


def test_an_sms_is_reported_delivered_by_the_provider(app, providers):
    message = queue_message(channel=Channel.SMS, recipient=PHONE, body="Payung: halo", purpose="t")
    db.session.commit()
    done = wait_for(message.id, delivered)
    (phone,) = providers.phones()
    assert (phone["provider"], phone["to"], phone["text"]) == ("sms", PHONE, "Payung: halo")
    assert done.provider_reference == phone["message_id"]


def test_an_sms_the_provider_cannot_deliver_fails_with_its_reason(app, providers):
    providers.faults(sms={"fail": "absent subscriber"})
    message = queue_message(channel=Channel.SMS, recipient=PHONE, body="Payung: halo", purpose="t")
    db.session.commit()
    failed = wait_for(message.id, lambda m: m.status == MessageStatus.FAILED)
    assert failed.error == "sms: absent subscriber"


def test_a_provider_that_is_down_is_tried_again_after_a_backoff_and_sends_once(app, providers):
    providers.faults(sms={"down": True})
    message = queue_message(channel=Channel.SMS, recipient=PHONE, body="Payung: halo", purpose="t")
    db.session.commit()
    waiting = reread(message.id)
    assert waiting.status == MessageStatus.QUEUED and waiting.attempts == 1
    assert waiting.error.startswith("sms: unavailable")
    first_wait = waiting.next_attempt_at - utcnow()
    assert timedelta(seconds=25) < first_wait <= timedelta(seconds=30)

    delivery.sweep()  # not due yet: nothing is tried
    db.session.commit()
    assert reread(message.id).attempts == 1

    later = waiting.next_attempt_at + timedelta(seconds=1)
    delivery.deliver(reread(message.id), now=later)  # still down: the wait doubles
    db.session.commit()
    again = reread(message.id)
    assert again.attempts == 2 and again.next_attempt_at - later == timedelta(seconds=60)

    providers.faults(sms={})
    delivery.deliver(reread(message.id), now=again.next_attempt_at)
    db.session.commit()
    wait_for(message.id, delivered)
    assert len(providers.phones()) == 1
    assert providers.requests_seen()["sms"] == 3


def test_after_the_last_attempt_a_message_fails(app, providers, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGING_MAX_ATTEMPTS", 2)
    providers.faults(sms={"down": True})
    message = queue_message(channel=Channel.SMS, recipient=PHONE, body="Payung: halo", purpose="t")
    db.session.commit()
    delivery.deliver(reread(message.id), now=utcnow() + timedelta(hours=1))
    db.session.commit()
    failed = reread(message.id)
    assert (failed.status, failed.attempts) == (MessageStatus.FAILED, 2)
    assert failed.error.startswith("sms: unavailable")


def test_a_retry_after_a_lost_answer_reaches_the_phone_once(app, providers):
    """The provider took the message but Payung never heard: the retry carries the same
    Idempotency-Key, so the provider answers as before and sends nothing new."""
    message = queue_message(channel=Channel.SMS, recipient=PHONE, body="Payung: halo", purpose="t")
    db.session.commit()
    wait_for(message.id, delivered)
    adapter = delivery.adapter_for(Channel.SMS)
    assert isinstance(adapter, SmsAdapter)
    retried = delivery.outgoing(reread(message.id))
    receipt = adapter.send(retried)
    assert receipt.reference == reread(message.id).provider_reference
    assert len(providers.phones()) == 1

    other = delivery.outgoing(reread(message.id))
    tampered = type(other)(**{**other.__dict__, "text": "Payung: lain"})
    try:
        adapter.send(tampered)
    except SendError as refused:
        assert refused.reason.startswith("idempotency_conflict") and not refused.transient
    else:
        raise AssertionError("the provider took another text under the same key")


def test_reports_are_idempotent_and_never_move_a_delivered_message(app, providers):
    message = queue_message(channel=Channel.WHATSAPP, recipient=PHONE, body="halo", purpose="t")
    db.session.commit()
    done = wait_for(message.id, delivered)
    for status in ("delivered", "read", "failed", "sent"):
        delivery.apply_report(
            Channel.WHATSAPP, f"msg-{message.id}", done.provider_reference, status, "late"
        )
        db.session.commit()
    after = reread(message.id)
    assert (after.status, after.error, after.delivered_at) == (
        MessageStatus.DELIVERED,
        None,
        done.delivered_at,
    )
    assert db.session.scalar(select(func.count()).select_from(Message)) == 1


def whatsapp_status(providers, message: Message, status: str, signature: str | None):
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "x",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "statuses": [
                                    {
                                        "id": message.provider_reference,
                                        "status": status,
                                        "biz_opaque_callback_data": f"msg-{message.id}",
                                        "errors": [{"code": 131026, "title": "forged"}],
                                    }
                                ]
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    if signature is None:
        signature = "sha256=" + hmac.new(WHATSAPP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return requests.post(
        f"{providers.site_url}/messaging/whatsapp/webhook",
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        timeout=10,
    )


def test_a_whatsapp_status_without_our_signature_changes_nothing(app, providers):
    providers.faults(whatsapp={"not_delivered": True})
    message = queue_message(channel=Channel.WHATSAPP, recipient=PHONE, body="halo", purpose="t")
    db.session.commit()
    sent = reread(message.id)
    forged = "sha256=" + hmac.new(b"not-the-secret", b"x", hashlib.sha256).hexdigest()
    assert whatsapp_status(providers, sent, "failed", forged).status_code == 401
    assert whatsapp_status(providers, sent, "failed", "").status_code == 401
    assert reread(message.id).status == MessageStatus.SENT
    assert whatsapp_status(providers, sent, "delivered", None).status_code == 200
    assert reread(message.id).status == MessageStatus.DELIVERED


def test_an_sms_report_without_our_signature_is_refused(app, providers):
    answer = requests.post(
        f"{providers.site_url}/messaging/sms/reports",
        json={"message_id": "sms_x", "reference": "msg-1", "status": "failed"},
        timeout=10,
    )
    assert answer.status_code == 401


def test_the_webhook_handshake_echoes_the_challenge_only_with_the_verify_token(
    app, client, monkeypatch
):
    monkeypatch.setitem(app.config, "WHATSAPP_VERIFY_TOKEN", "payung-verify")
    query = "/messaging/whatsapp/webhook?hub.mode=subscribe&hub.challenge=42&hub.verify_token="
    assert client.get(query + "payung-verify").text == "42"
    assert client.get(query + "wrong").status_code == 403


def test_a_catalogue_text_goes_by_whatsapp_as_its_template_with_its_parameters(app, providers):
    message = queue_template(
        "claim_code",
        channel=Channel.WHATSAPP,
        recipient=PHONE,
        purpose="claim_code",
        locale="en",
        secrets=(CODE,),
        bundle="ComboFit Jamsostek",
        code=CODE,
        link="https://payung.id/klaim",
    )
    db.session.commit()
    stored = reread(message.id)
    assert stored.template == "claim_code" and stored.locale == "en"
    assert CODE not in stored.body and CODE not in (stored.params_sealed or "")
    done = wait_for(message.id, delivered)
    assert done.params_sealed is None and done.body_sealed is None
    (phone,) = providers.phones()
    assert phone["template"] == "claim_code"
    assert phone["text"].split("\n") == ["ComboFit Jamsostek", CODE, "https://payung.id/klaim"]


@pytest.mark.parametrize(
    ("purpose", "age_s", "sent"),
    [
        ("sign_in", 301, False),  # held up past the code's five minutes: not sent
        ("phone_change", 301, False),
        ("sign_in", 240, True),  # late, but the code still works
        ("lapse_alert_worker", 3600, True),  # no code in it: late is better than never
    ],
)
def test_a_one_time_code_is_never_sent_after_it_expired(app, providers, purpose, age_s, sent):
    message = queue_message(
        channel=Channel.SMS,
        recipient=PHONE,
        body="Payung: kode Anda 123456",
        purpose=purpose,
        secrets=("123456",),
    )
    message.created_at = utcnow() - timedelta(seconds=age_s)  # the broker was down meanwhile
    db.session.commit()  # jobs run at the commit here
    done = reread(message.id)
    if sent:
        assert done.status in {MessageStatus.SENT, MessageStatus.DELIVERED}
        assert [phone["to"] for phone in providers.phones()] == [PHONE]
    else:
        assert (done.status, done.error, done.attempts) == (
            MessageStatus.FAILED,
            delivery.CODE_EXPIRED,
            0,
        )
        assert done.body_sealed is None  # the code is gone from the database too
        assert providers.phones() == []
