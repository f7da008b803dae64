"""Delivering a queued message, and what providers report afterwards.

queued → sent → delivered / failed, through ``Message.transition`` only:

- a provider error that may pass (no answer, 5xx, 429) keeps the message queued, tried again
  after an exponential backoff (MESSAGING_RETRY_BASE_S doubling up to MESSAGING_RETRY_CAP_S), at
  most MESSAGING_MAX_ATTEMPTS times; any other refusal fails it at once with the provider's
  reason;
- a WhatsApp message that fails, or is not reported delivered within
  MESSAGING_FALLBACK_AFTER_S, is queued again once on SMS (its fallback channel);
- every request to a provider carries the key ``payung-<id>-<channel>``, the same on every
  retry, so a provider that got a request whose answer was lost does not send it twice; a
  report for a channel the message has left is ignored, and a delivered message never moves:
  one delivered copy per message id.

The sealed copy of the text (codes included) is kept while another attempt may need it, and
dropped once the message is delivered or failed for good (the outbox adapter keeps it to show).
"""

import json
import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select

from core.locking import begin_write, lock_row
from extensions import db, utcnow
from jobs import enqueue_after_commit
from messaging.channels import Outgoing, Receipt, SendError
from messaging.channels.email import SmtpAdapter
from messaging.channels.legacy import HttpGatewayAdapter
from messaging.channels.outbox import OutboxAdapter
from messaging.channels.sms import SmsAdapter
from messaging.channels.whatsapp import WhatsAppAdapter
from messaging.contacts import ESSENTIAL_PURPOSES, OPTED_OUT, is_stopped
from messaging.models import Channel, Message, MessageStatus
from vault import decrypt

log = logging.getLogger(__name__)

DELIVER_TASK = "fulfillment.deliver_message"
DELIVER_MANY_TASK = "sponsorship.deliver_messages"  # a batch of messages, one job
DELIVER_DUE_TASK = "messaging.deliver_due"  # every queued message due (jobs.wake_after_commit)
SMS_REPORTS_PATH = "/messaging/sms/reports"
# Messages that carry a one-time code (sign-in, a worker's new phone number): never sent after
# the code has expired.
ONE_TIME_CODE_PURPOSES = frozenset({"sign_in", "phone_change"})
CODE_EXPIRED = "expired: its one-time code no longer works"


def adapter_for(channel: str) -> object:
    """The configured adapter of ``channel``; the outbox when it has none."""
    config = current_app.config
    timeout = float(config["MESSAGING_TIMEOUT_S"])
    if channel == Channel.WHATSAPP and config.get("WHATSAPP_API_URL"):
        return WhatsAppAdapter(
            base_url=config["WHATSAPP_API_URL"],
            version=config["WHATSAPP_API_VERSION"],
            phone_number_id=str(config["WHATSAPP_PHONE_NUMBER_ID"]),
            access_token=str(config["WHATSAPP_ACCESS_TOKEN"]),
            timeout_seconds=timeout,
        )
    if channel == Channel.SMS and config.get("SMS_API_URL"):
        return SmsAdapter(
            base_url=config["SMS_API_URL"],
            api_key=str(config["SMS_API_KEY"]),
            sender_id=config["SMS_SENDER_ID"],
            timeout_seconds=timeout,
        )
    if channel == Channel.EMAIL and config.get("SMTP_HOST"):
        return SmtpAdapter(
            host=config["SMTP_HOST"],
            port=int(config["SMTP_PORT"]),
            sender=config["MAIL_FROM"],
            username=config.get("SMTP_USERNAME"),
            password=config.get("SMTP_PASSWORD"),
            starttls=bool(config["SMTP_STARTTLS"]),
            timeout_seconds=timeout,
        )
    if config.get("SMS_GATEWAY_URL"):
        return HttpGatewayAdapter(
            url=config["SMS_GATEWAY_URL"], token=config.get("SMS_GATEWAY_TOKEN"), channel=channel
        )
    return OutboxAdapter()


def callback_base() -> str | None:
    config = current_app.config
    return config.get("MESSAGING_CALLBACK_BASE_URL") or config.get("PARTNER_CALLBACK_BASE_URL")


def outgoing(message: Message) -> Outgoing:
    params = tuple(json.loads(decrypt(message.params_sealed))) if message.params_sealed else ()
    base = callback_base()
    return Outgoing(
        message_id=message.id,
        recipient=message.recipient,
        text=message.full_body(),
        subject=message.subject,
        locale=message.locale or current_app.config["BABEL_DEFAULT_LOCALE"],
        template=message.template,
        params=params,
        callback_url=base.rstrip("/") + SMS_REPORTS_PATH if base else None,
        idempotency_key=f"payung-{message.id}-{message.channel}",
    )


def backoff(attempts: int) -> timedelta:
    config = current_app.config
    base = float(config["MESSAGING_RETRY_BASE_S"])
    return timedelta(
        seconds=min(float(config["MESSAGING_RETRY_CAP_S"]), base * 2 ** (attempts - 1))
    )


def _forget_text(message: Message) -> None:
    message.body_sealed = None
    message.params_sealed = None


