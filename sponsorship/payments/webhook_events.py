"""Taking Stripe's webhook events and Xendit's payment callbacks, each once (the routes are in
``sponsorship.payments.webhooks``).

The signature is checked on the raw body before anything else; a request that fails it
changes nothing. An event is only a hint: the intent is retrieved again from Stripe and its
current state is recorded (``payments.apply_intent``), so events that arrive twice, late or
out of order cannot move an order backwards or pay it twice. The event id is stored under a
unique constraint in the same transaction as its effect; if handling fails, nothing is stored
and Stripe sends the event again.

Xendit's callbacks follow the same rules: the ``x-callback-token`` is checked first (a wrong or
missing one gets 401 and changes nothing); the callback is checked against the payment it
names (order reference, amount, rupiah); its id (event and Xendit payment id) is stored in the
same table, prefixed ``xnd:``; the payment request is retrieved again and applied by
``local.apply_local``.
"""

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import select

from extensions import db, utcnow
from sponsorship.checkout.models import Order, Payment, StripeEvent, insert_or_ignore
from sponsorship.payments.gateway_types import (
    InvalidWebhook,
    PaymentGatewayError,
)
from sponsorship.payments.gateways import XENDIT
from sponsorship.payments.local import apply_local
from sponsorship.payments.services import apply_intent
from sponsorship.payments.stripe_gateway import (
    gateway_from_config,
)
from sponsorship.payments.xendit_gateway import xendit_from_config

log = logging.getLogger("sponsorship.payments.webhooks")

PAYMENT_INTENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
    }
)


@dataclass(frozen=True)
class WebhookResult:
    status_code: int
    detail: str


def receive_webhook(payload: bytes, signature_header: str | None) -> WebhookResult:
    """Verify, de-duplicate and apply one Stripe event. Flushes; the caller commits."""
    gateway = gateway_from_config()
    try:
        event = gateway.parse_webhook(payload, signature_header)
    except InvalidWebhook as refused:
        log.warning("stripe webhook refused: %s", refused)
        return WebhookResult(400, "invalid")
    if db.session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event.id)):
        return WebhookResult(200, "duplicate")
    payment = intent = None
    if event.type in PAYMENT_INTENT_EVENTS and event.object_id:
        payment = db.session.scalar(
            select(Payment).where(Payment.provider_payment_id == event.object_id)
        )
        if payment is not None:
            try:
                intent = gateway.retrieve_payment_intent(event.object_id)
            except PaymentGatewayError as error:
                log.warning("stripe event %s: intent not retrieved: %s", event.id, error)
                return WebhookResult(503, "retry")
    if not _record(event.id, event.type, event.object_id):
        return WebhookResult(200, "duplicate")
    if payment is not None and intent is not None:
        order = db.session.get(Order, payment.order_id)
        if order is not None:
            apply_intent(order, payment, intent)
    db.session.flush()
    return WebhookResult(200, "ok")


def _record(event_id: str, event_type: str, object_id: str | None) -> bool:
    """Store the event id; False when another delivery of it got there first."""
    values = {
        "event_id": event_id,
        "type": event_type[:64],
        "object_id": object_id[:64] if object_id else None,
        "received_at": utcnow(),
    }
    return insert_or_ignore(StripeEvent, values, "event_id")


def receive_xendit_callback(payload: bytes, token: str | None) -> WebhookResult:
    """Verify, check, de-duplicate and apply one Xendit callback. Flushes; the caller commits
    (or rolls back on a 503, so Xendit delivers it again)."""
    gateway = xendit_from_config()
    try:
        callback = gateway.parse_callback(payload, token)
    except InvalidWebhook as refused:
        log.warning("xendit callback refused: %s", refused)
        return WebhookResult(401, "invalid")
    key = callback_key(callback.id)
    if db.session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == key)):
        return WebhookResult(200, "duplicate")
    payment = db.session.scalar(
        select(Payment).where(
            Payment.provider_payment_id == callback.payment_request_id,
            Payment.provider == XENDIT,
        )
    )
    order = db.session.get(Order, payment.order_id) if payment is not None else None
    if payment is None or order is None:
        _record(key, callback.event, callback.payment_request_id)
        return WebhookResult(200, "ignored")
    if (
        callback.currency != "IDR"
        or callback.amount_idr != payment.amount_idr
        or callback.reference_id != order.reference
    ):
        log.error("xendit callback %s does not match order %s", callback.id, order.reference)
        return WebhookResult(400, "mismatch")
    try:
        info = gateway.retrieve_payment(callback.payment_request_id)
    except PaymentGatewayError as error:
        log.warning("xendit callback %s: request not retrieved: %s", callback.id, error)
        return WebhookResult(503, "retry")
    if not _record(key, callback.event, callback.payment_request_id):
        return WebhookResult(200, "duplicate")
    apply_local(order, payment, info)
    db.session.flush()
    return WebhookResult(200, "ok")


def callback_key(callback_id: str) -> str:
    key = f"xnd:{callback_id}"
    return key if len(key) <= 64 else "xnd:" + hashlib.sha256(key.encode()).hexdigest()[:60]
