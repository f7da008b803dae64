"""Orders and money: what a sponsor bought, what was paid, and what was given back.

Every amount is whole rupiah (``*_idr: int``). An order line is one worker × one bundle ×
some months; its parts keep the price paid for each offer, so a part that cannot be
delivered can be refunded exactly.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship, synonym

from bundles.codes.reservations import hold_reserved_codes, release_reserved_codes
from bundles.dues.services import (
    PayerKind,  # who funds an order: the dues rules and checkout share it
)
from core.errors import IllegalTransition
from extensions import UtcDateTime, db, utcnow


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    FULFILLING = "fulfilling"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.AWAITING_PAYMENT: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.FULFILLING, OrderStatus.REFUNDED}),
    OrderStatus.FULFILLING: frozenset({OrderStatus.FULFILLED, OrderStatus.REFUNDED}),
    # Back to FULFILLING: an admin substituted or retried a part, which is pending again.
    OrderStatus.FULFILLED: frozenset({OrderStatus.FULFILLING, OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset({OrderStatus.AWAITING_PAYMENT}),
    OrderStatus.REFUNDED: frozenset(),
}


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # Money the order could not take (paid twice, cancelled, prices expired): given back
    # whole at once through the gateway (``auto_refund_id``), never counted as paid.
    REFUNDED = "refunded"


_PAYMENT_OUTCOMES = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.REFUNDED}
)
PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PENDING: _PAYMENT_OUTCOMES,
    # A refused card leaves the intent open for another card, which may be refused too.
    PaymentStatus.FAILED: _PAYMENT_OUTCOMES,
    PaymentStatus.SUCCEEDED: frozenset(),
    PaymentStatus.CANCELLED: frozenset(),
    PaymentStatus.REFUNDED: frozenset(),
}


def payment_sources(wanted: PaymentStatus) -> frozenset[PaymentStatus]:
    """The statuses a payment may move to ``wanted`` from (for guarded bulk UPDATEs)."""
    return frozenset(s for s, moves in PAYMENT_TRANSITIONS.items() if wanted in moves)


def mark_payment_succeeded(
    provider_payment_id: str, wanted: PaymentStatus = PaymentStatus.SUCCEEDED
) -> bool:
    """Record that the gateway took the money for this payment (``wanted`` REFUNDED: took it
    and gives it straight back); True if this call moved it.

    A bulk UPDATE (the row need not be loaded), guarded by the statuses ``Payment.transition``
    allows to become ``wanted``: a payment already cancelled, succeeded or refunded is left
    alone, so of two callers exactly one gets True.
    """
    moved = db.session.execute(
        update(Payment)
        .where(
            Payment.provider_payment_id == provider_payment_id,
            Payment.status.in_(payment_sources(wanted)),
        )
        .values(status=wanted, failure_message=None, updated_at=utcnow())
        .returning(Payment.id)
    ).scalar_one_or_none()
    return moved is not None


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total_idr >= 0", name="total_not_negative"),
        Index("ix_orders_sponsor_created", "sponsor_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    payer_kind: Mapped[PayerKind] = mapped_column(String(16), default=PayerKind.PERSON)
    status: Mapped[OrderStatus] = mapped_column(
        String(20), default=OrderStatus.AWAITING_PAYMENT, index=True
    )
    total_idr: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # How many workers the order covers (kept here so order lists need no count per order).
    worker_count: Mapped[int] = mapped_column(default=0)
    # The prices are for contribution months whose dues fall due: after this moment the
    # order can no longer be paid and goes back to the cart to be priced again.
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    payments: Mapped[list["Payment"]] = relationship(back_populates="order")
    refunds: Mapped[list["Refund"]] = relationship(back_populates="order")

    def transition(self, wanted: OrderStatus) -> None:
        """The only way an order's status changes; raises IllegalTransition otherwise."""
        current = OrderStatus(self.status)
        if wanted not in ORDER_TRANSITIONS[current]:
            raise IllegalTransition("order", current, wanted)
        self.status = wanted
        if wanted == OrderStatus.PAID:
            self.paid_at = utcnow()
        _move_reserved_codes(self.id, wanted)

    @property
    def is_final(self) -> bool:
        """Nothing will change any more without someone acting (the order page stops
        refreshing itself)."""
        return self.status in FINAL_ORDER_STATUSES

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_ORDER_STATUSES


