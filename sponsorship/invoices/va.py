"""The virtual account an invoice is paid by, opened at the local gateway.

The gateway (``sponsorship.payments.local``) is another branch's work: until it is merged,
invoices are issued without a virtual account and say how to ask for one again.
"""

from dataclasses import dataclass
from datetime import datetime

from sponsorship.checkout.models import Order

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
    return None
