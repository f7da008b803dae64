"""Fulfillment state: one item per part of every paid order line, its append-only history,
the line's claim code and what was remitted to insurers.

Statuses change only through ``FulfillmentItem.transition``, which also writes the event row,
so no change of an item can happen without its history. No ``__repr__`` here shows a code,
a phone number, a KPJ or a NIK: reprs end up in logs.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.errors import IllegalTransition
from extensions import UtcDateTime, append_only, db, utcnow


class ItemStatus(StrEnum):
    PENDING = "pending"  # waiting for its job
    RETRYING = "retrying"  # an attempt failed; the next one is at next_attempt_at
    AWAITING_PARTNER = "awaiting_partner"  # the partner answered "pending": poll or callback
    ISSUED = "issued"
    FAILED = "failed"  # gave up (or refused by the partner); the refund is on its way
    VOIDED = "voided"  # cancelled by an admin; the refund is on its way
    REFUNDED = "refunded"


IN_PROGRESS = frozenset({ItemStatus.PENDING, ItemStatus.RETRYING, ItemStatus.AWAITING_PARTNER})
NEEDS_REFUND = frozenset({ItemStatus.FAILED, ItemStatus.VOIDED})
SETTLED = frozenset({ItemStatus.ISSUED, ItemStatus.REFUNDED})  # what lets an order finish
UNSETTLED = frozenset(set(ItemStatus) - SETTLED)

ITEM_TRANSITIONS: dict[ItemStatus, frozenset[ItemStatus]] = {
    # Any part in progress → REFUNDED: the whole order was refunded (by checkout's admin).
    ItemStatus.PENDING: frozenset(
        {
            ItemStatus.REFUNDED,
            ItemStatus.ISSUED,
            ItemStatus.RETRYING,
            ItemStatus.AWAITING_PARTNER,
            ItemStatus.FAILED,
            ItemStatus.VOIDED,
        }
    ),
    ItemStatus.RETRYING: frozenset(
        {
            ItemStatus.REFUNDED,
            ItemStatus.PENDING,
            ItemStatus.ISSUED,
            ItemStatus.RETRYING,
            ItemStatus.AWAITING_PARTNER,
            ItemStatus.FAILED,
            ItemStatus.VOIDED,
        }
    ),
    ItemStatus.AWAITING_PARTNER: frozenset(
        {
            ItemStatus.REFUNDED,
            ItemStatus.PENDING,
            ItemStatus.ISSUED,
            ItemStatus.RETRYING,
            ItemStatus.AWAITING_PARTNER,
            ItemStatus.FAILED,
            ItemStatus.VOIDED,
        }
    ),
    # Back to PENDING: an admin retries or substitutes before the refund went out; VOIDED: an
    # admin gives up on it (and the refund is tried again).
    ItemStatus.FAILED: frozenset({ItemStatus.REFUNDED, ItemStatus.PENDING, ItemStatus.VOIDED}),
    # Back to PENDING: an admin substitutes an issued part (its code is voided first).
    ItemStatus.ISSUED: frozenset({ItemStatus.VOIDED, ItemStatus.PENDING}),
    ItemStatus.VOIDED: frozenset({ItemStatus.REFUNDED, ItemStatus.VOIDED}),
    ItemStatus.REFUNDED: frozenset(),
}


class EventKind(StrEnum):
    CREATED = "created"
    RETRY_SCHEDULED = "retry_scheduled"  # an attempt failed for a reason that may pass
    AWAITING_PARTNER = "awaiting_partner"
    ISSUED = "issued"
    FAILED = "failed"
    REFUNDED = "refunded"
    REFUND_FAILED = "refund_failed"
    RETRIED = "retried"  # an admin asked for a new run
    RESENT = "resent"  # the claim code was sent again
    VOIDED = "voided"
    SUBSTITUTED = "substituted"


class FulfillmentItem(db.Model):
    """One part of one paid order line, to be issued exactly once.

    ``idempotency_key`` is made when the item is created (in the transaction that marks the
    order paid), so it is saved before the first partner call and every retry reuses it; it is
    also the reference partners see. A substitution gives the item a new key.
    """

    __tablename__ = "fulfillment_items"
    __table_args__ = (
        Index("ix_fulfillment_items_status_next", "status", "next_attempt_at"),
        Index("ix_fulfillment_items_order_status", "order_id", "status"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    order_line_part_id: Mapped[int] = mapped_column(ForeignKey("order_line_parts.id"), unique=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[ItemStatus] = mapped_column(String(20), default=ItemStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)  # since the last (re)start
    total_attempts: Mapped[int] = mapped_column(default=0)
    refund_attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    awaiting_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    # Committed before an attempt may call the partner; cleared once its outcome is recorded.
    # Set at the next attempt means the partner may have acted on a call whose answer we never
    # recorded: the issuer asks the partner by reference before calling again.
    partner_call_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    partner_reference: Mapped[str | None] = mapped_column(String(100))
    # The partner's bulk call that holds this part (a telco's bulk top-up): its one status
    # callback names the batch, and only the parts recorded under it may be settled by it.
    partner_batch_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # What the worker is shown: plain details (expiry, serial number, covered-until) and,
    # encrypted, the secret ones (activation code, KPJ).
    delivery: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    delivery_encrypted: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(String(300))
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Failure notices go out in digests (one per order, one per sweep for admins).
    sponsor_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    admin_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    part: Mapped["OrderLinePart"] = relationship()  # noqa: F821 (sponsorship.checkout.models)
    line: Mapped["OrderLine"] = relationship()  # noqa: F821
    offer: Mapped["Offer"] = relationship()  # noqa: F821 (bundles.models)
    events: Mapped[list["FulfillmentEvent"]] = relationship(
        back_populates="item", order_by="FulfillmentEvent.id"
    )

    @property
    def is_in_progress(self) -> bool:
        return self.status in IN_PROGRESS

    def transition(
        self,
        wanted: ItemStatus,
        kind: EventKind,
        *,
        actor_id: int | None = None,
        reason: str = "",
        data: dict[str, Any] | None = None,
    ) -> "FulfillmentEvent":
        """The only way an item's status changes; records the event. Raises IllegalTransition."""
        current = ItemStatus(self.status)
        if wanted not in ITEM_TRANSITIONS[current]:
            raise IllegalTransition("fulfillment item", current, wanted)
        self.status = wanted
        return self.record(kind, actor_id=actor_id, reason=reason, data=data, previous=current)

    def record(
        self,
        kind: EventKind,
        *,
        actor_id: int | None = None,
        reason: str = "",
        data: dict[str, Any] | None = None,
        previous: ItemStatus | None = None,
    ) -> "FulfillmentEvent":
        """Append an event without a status change (a poll, a resend, a failed refund)."""
        entry = FulfillmentEvent(
            item_id=self.id,
            kind=kind,
            from_status=previous or self.status,
            to_status=self.status,
            actor_id=actor_id,
            reason=reason[:300],
            data=data or {},
        )
        db.session.add(entry)
        return entry

    def __repr__(self) -> str:
        return f"<FulfillmentItem {self.id} {self.status}>"


