"""Which gateway took the money, so that nothing after the payment needs to care.

A ``Payment`` row names its ``gateway`` ("stripe" for cards, "xendit" for QRIS, VAs and
e-wallets), its ``method`` and ``channel``. ``record_payment`` is the one way a payment row is
written (checkout, renewals, local payments); ``refund_payment`` gives money back through the
gateway that took it, with the same idempotency key rules for both.
"""

from datetime import datetime
from typing import Protocol

from sqlalchemy import select

from extensions import db, utcnow
from sponsorship.checkout.models import Payment, PaymentStatus, insert_or_ignore
from sponsorship.payments.gateway_types import PayMethod, RefundInfo
from sponsorship.payments.stripe_gateway import gateway_from_config
from sponsorship.payments.xendit_gateway import xendit_from_config

STRIPE = "stripe"
XENDIT = "xendit"


class RefundingGateway(Protocol):
    def refund(
        self, *, payment_intent_id: str, amount_idr: int, idempotency_key: str, reason: str
    ) -> RefundInfo: ...


def gateway_for(payment: Payment) -> RefundingGateway:
    if payment.gateway == XENDIT:
        return xendit_from_config()
    if payment.gateway == STRIPE:
        return gateway_from_config()
    raise ValueError(f"payment {payment.id} has an unknown gateway {payment.gateway!r}")


def refund_payment(
    payment: Payment, *, amount_idr: int, idempotency_key: str, reason: str
) -> RefundInfo:
    """Give back ``amount_idr`` of ``payment`` through the gateway that took it. Raises
    PaymentGatewayError (or PaymentDeclined) when the gateway refuses."""
    return gateway_for(payment).refund(
        payment_intent_id=payment.provider_payment_id,
        amount_idr=amount_idr,
        idempotency_key=idempotency_key,
        reason=reason,
    )


def record_payment(
    order_id: int,
    *,
    gateway: str,
    provider_payment_id: str,
    amount_idr: int,
    method: PayMethod = PayMethod.CARD,
    channel: str | None = None,
    attempts: int = 0,
    va_number: str | None = None,
    qr_string: str | None = None,
    redirect_url: str | None = None,
    expires_at: datetime | None = None,
) -> Payment:
    """The pending payment row for a gateway's payment id, written once: two requests that
    record the same id at once get the same row (``INSERT … ON CONFLICT DO NOTHING``)."""
    now = utcnow()
    insert_or_ignore(
        Payment,
        {
            "order_id": order_id,
            "provider": gateway,
            "provider_payment_id": provider_payment_id,
            "amount_idr": amount_idr,
            "status": PaymentStatus.PENDING,
            "attempts": attempts,
            "method": str(method),
            "channel": channel,
            "va_number": va_number,
            "qr_string": qr_string,
            "redirect_url": redirect_url,
            "expires_at": expires_at,
            "created_at": now,
            "updated_at": now,
        },
        "provider_payment_id",
    )
    return db.session.scalars(
        select(Payment).where(Payment.provider_payment_id == provider_payment_id)
    ).one()
