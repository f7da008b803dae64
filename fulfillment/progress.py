"""What a sponsor sees of an order's fulfillment: every part's true state, per worker.

Nothing reads "done" while a part is pending: a line is done only when every part is issued
(or refunded), and the order only when every line is. A constant number of queries whatever the
order's size; ``offset``/``limit`` page through the lines of a large order while the counts
always cover all of it. Workers appear as first name and initial only.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import func, select

from bundles.models import Bundle, Offer
from core.identity import first_name_and_initial
from extensions import db
from fulfillment.models import ClaimCode, FulfillmentItem, ItemStatus
from sponsorship.checkout.models import Order, OrderLine, OrderLinePart, Refund
from workers.models import Worker


class PartState(StrEnum):
    NOT_STARTED = "not_started"  # the order is not paid yet
    PENDING = "pending"
    PROCESSING = "processing"  # the partner is working on it
    RETRYING = "retrying"
    ISSUED = "issued"
    FAILED = "failed"  # will not be delivered; the refund is on its way
    REFUNDED = "refunded"

    @property
    def label(self) -> LazyString:
        return PART_STATE_LABELS[self]


PART_STATE_LABELS = {
    PartState.NOT_STARTED: _l("Waiting for payment"),
    PartState.PENDING: _l("Being issued"),
    PartState.PROCESSING: _l("Partner processing"),
    PartState.RETRYING: _l("Retrying"),
    PartState.ISSUED: _l("Issued"),
    PartState.FAILED: _l("Failed, refund on its way"),
    PartState.REFUNDED: _l("Refunded"),
}

_STATE_OF = {
    ItemStatus.PENDING: PartState.PENDING,
    ItemStatus.AWAITING_PARTNER: PartState.PROCESSING,
    ItemStatus.RETRYING: PartState.RETRYING,
    ItemStatus.ISSUED: PartState.ISSUED,
    ItemStatus.FAILED: PartState.FAILED,
    ItemStatus.VOIDED: PartState.FAILED,
    ItemStatus.REFUNDED: PartState.REFUNDED,
}
FINAL_STATES = frozenset({PartState.ISSUED, PartState.REFUNDED})


def part_state(status: str | None) -> PartState:
    return PartState.NOT_STARTED if status is None else _STATE_OF[ItemStatus(status)]


@dataclass(frozen=True)
class PartProgress:
    part_id: int
    item_id: int | None
    offer_id: int  # what the worker gets (an admin may have substituted the offer)
    offer_kind: str
    offer_name_id: str
    offer_name_en: str
    state: PartState
    status: str | None
    amount_idr: int
    refunded_idr: int
    issued_at: datetime | None
    updated_at: datetime | None

    def offer_name(self, locale: str) -> str:
        return self.offer_name_en if locale == "en" else self.offer_name_id

    @property
    def is_done(self) -> bool:
        return self.state == PartState.ISSUED


@dataclass(frozen=True)
class LineProgress:
    line_id: int
    worker_id: int
    worker_label: str
    bundle_id: int
    bundle_name: str
    months: int
    first_month: date
    parts: tuple[PartProgress, ...]
    claim_code_sent_at: datetime | None

    @property
    def is_done(self) -> bool:
        return bool(self.parts) and all(p.state in FINAL_STATES for p in self.parts)

    @property
    def states(self) -> Counter[PartState]:
        return Counter(part.state for part in self.parts)


@dataclass(frozen=True)
class OrderProgress:
    order_id: int
    order_reference: str
    order_status: str
    counts: dict[PartState, int]  # over the whole order
    total_parts: int
    line_count: int
    lines: tuple[LineProgress, ...]  # the requested page of lines
    refunded_idr: int

    def count(self, state: PartState) -> int:
        return self.counts.get(state, 0)

    @property
    def parts_settled(self) -> int:
        return self.count(PartState.ISSUED) + self.count(PartState.REFUNDED)

    @property
    def parts_failed(self) -> int:
        return self.count(PartState.FAILED)

    @property
    def is_complete(self) -> bool:
        final = sum(self.count(state) for state in FINAL_STATES)
        return self.total_parts > 0 and final == self.total_parts

    @property
    def in_progress(self) -> int:
        return sum(
            self.count(s)
            for s in (
                PartState.NOT_STARTED,
                PartState.PENDING,
                PartState.PROCESSING,
                PartState.RETRYING,
            )
        )


def order_progress(order: Order, *, offset: int = 0, limit: int | None = None) -> OrderProgress:
    """The state of every part of ``order`` (lines ``offset``… ``offset+limit``, all by
    default), with counts over the whole order."""
    by_status = dict(
        db.session.execute(
            select(FulfillmentItem.status, func.count())
            .where(FulfillmentItem.order_id == order.id)
            .group_by(FulfillmentItem.status)
        ).all()
    )
    total_parts, line_count = db.session.execute(
        select(func.count(OrderLinePart.id), func.count(func.distinct(OrderLine.id)))
        .select_from(OrderLine)
        .outerjoin(OrderLinePart, OrderLinePart.line_id == OrderLine.id)
        .where(OrderLine.order_id == order.id)
    ).one()
    counts: Counter[PartState] = Counter()
    for status, number in by_status.items():
        counts[part_state(status)] += number
    counts[PartState.NOT_STARTED] += total_parts - sum(by_status.values())
    refunded_idr = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_idr), 0)).where(
            Refund.order_id == order.id, Refund.order_line_part_id.is_not(None)
        )
    )
    return OrderProgress(
        order_id=order.id,
        order_reference=order.reference,
        order_status=str(order.status),
        counts={state: n for state, n in counts.items() if n},
        total_parts=total_parts,
        line_count=line_count,
        lines=_lines(order, offset, limit),
        refunded_idr=int(refunded_idr or 0),
    )


def _lines(order: Order, offset: int, limit: int | None) -> tuple[LineProgress, ...]:
    query = (
        select(OrderLine)
        .where(OrderLine.order_id == order.id)
        .order_by(OrderLine.id)
        .offset(offset)
    )
    lines = list(db.session.scalars(query.limit(limit) if limit is not None else query))
    if not lines:
        return ()
    line_ids = [line.id for line in lines]
    rows = db.session.execute(
        select(
            OrderLinePart.id,
            OrderLinePart.line_id,
            OrderLinePart.offer_id,
            OrderLinePart.amount_idr,
            FulfillmentItem.id,
            FulfillmentItem.offer_id,
            FulfillmentItem.status,
            FulfillmentItem.issued_at,
            FulfillmentItem.updated_at,
        )
        .outerjoin(FulfillmentItem, FulfillmentItem.order_line_part_id == OrderLinePart.id)
        .where(OrderLinePart.line_id.in_(line_ids))
        .order_by(OrderLinePart.id)
    ).all()
    offer_ids = {row[2] for row in rows} | {row[5] for row in rows if row[5]}
    offers = {
        offer_id: (kind, name_id, name_en)
        for offer_id, kind, name_id, name_en in db.session.execute(
            select(Offer.id, Offer.kind, Offer.name_id, Offer.name_en).where(
                Offer.id.in_(offer_ids)
            )
        )
    }
    refunds = dict(
        db.session.execute(
            select(Refund.order_line_part_id, Refund.amount_idr).where(
                Refund.order_line_part_id.in_([row[0] for row in rows])
            )
        ).all()
    )
    parts: dict[int, list[PartProgress]] = {line_id: [] for line_id in line_ids}
    for part_id, line_id, part_offer, amount, item_id, item_offer, status, issued, updated in rows:
        kind, name_id, name_en = offers[item_offer or part_offer]
        parts[line_id].append(
            PartProgress(
                part_id=part_id,
                item_id=item_id,
                offer_id=item_offer or part_offer,
                offer_kind=str(kind),
                offer_name_id=name_id,
                offer_name_en=name_en,
                state=part_state(status),
                status=status,
                amount_idr=amount,
                refunded_idr=refunds.get(part_id, 0),
                issued_at=issued,
                updated_at=updated,
            )
        )
    names = dict(
        db.session.execute(
            select(Worker.id, Worker.full_name).where(
                Worker.id.in_({line.worker_id for line in lines})
            )
        ).all()
    )
    bundles = dict(
        db.session.execute(
            select(Bundle.id, Bundle.name).where(Bundle.id.in_({line.bundle_id for line in lines}))
        ).all()
    )
    claims = dict(
        db.session.execute(
            select(ClaimCode.order_line_id, ClaimCode.created_at).where(
                ClaimCode.order_line_id.in_(line_ids)
            )
        ).all()
    )
    return tuple(
        LineProgress(
            line_id=line.id,
            worker_id=line.worker_id,
            worker_label=first_name_and_initial(names.get(line.worker_id) or "?"),
            bundle_id=line.bundle_id,
            bundle_name=bundles.get(line.bundle_id, ""),
            months=line.months,
            first_month=line.first_month,
            parts=tuple(parts[line.id]),
            claim_code_sent_at=claims.get(line.id),
        )
        for line in lines
    )
