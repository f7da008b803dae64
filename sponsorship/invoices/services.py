"""Issuing invoices: when an order gets one, its number, dates, buyer and virtual account.

An order awaiting payment gets an invoice when its total reaches ``INVOICE_THRESHOLD_IDR``
(on placing it) or when the sponsor asks for one. It is due ``INVOICE_DUE_DAYS`` after it is
issued, or when the first month's dues fall due if that comes first. Issuing extends the
order's hold on its prices and pool codes (``CHECKOUT_ORDER_HOLD_HOURS`` otherwise) to that
moment, so an invoice never asks for money the order would refuse, and is not due in three
days because the card checkout holds prices that long. Issuing is once per order, whoever asks
at the same moment (the order row is locked first).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select

from accounts.models import ORGANISATION_KINDS, User
from accounts.organisations import organisation_of, sponsor_kind
from core.dates import JAKARTA, jakarta_today
from core.locking import lock_row
from extensions import db
from sponsorship.checkout import orders
from sponsorship.checkout.models import Order, OrderStatus
from sponsorship.checkout.services import extend_hold
from sponsorship.invoices.models import Invoice
from sponsorship.invoices.numbering import format_number, next_sequence, period_of
from sponsorship.invoices.va import BANKS, DEFAULT_BANK, VirtualAccount, open_virtual_account
from sponsorship.payments.receipts import ReceiptLine, order_receipt
from sponsorship.payments.services import is_expired

TICKED = frozenset({"y", "yes", "on", "1", "true"})


class InvoiceError(Exception):
    def __init__(self, message: LazyString) -> None:
        super().__init__(message)
        self.message = message


def threshold_idr() -> int:
    return int(current_app.config["INVOICE_THRESHOLD_IDR"])


def due_days() -> int:
    return int(current_app.config["INVOICE_DUE_DAYS"])


def invoice_of(order: Order | None) -> Invoice | None:
    if order is None or order.id is None:
        return None
    return db.session.scalar(select(Invoice).where(Invoice.order_id == order.id))


def bank_or_default(bank: str | None) -> str:
    chosen = (bank or "").strip().upper()
    return chosen if chosen in BANKS else DEFAULT_BANK


def due_moment(order: Order, issued_on: date) -> datetime:
    """The end of the due day, or the moment the order's prices expire if earlier."""
    end = _end_of_term(issued_on)
    if order.expires_at is not None and order.expires_at < end:
        return order.expires_at
    return end


def _end_of_term(issued_on: date) -> datetime:
    return datetime.combine(issued_on + timedelta(days=due_days()), time.max, tzinfo=JAKARTA)


def issue_invoice(
    order: Order, *, bank: str | None = None, on_request: bool = False, today: date | None = None
) -> Invoice:
    """The order's invoice, issued now if it has none. Raises InvoiceError for an order that
    is paid, cancelled or expired."""
    existing = invoice_of(order)
    if existing is not None:
        return existing
    locked = lock_row(Order, order.id)
    if locked is None or locked.status != OrderStatus.AWAITING_PAYMENT:
        raise InvoiceError(_l("Only an order that waits for payment can get an invoice."))
    if is_expired(locked):
        raise InvoiceError(_l("The prices of this order have expired: it cannot be invoiced."))
    existing = invoice_of(locked)  # issued by someone else while we waited for the lock
    if existing is not None:
        return existing
    issued_on = today or jakarta_today()
    # An invoice is paid by transfer on its own terms: the order holds its prices and pool
    # codes for the invoice's term, as far as its first month's dues allow.
    extend_hold(locked, _end_of_term(issued_on))
    due_at = due_moment(locked, issued_on)
    chosen_bank = bank_or_default(bank)
    va = open_virtual_account(locked, chosen_bank, due_at)
    sequence = next_sequence(issued_on)
    sponsor = db.session.get(User, locked.sponsor_id)
    organisation = organisation_of(sponsor)
    invoice = Invoice(
        order_id=locked.id,
        number=format_number(issued_on, sequence),
        period=period_of(issued_on),
        sequence=sequence,
        issued_on=issued_on,
        due_on=due_at.astimezone(JAKARTA).date(),
        on_request=on_request,
        buyer_name=organisation.legal_name if organisation else sponsor.display_name,
        buyer_kind=str(sponsor_kind(sponsor)),
        address=organisation.address if organisation else None,
        npwp=organisation.npwp if organisation else None,
        total_idr=locked.total_idr,
        va_bank=chosen_bank,
    )
    _attach(invoice, va)
    db.session.add(invoice)
    db.session.flush()
    return invoice


def retry_virtual_account(invoice: Invoice) -> bool:
    """Open the VA an invoice was issued without (the gateway could not be reached)."""
    order = lock_row(Order, invoice.order_id)
    db.session.refresh(invoice)
    if invoice.has_va or order is None or order.status != OrderStatus.AWAITING_PAYMENT:
        return invoice.has_va
    if is_expired(order):
        return False
    va = open_virtual_account(order, invoice.va_bank, due_moment(order, invoice.issued_on))
    _attach(invoice, va)
    db.session.flush()
    return invoice.has_va


def _attach(invoice: Invoice, va: VirtualAccount | None) -> None:
    if va is None:
        return
    invoice.va_bank = va.bank
    invoice.va_number = va.number
    invoice.va_amount_idr = va.amount_idr
    invoice.va_expires_at = va.expires_at
    invoice.payment_id = va.payment_id


def issue_when_due(order: Order, choices: Mapping[str, str]) -> None:
    """Checkout's place-order hook: an invoice when the sponsor ticked it or the order's
    total reaches the threshold."""
    requested = str(choices.get("invoice", "")).lower() in TICKED
    if requested or order.total_idr >= threshold_idr():
        issue_invoice(order, bank=choices.get("invoice_bank"), on_request=requested)


def missing_details(sponsor: User) -> bool:
    """A company or a local government whose legal details are not complete yet."""
    return sponsor_kind(sponsor) in ORGANISATION_KINDS and organisation_of(sponsor) is None


# --- reading an invoice back ------------------------------------------------------------------


@dataclass
class InvoiceView:
    invoice: Invoice
    order: Order
    sponsor: User
    lines: list[ReceiptLine]

    @property
    def is_paid(self) -> bool:
        return self.order.is_paid

    @property
    def is_void(self) -> bool:
        """Nothing can be paid on it any more: the order was cancelled or its prices expired
        (money sent anyway goes back by the gateway's rule)."""
        if self.order.is_paid:
            return False
        return self.order.status != OrderStatus.AWAITING_PAYMENT or is_expired(self.order)


def invoice_for(user: User, reference: str) -> InvoiceView | None:
    """The invoice of the order ``reference`` if ``user`` may see it (its sponsor or an
    admin); None otherwise, exactly as for an order that does not exist."""
    order = orders.order_for(user, reference)
    invoice = invoice_of(order)
    if invoice is None:
        return None
    receipt = order_receipt(order)
    return InvoiceView(
        invoice=invoice,
        order=order,
        sponsor=receipt.sponsor,
        lines=receipt.lines,
    )