def deliver(
    message: Message, *, now: datetime | None = None, stopped: set[str] | None = None
) -> None:
    """One attempt at a queued message whose time has come; never raises a provider error.
    ``stopped``: the numbers of a batch that sent STOP, when the caller looked them up."""
    now = now or utcnow()
    if message.status != MessageStatus.QUEUED:
        return
    if message.next_attempt_at is not None and message.next_attempt_at > now:
        return
    if _code_expired(message, now):
        fail(message, CODE_EXPIRED, fall_back=False)
        return
    if (
        message.channel != Channel.EMAIL
        and message.purpose not in ESSENTIAL_PURPOSES
        and (message.recipient in stopped if stopped is not None else is_stopped(message.recipient))
    ):  # rows written in bulk (lapse alerts) meet the opt-out here
        fail(message, OPTED_OUT, fall_back=False)
        return
    adapter = adapter_for(message.channel)
    message.attempts += 1
    try:
        receipt: Receipt = adapter.send(outgoing(message))  # type: ignore[attr-defined]
    except SendError as error:
        reason = f"{message.channel}: {error.reason}"[:200]
        log.warning("message %s not sent (%s)", message.id, reason)
        if error.transient and message.attempts < int(current_app.config["MESSAGING_MAX_ATTEMPTS"]):
            wait = backoff(message.attempts)
            message.error = reason
            message.next_attempt_at = now + wait
            enqueue_after_commit(DELIVER_TASK, message.id, countdown=wait.total_seconds())
            return
        fail(message, reason)
        return
    message.provider_reference = receipt.reference[:100]
    message.transition(MessageStatus.SENT)
    message.sent_at = now
    message.next_attempt_at = None
    if not receipt.reports:  # nothing will say it arrived: nothing to fall back on
        message.fallback_channel = None
    if receipt.delivered:
        mark_delivered(message, now=now)
    elif message.fallback_channel:
        message.fallback_at = now + timedelta(
            seconds=float(current_app.config["MESSAGING_FALLBACK_AFTER_S"])
        )
    if not receipt.keeps_text and not message.fallback_channel:
        _forget_text(message)


def _code_expired(message: Message, now: datetime) -> bool:
    """A one-time code's text older than the code (OTP_TTL_SECONDS): held up by an outage (the
    broker, the provider's retries), it would reach the worker with a code that no longer
    works. It is not sent; the worker asks for a new one."""
    if message.purpose not in ONE_TIME_CODE_PURPOSES or message.created_at is None:
        return False
    lifetime = timedelta(seconds=int(current_app.config["OTP_TTL_SECONDS"]))
    return now - message.created_at > lifetime


def lock_due(*, limit: int, now: datetime) -> list[Message]:
    """Up to ``limit`` queued messages whose time has come, oldest first, locked until the
    commit. On PostgreSQL rows another transaction holds are skipped: it is delivering them."""
    begin_write()  # SQLite: the write lock instead of row locks
    return list(
        db.session.scalars(
            select(Message)
            .where(
                Message.status == MessageStatus.QUEUED,
                or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
            )
            .order_by(Message.created_at, Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True, key_share=True)
        )
    )


def mark_delivered(message: Message, *, now: datetime) -> None:
    if message.status == MessageStatus.DELIVERED:
        return
    message.transition(MessageStatus.DELIVERED)
    message.delivered_at = now
    message.fallback_channel = None
    message.fallback_at = None
    if not (message.provider_reference or "").startswith("outbox-"):
        _forget_text(message)


def fail(message: Message, reason: str, *, fall_back: bool = True) -> None:
    """Failed on this channel: on to the fallback channel if there is one, else for good."""
    message.error = reason[:200]
    message.transition(MessageStatus.FAILED)
    message.next_attempt_at = None
    if message.fallback_channel and fall_back:
        message.channel = Channel(message.fallback_channel)
        message.fallback_channel = None
        message.fallback_at = None
        message.provider_reference = None
        message.attempts = 0
        message.transition(MessageStatus.QUEUED)
        enqueue_after_commit(DELIVER_TASK, message.id)
        return
    message.fallback_channel = None
    message.fallback_at = None
    _forget_text(message)


def apply_report(
    channel: Channel,
    reference: str | None,
    provider_reference: str,
    status: str,
    reason: str | None,
    *,
    now: datetime | None = None,
) -> Message | None:
    """A provider's status report; reports of a channel the message has left, and reports
    after it was delivered, change nothing."""
    message = _reported_message(channel, reference, provider_reference)
    if message is None or message.channel != channel:
        return None
    if message.provider_reference and message.provider_reference != provider_reference:
        return None
    if message.status not in (MessageStatus.QUEUED, MessageStatus.SENT):
        return message
    if status in ("delivered", "read"):
        mark_delivered(message, now=now or utcnow())
    elif status in ("failed", "undelivered", "rejected"):
        fail(message, f"{channel}: {reason or status}")
    return message


def _reported_message(
    channel: Channel, reference: str | None, provider_reference: str
) -> Message | None:
    if reference and reference.startswith("msg-") and reference[4:].isdigit():
        return lock_row(Message, int(reference[4:]))
    message_id = db.session.scalar(
        select(Message.id).where(
            Message.channel == channel, Message.provider_reference == provider_reference
        )
    )
    return lock_row(Message, message_id) if message_id else None


def sweep(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Fall back what WhatsApp has not delivered in time; try again what waited its backoff."""
    now = now or utcnow()
    overdue = db.session.scalars(
        select(Message.id)
        .where(
            Message.status == MessageStatus.SENT,
            Message.fallback_channel.is_not(None),
            Message.fallback_at <= now,
        )
        .order_by(Message.id)
        .limit(limit)
    ).all()
    fallen = 0
    for message_id in overdue:
        message = lock_row(Message, message_id)
        if message is not None and message.status == MessageStatus.SENT:
            seconds = int(current_app.config["MESSAGING_FALLBACK_AFTER_S"])
            fail(message, f"{message.channel}: not delivered within {seconds} s")
            fallen += 1
    due = db.session.scalars(
        select(Message.id)
        .where(Message.status == MessageStatus.QUEUED, Message.next_attempt_at <= now)
        .order_by(Message.id)
        .limit(limit)
    ).all()
    for message_id in due:
        enqueue_after_commit(DELIVER_TASK, message_id)
    return {"fell_back": fallen, "retried": len(due)}