FINAL_ORDER_STATUSES = frozenset(
    {OrderStatus.FULFILLED, OrderStatus.CANCELLED, OrderStatus.REFUNDED}
)
# The sponsor's money was received (a refunded order was paid too).
PAID_ORDER_STATUSES = frozenset(
    {OrderStatus.PAID, OrderStatus.FULFILLING, OrderStatus.FULFILLED, OrderStatus.REFUNDED}
)


def claim_order_transition(order_id: int, current: OrderStatus, wanted: OrderStatus) -> bool:
    """Move an order from ``current`` to ``wanted`` only if it still is ``current``.

    One guarded ``UPDATE … WHERE status = current``: atomic on SQLite and PostgreSQL alike,
    so of two requests racing to make the same move exactly one gets True. The caller
    refreshes its Order object. Raises IllegalTransition for a move the rules forbid.
    """
    if wanted not in ORDER_TRANSITIONS[current]:
        raise IllegalTransition("order", current, wanted)
    values: dict[str, object] = {"status": wanted}
    if wanted == OrderStatus.PAID:
        values["paid_at"] = utcnow()
    # RETURNING rather than rowcount: psycopg 3 reports no rowcount here under SQLAlchemy 2.1.
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == current)
        .values(**values)
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if moved is not None:
        _move_reserved_codes(order_id, wanted)
    return moved is not None


def _move_reserved_codes(order_id: int | None, status: OrderStatus) -> None:
    """The pool codes an order holds follow its status: paid, they wait for its issuers;
    cancelled, refunded or completed, what is left goes back to the pool. (An order that was
    never paid in time gives them back by itself: its hold lapses.)"""
    if order_id is None:
        return
    if status == OrderStatus.PAID:
        hold_reserved_codes(order_id)
    elif status in FINAL_ORDER_STATUSES:
        release_reserved_codes(order_id)


def insert_or_ignore(model: type[db.Model], values: dict[str, object], unique: str) -> bool:
    """INSERT one row unless a row with the same ``unique`` column exists; True if inserted.

    ``ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL: two requests inserting the same key
    at once never fail, one of them simply inserts nothing.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = model.__table__
    inserted = db.session.execute(
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[unique])
        .returning(table.c[unique])
    ).scalar_one_or_none()
    return inserted is not None


class OrderLine(db.Model):
    """One worker × one bundle × ``months`` months, starting at ``first_month``."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("months > 0", name="months_positive"),
        CheckConstraint("total_idr >= 0", name="total_not_negative"),
        Index("ix_order_lines_worker", "worker_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"))
    months: Mapped[int]
    first_month: Mapped[date] = mapped_column(Date)
    total_idr: Mapped[int]
    # Payung's fee for this line (part of total_idr, on top of the parts).
    platform_fee_idr: Mapped[int] = mapped_column(default=0)
    # The worker's cover when the line was priced: the new months follow it.
    previous_covered_until: Mapped[date | None] = mapped_column(Date)

    order: Mapped[Order] = relationship(back_populates="lines")
    worker: Mapped["Worker"] = relationship()  # noqa: F821 (workers.models.Worker)
    bundle: Mapped["Bundle"] = relationship()  # noqa: F821 (bundles.models.Bundle)
    parts: Mapped[list["OrderLinePart"]] = relationship(
        back_populates="line", cascade="all, delete-orphan", order_by="OrderLinePart.id"
    )


