"""Paying an order the way most Indonesians pay: QRIS, a bank virtual account or an e-wallet,
through Xendit (``xendit_gateway``), and learning that the money arrived.

``start_local_payment`` asks Xendit for a QRIS code, a VA number or an e-wallet page and keeps
it on a ``Payment`` (gateway "xendit"). Whoever learns first that the money arrived — the
callback, the pay page's poll, or the sponsor's "I have paid" button — retrieves the payment
request again from Xendit and calls ``apply_local``, which only one of them wins.

The rule for money that arrives when the order cannot take it: a local payment is honoured
when its order is still waiting for payment and its prices still hold (``Order.expires_at``
plus the hour of grace cards get). Otherwise — the order was cancelled, already paid by
another payment (the sponsor paid both a QRIS code and a VA), or its prices expired (a VA paid
after it expired, which banks do settle late) — the money goes straight back, in full, through
Xendit: the payment becomes REFUNDED (never counted as paid) with the refund's id.

Services flush; the caller commits. Xendit calls happen before the writes they lead to, except
the automatic refund, which is claimed first (one guarded UPDATE) so it is made once.
"""

import logging
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core.links import absolute_url
from extensions import db, utcnow
from sponsorship.checkout.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    claim_order_transition,
    mark_payment_succeeded,
)
from sponsorship.payments.gateway_types import (
    LOCAL_CHANNELS,
    LocalPaymentInfo,
    LocalStatus,
    PaymentGatewayError,
    PayMethod,
)
from sponsorship.payments.gateways import XENDIT, record_payment
from sponsorship.payments.services import (
    CONFIRM_GRACE,
    Outcome,
    PaymentError,
    is_expired,
    start_fulfillment,
)
from sponsorship.payments.xendit_gateway import xendit_from_config

log = logging.getLogger(__name__)

REUSE_MARGIN = timedelta(minutes=10)  # a code about to expire is not shown again
UNAVAILABLE = _l("The payment service is not available. Please try again.")


def start_local_payment(
    order: Order, method: str, channel: str, *, expires_at: datetime | None = None
) -> Payment:
    """The order's open QRIS code, VA or e-wallet payment for ``method`` and ``channel``,
    asked of Xendit unless one is still open; flushed, not committed.

    ``method`` is "qris" (channel "QRIS"), "va" ("BCA", "BNI", "BRI", "MANDIRI") or
    "ewallet" ("OVO", "DANA", "SHOPEEPAY"); ValueError otherwise. ``expires_at`` (UTC; a naive
    one is read as UTC) bounds it, by default ``LOCAL_PAYMENT_HOURS`` from the start of this
    hour but never past the order's prices. The Payment's ``expires_at`` is, like every time
    in Payung, an aware UTC datetime. Raises PaymentError (a message for the sponsor) when the
    order cannot be paid or Xendit is unavailable.
    """
    pay_method = PayMethod(method)
    if channel not in LOCAL_CHANNELS.get(pay_method, ()):
        raise ValueError(f"{method!r} has no channel {channel!r}")
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise PaymentError(_l("This order is not waiting for a payment."))
    if is_expired(order):
        raise PaymentError(_l("The prices of this order have expired."))
    now = utcnow()
    deadline = _deadline(order, expires_at, now)
    if deadline <= now:
        raise PaymentError(_l("The prices of this order have expired."))
    found = _open_payment(order, pay_method, channel, now)
    if found is not None:
        return found
    tried = db.session.scalar(
        select(func.count(Payment.id)).where(
            Payment.order_id == order.id, Payment.provider == XENDIT
        )
    )
    try:
        info = xendit_from_config().create_payment(
            amount_idr=order.total_idr,
            order_reference=order.reference,
            method=pay_method,
            channel=channel,
            # The deadline is part of the request, so it is part of the key: a retry after a
            # lost answer (same hour, same deadline) gets the same code back from Xendit.
            idempotency_key=(
                f"order-{order.reference}-{method}-{channel}-{tried}-{deadline:%Y%m%d%H%M%S}"
            ),
            expires_at=deadline,
            return_url=absolute_url("checkout.local_return", reference=order.reference),
            metadata={"order_id": str(order.id)},
        )
    except PaymentGatewayError as error:
        log.warning("local payment for %s refused: %s", order.reference, error)
        raise PaymentError(UNAVAILABLE) from None
    if info.reference_id != order.reference or info.amount_idr != order.total_idr:
        log.error("payment request %s does not match order %s", info.id, order.reference)
        raise PaymentError(UNAVAILABLE)
    payment = record_payment(
        order.id,
        gateway=XENDIT,
        provider_payment_id=info.id,
        amount_idr=info.amount_idr,
        method=pay_method,
        channel=channel,
        va_number=info.va_number,
        qr_string=info.qr_string,
        redirect_url=info.redirect_url,
        expires_at=info.expires_at or deadline,
    )
    db.session.flush()
    return payment


def _deadline(order: Order, expires_at: datetime | None, now: datetime) -> datetime:
    if expires_at is not None:
        return expires_at.replace(tzinfo=UTC) if expires_at.tzinfo is None else expires_at
    # From the start of this hour: the same for a retry a moment later (see the key).
    hour = now.replace(minute=0, second=0, microsecond=0)
    deadline = hour + timedelta(hours=current_app.config.get("LOCAL_PAYMENT_HOURS", 24))
    if order.expires_at is not None:
        deadline = min(deadline, order.expires_at)
    return deadline


