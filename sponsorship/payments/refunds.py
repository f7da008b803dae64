"""Money given back to sponsors through the gateway that took it (Stripe for cards, Xendit for
QRIS, VAs and e-wallets: ``gateways.refund_payment``).

``refund_order_line_part`` gives back exactly one part's price (a part that could not be
delivered). The ``Refund`` row is unique per part and the Stripe call carries an idempotency key
derived from the part id, so a part is never refunded twice: not by a retried job, not by two
workers at once, not by an admin clicking twice. Services flush; the caller commits.
"""

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import func, select

from extensions import db
from sponsorship.checkout.models import (
    Order,
    OrderLinePart,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    claim_order_transition,
)
from sponsorship.payments.gateway_types import (
    PaymentDeclined,
    PaymentGatewayError,
)
from sponsorship.payments.gateways import refund_payment

REASON_MAX_LENGTH = 200

_MESSAGES = {
    "nothing_to_refund": _l("This part cost nothing, so there is nothing to refund."),
    "no_payment": _l("This order has no successful payment to refund."),
    "over_refund": _l("Refunding this part would give back more than was paid."),
    "gateway": _l("The payment provider did not accept the refund. Try again later."),
}


class RefundError(Exception):
    """A refund that cannot be made now; ``code`` is stable, ``message`` is for people.
    ``gateway`` is worth retrying later; the others need a person."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code

    @property
    def message(self) -> LazyString:
        return _MESSAGES[self.code]


def part_refund_key(part_id: int, payment_intent_id: str) -> str:
    """Derived from the part (and the intent, so keys stay unique across databases that
    share one Stripe account, such as staging resets)."""
    return f"refund-{payment_intent_id}-part-{part_id}"


def refund_for_part(part_id: int) -> Refund | None:
    return db.session.scalar(select(Refund).where(Refund.order_line_part_id == part_id))


def refund_order_line_part(
    part: OrderLinePart, *, reason: str, actor_id: int | None = None
) -> Refund:
    """Refund exactly ``part.amount_idr`` to the card that paid the order, once.

    Returns the existing Refund when the part was refunded before. Raises RefundError
    (``nothing_to_refund``, ``no_payment``, ``over_refund``, ``gateway``: nothing was saved),
    or IntegrityError when another transaction refunded the same part at the same moment.
    """
    existing = refund_for_part(part.id)
    if existing is not None:
        return existing
    if part.amount_idr <= 0:
        raise RefundError("nothing_to_refund")
    order = part.line.order
    # The order's row lock (PostgreSQL) lines part refunds and a full refund up one by one,
    # so what was already refunded is counted before any of them reaches Stripe.
    db.session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    payment = db.session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.status == PaymentStatus.SUCCEEDED)
        .order_by(Payment.id.desc())
        .limit(1)
    )
    if payment is None:
        raise RefundError("no_payment", f"order {order.id}")
    already = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_idr), 0)).where(Refund.order_id == order.id)
    )
    if already + part.amount_idr > payment.amount_idr:
        raise RefundError("over_refund", f"order {order.id}")

    refund = Refund(
        order_id=order.id,
        order_line_part_id=part.id,
        amount_idr=part.amount_idr,
        reason=reason[:REASON_MAX_LENGTH],
        created_by_id=actor_id,
    )
    # Claim the part first: a concurrent refund of the same part waits on the unique index
    # and then fails (IntegrityError: roll back and try again, it finds this refund) before
    # it can call Stripe. If Stripe refuses, the claim is withdrawn.
    db.session.add(refund)
    db.session.flush()
    try:
        info = refund_payment(
            payment,
            amount_idr=part.amount_idr,
            idempotency_key=part_refund_key(part.id, payment.provider_payment_id),
            reason=reason[:REASON_MAX_LENGTH],
        )
    except (PaymentGatewayError, PaymentDeclined) as error:
        db.session.delete(refund)
        db.session.flush()
        raise RefundError("gateway", str(error)) from error
    refund.provider_refund_id = info.id
    db.session.flush()
    if already + part.amount_idr >= payment.amount_idr:
        _refunded_in_full(order)
    return refund


def _refunded_in_full(order: Order) -> None:
    """Part refunds gave back everything that was paid: the order is refunded, not done."""
    status = db.session.scalar(select(Order.status).where(Order.id == order.id))
    if status in REFUNDABLE_ORDER_STATUSES:
        claim_order_transition(order.id, OrderStatus(status), OrderStatus.REFUNDED)
    db.session.refresh(order)


# --- full refunds (admin) ----------------------------------------------------------------

REFUNDABLE_ORDER_STATUSES = (OrderStatus.PAID, OrderStatus.FULFILLING, OrderStatus.FULFILLED)


def order_refund_key(order_id: int, payment_intent_id: str) -> str:
    return f"refund-{payment_intent_id}-order-{order_id}"


def refund_order(order: Order, *, reason: str, actor_id: int | None) -> Refund | None:
    """Give back everything of the order's payment not refunded yet, once, and mark the order
    refunded. Returns the new Refund; None when the order was refunded already (or earlier
    part refunds gave back everything).

    The move to REFUNDED is claimed first with a guarded UPDATE (after a row lock on
    PostgreSQL), so of two admins clicking at once only one reaches Stripe, and the Stripe call
    carries an idempotency key derived from the order. The amount is capped at what was paid
    minus what was refunded (localstripe would accept more). Raises RefundError
    (``no_payment``, ``gateway``); the caller then rolls back, and nothing is saved.
    """
    db.session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    db.session.refresh(order)
    if order.status == OrderStatus.REFUNDED:
        return None
    if order.status not in REFUNDABLE_ORDER_STATUSES:
        raise RefundError("no_payment", f"order {order.id} is {order.status}")
    payment = db.session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.status == PaymentStatus.SUCCEEDED)
        .order_by(Payment.id.desc())
        .limit(1)
    )
    if payment is None:
        raise RefundError("no_payment", f"order {order.id}")
    if not claim_order_transition(order.id, OrderStatus(order.status), OrderStatus.REFUNDED):
        db.session.refresh(order)
        return None
    # Read what was refunded only now, holding the claim, so a part refund that committed
    # meanwhile is counted.
    already = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_idr), 0)).where(Refund.order_id == order.id)
    )
    remaining = min(payment.amount_idr, order.total_idr) - already
    refund = None
    if remaining > 0:
        try:
            info = refund_payment(
                payment,
                amount_idr=remaining,
                idempotency_key=order_refund_key(order.id, payment.provider_payment_id),
                reason=reason[:REASON_MAX_LENGTH],
            )
        except (PaymentGatewayError, PaymentDeclined) as error:
            raise RefundError("gateway", str(error)) from error
        refund = Refund(
            order_id=order.id,
            amount_idr=remaining,
            reason=reason[:REASON_MAX_LENGTH],
            provider_refund_id=info.id,
            created_by_id=actor_id,
        )
        db.session.add(refund)
    db.session.flush()
    db.session.refresh(order)
    return refund