class OrderLinePart(db.Model):
    """The price paid for one offer of a line, frozen at checkout (``price_snapshot`` keeps
    the breakdown shown to the sponsor, e.g. the dues per month)."""

    __tablename__ = "order_line_parts"
    __table_args__ = (CheckConstraint("amount_idr >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    quantity: Mapped[int] = mapped_column(default=1)
    amount_idr: Mapped[int]
    price_snapshot: Mapped[dict] = mapped_column(JSON, default=dict)

    line: Mapped[OrderLine] = relationship(back_populates="parts")
    offer: Mapped["Offer"] = relationship()  # noqa: F821 (bundles.models.Offer)


class Payment(db.Model):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    provider: Mapped[str] = mapped_column(String(16), default="stripe")
    provider_payment_id: Mapped[str] = mapped_column(String(64), unique=True)
    amount_idr: Mapped[int]
    status: Mapped[PaymentStatus] = mapped_column(String(16), default=PaymentStatus.PENDING)
    failure_message: Mapped[str | None] = mapped_column(String(200))
    # The SetupIntent the pay page hands to Stripe.js for the card being typed, and how many
    # cards were tried: each attempt confirms with its own idempotency key.
    setup_intent_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    # How the sponsor pays (payments.gateways.PayMethod: card, qris, va, ewallet) and where
    # (the bank or e-wallet: BCA, OVO…; QRIS for QRIS). What the pay page shows for a local
    # payment: the QR string, the VA number or the e-wallet's page, until ``expires_at``.
    method: Mapped[str] = mapped_column(String(16), default="card")
    channel: Mapped[str | None] = mapped_column(String(16))
    va_number: Mapped[str | None] = mapped_column(String(32))
    qr_string: Mapped[str | None] = mapped_column(String(1000))
    redirect_url: Mapped[str | None] = mapped_column(String(1000))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    auto_refund_id: Mapped[str | None] = mapped_column(String(64))

    order: Mapped[Order] = relationship(back_populates="payments")
    # The gateway that took (or is to take) the money: "stripe" or "xendit".
    gateway = synonym("provider")

    def transition(self, wanted: PaymentStatus) -> None:
        """The only way a payment's status changes; raises IllegalTransition otherwise."""
        current = PaymentStatus(self.status or PaymentStatus.PENDING)
        if wanted not in PAYMENT_TRANSITIONS[current]:
            raise IllegalTransition("payment", current, wanted)
        self.status = wanted


class StripeEvent(db.Model):
    """Every webhook event id we accepted, once: the unique id makes replays harmless."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_idr > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_part_id: Mapped[int | None] = mapped_column(
        ForeignKey("order_line_parts.id"), unique=True
    )
    amount_idr: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    provider_refund_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    order: Mapped[Order] = relationship(back_populates="refunds")


# What was given back of the order, read with it where a page asks (``undefer``): order lists
# say "partly refunded" without a query per order.
Order.refunded_idr = column_property(
    select(func.coalesce(func.sum(Refund.amount_idr), 0))
    .where(Refund.order_id == Order.id)
    .correlate_except(Refund)
    .scalar_subquery(),
    deferred=True,
)


class StripeCustomer(db.Model):
    """The Stripe customer a sponsor pays as: cards typed on the pay page are kept on it."""

    __tablename__ = "stripe_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Cart(db.Model):
    """What a sponsor means to buy, before it is checked and priced into an order."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    payer_kind: Mapped[PayerKind] = mapped_column(String(16), default=PayerKind.PERSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class CartLine(db.Model):
    """One worker × one bundle × ``months``. ``dropped_offer_ids`` are parts the sponsor chose
    to leave out (a Telkomsel-only part for a worker on another network)."""

    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "worker_id", "bundle_id"),
        CheckConstraint("months > 0", name="months_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"), index=True)
    months: Mapped[int]
    dropped_offer_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    worker: Mapped["Worker"] = relationship()  # noqa: F821 (workers.models.Worker)
    bundle: Mapped["Bundle"] = relationship()  # noqa: F821 (bundles.models.Bundle)