def _open_payment(order: Order, method: PayMethod, channel: str, now: datetime) -> Payment | None:
    """A payment for the same method and channel still open for a while (a reloaded page)."""
    return db.session.scalar(
        select(Payment)
        .where(
            Payment.order_id == order.id,
            Payment.provider == XENDIT,
            Payment.method == str(method),
            Payment.channel == channel,
            Payment.status == PaymentStatus.PENDING,
            Payment.expires_at > now + REUSE_MARGIN,
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )


def local_payment_of(order: Order, payment_id: int) -> Payment | None:
    """The order's own Xendit payment with this id, or None (another order's is None too)."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.order_id != order.id or payment.gateway != XENDIT:
        return None
    return payment


def open_local_payment(order: Order) -> Payment | None:
    """The newest local payment of the order that can still be paid, for its pay page."""
    return db.session.scalar(
        select(Payment)
        .where(
            Payment.order_id == order.id,
            Payment.provider == XENDIT,
            Payment.status == PaymentStatus.PENDING,
            Payment.expires_at > utcnow(),
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )


def settle_local(order: Order, payment: Payment) -> Outcome:
    """Ask Xendit how ``payment`` stands and record it (the poll and "I have paid")."""
    try:
        info = xendit_from_config().retrieve_payment(payment.provider_payment_id)
    except PaymentGatewayError:
        raise PaymentError(UNAVAILABLE) from None
    return apply_local(order, payment, info)


def sync_local_payments(order: Order) -> Outcome:
    """Settle every open local payment of the order; SUCCEEDED as soon as the order is paid."""
    pending = db.session.scalars(
        select(Payment).where(
            Payment.order_id == order.id,
            Payment.provider == XENDIT,
            Payment.status == PaymentStatus.PENDING,
        )
    ).all()
    outcome = Outcome.SUCCEEDED if order.is_paid else Outcome.UNPAID
    for payment in pending:
        if settle_local(order, payment) is Outcome.SUCCEEDED:
            outcome = Outcome.SUCCEEDED
    return outcome


def apply_local(order: Order, payment: Payment, info: LocalPaymentInfo) -> Outcome:
    """Record ``info`` (freshly retrieved from Xendit) for ``payment`` of ``order``: paid once,
    refused, or money the order cannot take, given back (the rule above). Repeated or stale
    news changes nothing. A payment request for another order, amount or currency (the
    gateway only returns rupiah) never pays anything."""
    if (
        info.id != payment.provider_payment_id
        or info.reference_id != order.reference
        or info.amount_idr != payment.amount_idr
        or payment.order_id != order.id
    ):
        log.error("payment request %s does not match order %s", info.id, order.reference)
        return Outcome.UNPAID
    if info.status is LocalStatus.SUCCEEDED:
        return _money_arrived(order, payment)
    if info.status is LocalStatus.FAILED and payment.status == PaymentStatus.PENDING:
        payment.transition(PaymentStatus.FAILED)
        payment.failure_message = (info.failure_code or "failed")[:200]
        db.session.flush()
    if order.is_paid:
        return Outcome.SUCCEEDED
    if info.status is LocalStatus.FAILED:
        return Outcome.DECLINED
    return Outcome.PROCESSING if info.status is LocalStatus.PENDING else Outcome.UNPAID


def _money_arrived(order: Order, payment: Payment) -> Outcome:
    # PostgreSQL: wait here for anyone else settling this order (see mark_order_paid).
    db.session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    db.session.refresh(order)
    db.session.refresh(payment)
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
        return Outcome.SUCCEEDED if order.is_paid else Outcome.CANCELLED
    can_take = (
        payment.amount_idr == order.total_idr
        and order.status == OrderStatus.AWAITING_PAYMENT
        and not is_expired(order, grace=CONFIRM_GRACE)
    )
    if can_take and claim_order_transition(
        order.id, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID
    ):
        db.session.refresh(order)
        mark_payment_succeeded(payment.provider_payment_id)
        start_fulfillment(order)
        db.session.flush()
        db.session.refresh(payment)
        return Outcome.SUCCEEDED
    _give_back(order, payment)
    db.session.refresh(order)
    return Outcome.SUCCEEDED if order.is_paid else Outcome.CANCELLED


def _give_back(order: Order, payment: Payment) -> None:
    """Refund the whole payment through Xendit, once: the move to REFUNDED is claimed first.
    Raises PaymentGatewayError when Xendit refuses; the caller rolls back (the callback
    answers 503 and Xendit delivers it again)."""
    if not mark_payment_succeeded(payment.provider_payment_id, PaymentStatus.REFUNDED):
        return
    log.warning(
        "payment %s arrived for order %s (%s), which cannot take it: refunded",
        payment.provider_payment_id,
        order.reference,
        order.status,
    )
    info = xendit_from_config().refund(
        payment_intent_id=payment.provider_payment_id,
        amount_idr=payment.amount_idr,
        idempotency_key=f"refund-{payment.provider_payment_id}-unusable",
        reason=f"order {order.reference} could not take this payment",
    )
    db.session.refresh(payment)
    payment.auto_refund_id = info.id
    db.session.flush()
