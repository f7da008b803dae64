"""Outbound messages to workers, sponsors, partners and admins: queueing.

A message is saved first and delivered by a job after the commit (:mod:`messaging.delivery`),
so a rolled-back request never sends anything. Without a provider configured (development,
tests) delivery just marks the message sent and the dev outbox shows it.

A message that carries a secret (a one-time code, a bundle code, a link token) names it in
``secrets``: the stored ``body`` has it replaced by ``••••••`` and the whole text is kept only
encrypted with FIELD_KEY, for the provider. Once a real provider has it for good, that copy is
dropped, so the database never holds the code in clear and, after delivery, not at all.

Where a message to a phone goes is decided here (:func:`messaging.contacts.route`): the
number's own choice of WhatsApp or SMS, WhatsApp falling back to SMS, one-time codes by SMS,
and nothing but essential messages to a number that sent STOP (such a message is recorded as
failed, ``recipient_opted_out``, and never sent).
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flask import current_app

from extensions import db
from jobs import coalesces_wake_ups, enqueue_after_commit, wake_after_commit
from messaging.contacts import OPTED_OUT, contacts_among, route
from messaging.delivery import DELIVER_DUE_TASK, DELIVER_MANY_TASK, DELIVER_TASK, deliver
from messaging.models import Channel, Message, MessageStatus
from messaging.templates import render
from vault import encrypt

__all__ = [
    "REDACTED",
    "Addressee",
    "deliver",
    "deliver_after_commit",
    "prepare_template",
    "queue_message",
    "queue_template",
    "queue_template_many",
    "redact",
]

REDACTED = "••••••"


def redact(body: str, secrets: Iterable[str]) -> str:
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        body = body.replace(secret, REDACTED)
    return body


def _message(
    *,
    channel: Channel,
    recipient: str,
    body: str,
    purpose: str,
    subject: str | None,
    secrets: tuple[str, ...],
    template: str | None,
    params: tuple[str, ...],
    locale: str | None,
    routed: tuple[Channel, Channel | None, bool],
) -> Message:
    """A new message row, routed; a suppressed one is already failed (never sent)."""
    channel, fallback, suppressed = routed
    message = Message(
        channel=channel,
        recipient=recipient,
        body=redact(body, secrets),
        body_sealed=encrypt(body) if secrets else None,
        purpose=purpose,
        subject=subject,
        template=template,
        locale=locale,
        params_sealed=encrypt(json.dumps(params)) if template else None,
        fallback_channel=fallback.value if fallback else None,
        status=MessageStatus.QUEUED,
        attempts=0,
    )
    if suppressed:
        message.transition(MessageStatus.FAILED)
        message.error = OPTED_OUT
        message.body_sealed = message.params_sealed = None
        message.fallback_channel = None
    return message


def queue_message(
    *,
    channel: Channel,
    recipient: str,
    body: str,
    purpose: str,
    subject: str | None = None,
    secrets: Iterable[str] = (),
    template: str | None = None,
    params: Iterable[str] = (),
    locale: str | None = None,
) -> Message:
    """Save a message for delivery after the commit; ``secrets`` are the codes ``body``
    carries (stored only encrypted). ``template`` and ``params`` name the catalogue entry the
    text was written from (WhatsApp sends them as a template message)."""
    message = _message(
        channel=channel,
        recipient=recipient,
        body=body,
        purpose=purpose,
        subject=subject,
        secrets=tuple(secrets),
        template=template,
        params=tuple(params),
        locale=locale,
        routed=route(Channel(channel), recipient, purpose),
    )
    return _save(message)


def _save(message: Message) -> Message:
    db.session.add(message)
    db.session.flush()
    return deliver_after_commit(message)


def deliver_after_commit(message: Message) -> Message:
    """A message just inserted (``prepare_template``) is delivered once the transaction
    commits, unless it was recorded as never to be sent (the number sent STOP).

    With a Redis broker, by the run of ``deliver_due`` that the commit wakes, together with the
    other messages of the requests that commit within MESSAGING_BATCH_WINDOW_S: a job per
    message cost the worker more than the message (bench/README.md, eleventh round)."""
    if message.status != MessageStatus.QUEUED:
        return message
    if coalesces_wake_ups():
        window = float(current_app.config["MESSAGING_BATCH_WINDOW_S"])
        wake_after_commit(DELIVER_DUE_TASK, within=window)
    else:
        enqueue_after_commit(DELIVER_TASK, message.id)
    return message


def queue_template(
    template_id: str,
    *,
    channel: Channel,
    recipient: str,
    purpose: str,
    locale: str,
    secrets: Iterable[str] = (),
    **params: object,
) -> Message:
    """Write the catalogue's ``template_id`` (messaging/templates.py) in ``locale`` and queue
    it; WhatsApp sends it as that template with ``params``."""
    return _save(
        prepare_template(
            template_id,
            channel=channel,
            recipient=recipient,
            purpose=purpose,
            locale=locale,
            secrets=secrets,
            **params,
        )
    )


def prepare_template(
    template_id: str,
    *,
    channel: Channel,
    recipient: str,
    purpose: str,
    locale: str,
    secrets: Iterable[str] = (),
    **params: object,
) -> Message:
    """``queue_template``'s message, routed and sealed but not yet saved: for a caller that
    inserts it together with rows of its own (``core.writing.insert_together``), then calls
    ``deliver_after_commit``."""
    rendered = render(template_id, locale, **params)
    return _message(
        channel=channel,
        recipient=recipient,
        body=rendered.body,
        subject=rendered.subject,
        purpose=purpose,
        secrets=tuple(secrets),
        template=rendered.template,
        params=rendered.params,
        locale=locale,
        routed=route(Channel(channel), recipient, purpose),
    )


@dataclass(frozen=True)
class Addressee:
    """One message of a batch written from the same template: who, in which language, and
    the template's parameters (``secrets``: the codes among them, stored only encrypted)."""

    recipient: str
    locale: str
    params: dict[str, object]
    secrets: tuple[str, ...] = field(default=())


def queue_template_many(
    template_id: str, addressees: Sequence[Addressee], *, channel: Channel, purpose: str
) -> list[Message]:
    """``queue_template`` for a whole batch: the recipients' contacts read in one query, the
    messages inserted together, and one delivery job for all of them after the commit.
    Returns the messages in the order of ``addressees``, with their ids."""
    contacts = contacts_among(a.recipient for a in addressees if channel != Channel.EMAIL)
    messages = []
    for addressee in addressees:
        rendered = render(template_id, addressee.locale, **addressee.params)
        messages.append(
            _message(
                channel=channel,
                recipient=addressee.recipient,
                body=rendered.body,
                subject=rendered.subject,
                purpose=purpose,
                secrets=addressee.secrets,
                template=rendered.template,
                params=rendered.params,
                locale=addressee.locale,
                routed=route(Channel(channel), addressee.recipient, purpose, contacts=contacts),
            )
        )
    db.session.add_all(messages)
    db.session.flush()  # one multi-row INSERT … RETURNING id
    queued = [m.id for m in messages if m.status == MessageStatus.QUEUED]
    if queued:
        enqueue_after_commit(DELIVER_MANY_TASK, queued)
    return messages
