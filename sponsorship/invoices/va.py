"""The virtual account an invoice is paid by, opened at the local gateway (Xendit, through
``sponsorship.payments.local.start_local_payment``).

The VA is an ordinary local payment of the order: paying it settles the order through the
gateway's own paths (its callback, the pay page's check), exactly once, whatever the invoice
says. When the gateway cannot be reached, the invoice is issued without a VA and its page
offers to open one again.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from sponsorship.checkout.models import Order
from sponsorship.payments.local import start_local_payment
from sponsorship.payments.services import PaymentError

log = logging.getLogger(__name__)

BANKS = ("BCA", "BNI", "BRI", "MANDIRI")
DEFAULT_BANK = "BCA"


@dataclass(frozen=True, slots=True)
class VirtualAccount:
    bank: str
    number: str
    amount_idr: int
    expires_at: datetime
    payment_id: int


def open_virtual_account(order: Order, bank: str, expires_at: datetime) -> VirtualAccount | None:
    """A VA at ``bank`` for the order's total, open until ``expires_at``; None when none can
    be opened now (the invoice says so and offers to try again)."""
    try:
        payment = start_local_payment(order, "va", bank, expires_at=expires_at)
    except PaymentError as refused:
        log.warning("no virtual account for order %s: %s", order.reference, refused)
        return None
    if not payment.va_number:
        log.error("payment %s for order %s came without a VA number", payment.id, order.reference)
        return None
    return VirtualAccount(
        bank=payment.channel or bank,
        number=payment.va_number,
        amount_idr=payment.amount_idr,
        expires_at=payment.expires_at or expires_at,
        payment_id=payment.id,
    )