@append_only
class FulfillmentEvent(db.Model):
    """Append-only history of an item: who (``actor_id``; None is the system) did what, why."""

    __tablename__ = "fulfillment_events"
    __table_args__ = (Index("ix_fulfillment_events_item_created", "item_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("fulfillment_items.id"))
    kind: Mapped[EventKind] = mapped_column(String(20))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(300), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    item: Mapped[FulfillmentItem] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return f"<FulfillmentEvent {self.id} {self.kind} item {self.item_id}>"


class IssuedCode(db.Model):
    """A pool code handed to an item. ``pool_code_id`` is unique: a code goes to one item,
    ever, even after it is voided."""

    __tablename__ = "issued_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("fulfillment_items.id"), index=True)
    pool_code_id: Mapped[int] = mapped_column(ForeignKey("pool_codes.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ClaimCode(db.Model):
    """The one bundle code of an order line, stored only as a keyed hash. A resend replaces
    the hash (the old code stops working) and bumps ``version``."""

    __tablename__ = "claim_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    sent_count: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_sent_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    def __repr__(self) -> str:
        return f"<ClaimCode {self.id} line {self.order_line_id}>"  # never the code


class InsurerMembership(db.Model):
    """A worker's membership number (KPJ) at an insurer, learnt from its registration API."""

    __tablename__ = "insurer_memberships"
    __table_args__ = (UniqueConstraint("worker_id", "partner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    kpj_encrypted: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)

    def __repr__(self) -> str:
        return f"<InsurerMembership {self.id} worker {self.worker_id}>"


class RemittanceStatus(StrEnum):
    ACCEPTED = "accepted"  # the insurer's API accepted the dues
    CONFIRMED = "confirmed"  # and its confirmation file agrees
    MISMATCH = "mismatch"  # its confirmation file disagrees: an admin looks


# A confirmation file may be uploaded again (corrected): its verdict replaces the last one,
# but nothing goes back to merely accepted.
_RECONCILED = frozenset({RemittanceStatus.CONFIRMED, RemittanceStatus.MISMATCH})
REMITTANCE_TRANSITIONS: dict[RemittanceStatus, frozenset[RemittanceStatus]] = {
    RemittanceStatus.ACCEPTED: _RECONCILED,
    RemittanceStatus.CONFIRMED: _RECONCILED,
    RemittanceStatus.MISMATCH: _RECONCILED,
}


class Remittance(db.Model):
    """Dues paid to an insurer for one order line's months. ``business_date`` is the Jakarta
    day the insurer accepted them: the day of the remittance file they belong to."""

    __tablename__ = "remittances"
    __table_args__ = (
        CheckConstraint("amount_idr > 0", name="amount_positive"),
        Index("ix_remittances_partner_date", "partner_id", "business_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("fulfillment_items.id"), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    partner_remittance_id: Mapped[str] = mapped_column(String(100), unique=True)
    kpj_encrypted: Mapped[str] = mapped_column(String(200))
    months: Mapped[list[str]] = mapped_column(JSON)  # ["2026-01", ...]
    programmes: Mapped[list[str]] = mapped_column(JSON)
    amount_idr: Mapped[int]
    covered_until: Mapped[date] = mapped_column(Date)
    accepted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    business_date: Mapped[date] = mapped_column(Date)
    status: Mapped[RemittanceStatus] = mapped_column(String(16), default=RemittanceStatus.ACCEPTED)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("remittance_files.id"), index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    mismatch: Mapped[str | None] = mapped_column(String(300))

    def transition(self, wanted: RemittanceStatus) -> None:
        """The only way a remittance's status changes; raises IllegalTransition otherwise."""
        current = RemittanceStatus(self.status or RemittanceStatus.ACCEPTED)
        if wanted not in REMITTANCE_TRANSITIONS[current]:
            raise IllegalTransition("remittance", current, wanted)
        self.status = wanted

    def __repr__(self) -> str:
        return f"<Remittance {self.id} {self.status}>"


class RemittanceFile(db.Model):
    """The daily file of one insurer's remittances, and what its confirmation file said."""

    __tablename__ = "remittance_files"
    __table_args__ = (UniqueConstraint("partner_id", "business_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    business_date: Mapped[date] = mapped_column(Date)
    row_count: Mapped[int] = mapped_column(default=0)
    total_idr: Mapped[int] = mapped_column(default=0)
    generated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmation_uploaded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    confirmed_count: Mapped[int] = mapped_column(default=0)
    mismatch_count: Mapped[int] = mapped_column(default=0)
    missing_count: Mapped[int] = mapped_column(default=0)

    partner: Mapped["Partner"] = relationship()  # noqa: F821 (bundles.models)

    @property
    def filename(self) -> str:
        return f"remittance-{self.partner_id}-{self.business_date:%Y%m%d}.csv"
