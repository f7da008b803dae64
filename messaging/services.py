"""Outbound messages to workers and sponsors, and the gateways that deliver them.

A message is saved first and delivered by a job after the commit, so a rolled-back request
never sends anything. Without a gateway URL (development, tests) delivery just marks the
message sent and the dev outbox shows it.

A message that carries a secret (a one-time code, a bundle code, a link token) names it in
``secrets``: the stored ``body`` has it replaced by ``••••••`` and the whole text is kept only
encrypted with FIELD_KEY, for the gateway. Once a real gateway has it, that copy is dropped, so
the database never holds the code in clear and, after delivery, not at all.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Protocol

import requests
from flask import current_app

from extensions import db, utcnow
from jobs import enqueue_after_commit
from messaging.models import Channel, Message, MessageStatus
from vault import encrypt

log = logging.getLogger(__name__)

REDACTED = "••••••"


class MessageGateway(Protocol):
    keeps_sealed_body: ClassVar[bool]

    def send(self, message: Message) -> str: ...


class OutboxGateway:
    """Keeps messages in the database only; the dev outbox page reads them (whole, codes
    included, so the sealed copy stays)."""

    keeps_sealed_body = True

    def send(self, message: Message) -> str:
        return f"outbox-{message.id}"


@dataclass
class HttpSmsGateway:
    url: str
    token: str | None
    timeout_seconds: float = 10.0
    keeps_sealed_body: ClassVar[bool] = False

    def send(self, message: Message) -> str:
        response = requests.post(
            self.url,
            json={
                "channel": message.channel,
                "to": message.recipient,
                "body": message.full_body(),
                "reference": f"msg-{message.id}",
            },
            headers={"Authorization": f"Bearer {self.token}"} if self.token else {},
            timeout=self.timeout_seconds,
        )
        response.raise_for_status()
        return str(response.json().get("id", f"msg-{message.id}"))


def gateway() -> MessageGateway:
    url = current_app.config.get("SMS_GATEWAY_URL")
    if url:
        return HttpSmsGateway(url=url, token=current_app.config.get("SMS_GATEWAY_TOKEN"))
    return OutboxGateway()


def redact(body: str, secrets: Iterable[str]) -> str:
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        body = body.replace(secret, REDACTED)
    return body


def queue_message(
    *,
    channel: Channel,
    recipient: str,
    body: str,
    purpose: str,
    subject: str | None = None,
    secrets: Iterable[str] = (),
) -> Message:
    """Save a message for delivery after the commit; ``secrets`` are the codes ``body``
    carries (stored only encrypted)."""
    secrets = tuple(secrets)
    message = Message(
        channel=channel,
        recipient=recipient,
        body=redact(body, secrets),
        body_sealed=encrypt(body) if secrets else None,
        purpose=purpose,
        subject=subject,
    )
    db.session.add(message)
    db.session.flush()
    enqueue_after_commit("fulfillment.deliver_message", message.id)
    return message


def deliver(message: Message) -> None:
    """Send one queued message; a failure is recorded, never raised into the caller."""
    if message.status == MessageStatus.SENT:
        return
    message.attempts += 1
    sender = gateway()
    try:
        message.provider_reference = sender.send(message)
    except requests.RequestException as exc:
        message.transition(MessageStatus.FAILED)
        message.error = type(exc).__name__
        log.warning("message %s not delivered: %s", message.id, type(exc).__name__)
        return
    message.transition(MessageStatus.SENT)
    message.sent_at = utcnow()
    if not sender.keeps_sealed_body:
        message.body_sealed = None
