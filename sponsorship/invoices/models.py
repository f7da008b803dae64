"""Invoices and their per-month number sequences.

An invoice belongs to one order (at most one each) and keeps what it was issued with: its
number, dates, the buyer's legal details as they were, the total and the virtual account to
pay it by. Its lines are the order's lines, which never change once the order is placed.
Whether it is paid is the order's status: an invoice has no status of its own.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import UtcDateTime, db, utcnow
from sponsorship.checkout.models import Order


class InvoiceSequence(db.Model):
    """The last invoice number handed out in one month (``period``: ``2026-12``). Numbers
    are taken by one guarded UPDATE in the issuing transaction, so a rolled-back invoice
    gives its number back: the sequence has no gaps."""

    __tablename__ = "invoice_sequences"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class Invoice(db.Model):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("period", "sequence"),
        CheckConstraint("total_idr >= 0", name="total_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)  # INV/2026/12/000123
    period: Mapped[str] = mapped_column(String(7))
    sequence: Mapped[int]
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    # The sponsor asked for it (rather than the order being over INVOICE_THRESHOLD_IDR).
    on_request: Mapped[bool] = mapped_column(default=False)
    # The buyer as it was when the invoice was issued (an organisation's legal details).
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_kind: Mapped[str] = mapped_column(String(16), default="person")
    address: Mapped[str | None] = mapped_column(String(500))
    npwp: Mapped[str | None] = mapped_column(String(16))
    total_idr: Mapped[int]
    # How to pay: a virtual account at the gateway, open until va_expires_at.
    va_bank: Mapped[str] = mapped_column(String(16), default="BCA")
    va_number: Mapped[str | None] = mapped_column(String(32))
    va_amount_idr: Mapped[int | None]
    va_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    order: Mapped[Order] = relationship()

    @property
    def has_va(self) -> bool:
        return bool(self.va_number)
