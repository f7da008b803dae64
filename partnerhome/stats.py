"""What a partner sold, delivered and is owed. Every query is scoped to one partner.

Sales come from ``order_line_parts`` of paid orders; delivery and claims from fulfillment items
and bundle codes; the delivered-codes list from issued pool codes. Keep partner money and
delivery queries here so they grow in one place.

Settlement: for a calendar month (Asia/Jakarta), Payung owes the partner the amounts of its
parts in orders paid that month, less the refunds of its parts made that month. A refund of a
whole order (no part named) counts against every part of the order when the order ends refunded.
"""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from bundles.models import Offer, Partner, PoolCode, PoolCodeStatus
from core.dates import JAKARTA, jakarta_today
from core.spreadsheets import safe_cell
from extensions import db
from fulfillment.models import ClaimCode, FulfillmentItem, ItemStatus
from sponsorship.checkout.models import Order, OrderLine, OrderLinePart, OrderStatus, Refund

# Orders whose money was received (a refunded order was paid first; its refunds count apart).
PAID_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.FULFILLING,
    OrderStatus.FULFILLED,
    OrderStatus.REFUNDED,
)


@dataclass(frozen=True)
class Period:
    """A calendar month in Jakarta time."""

    month: date  # first day

    @classmethod
    def parse(cls, text: str | None) -> "Period":
        """``"2026-11"``; anything else is the current month."""
        try:
            year, month = (int(part) for part in (text or "").split("-"))
            return cls(date(year, month, 1))
        except ValueError:
            return cls(jakarta_today().replace(day=1))

    @property
    def key(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def next_month(self) -> date:
        return date(self.month.year + self.month.month // 12, self.month.month % 12 + 1, 1)

    @property
    def previous(self) -> "Period":
        prior = date(self.month.year - (self.month.month == 1), (self.month.month - 2) % 12 + 1, 1)
        return Period(prior)

    @property
    def following(self) -> "Period":
        return Period(self.next_month)

    def utc_bounds(self) -> tuple[datetime, datetime]:
        start = datetime.combine(self.month, time(), tzinfo=JAKARTA).astimezone(UTC)
        end = datetime.combine(self.next_month, time(), tzinfo=JAKARTA).astimezone(UTC)
        return start, end


@dataclass(frozen=True)
class OfferSales:
    offer_id: int
    name_id: str
    name_en: str
    parts: int
    units: int
    amount_idr: int


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    kind: str  # "sale" | "refund"
    order_reference: str
    offer_id: int
    offer_name: str
    units: int
    amount_idr: int  # negative for refunds


@dataclass(frozen=True)
class Statement:
    partner_id: int
    period: Period
    lines: tuple[StatementLine, ...]

    @property
    def sales_idr(self) -> int:
        return sum(line.amount_idr for line in self.lines if line.kind == "sale")

    @property
    def refunds_idr(self) -> int:
        return -sum(line.amount_idr for line in self.lines if line.kind == "refund")

    @property
    def owed_idr(self) -> int:
        return self.sales_idr - self.refunds_idr


def _partner_parts():
    return (
        select(OrderLinePart, Order, Offer)
        .join(OrderLine, OrderLine.id == OrderLinePart.line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Offer, Offer.id == OrderLinePart.offer_id)
    )


def sales_by_offer(partner: Partner, period: Period | None = None) -> list[OfferSales]:
    """Paid parts per offer of the partner (all time, or paid within ``period``)."""
    query = (
        select(
            Offer.id,
            Offer.name_id,
            Offer.name_en,
            func.count(OrderLinePart.id),
            func.coalesce(func.sum(OrderLinePart.quantity), 0),
            func.coalesce(func.sum(OrderLinePart.amount_idr), 0),
        )
        .join(OrderLine, OrderLine.id == OrderLinePart.line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Offer, Offer.id == OrderLinePart.offer_id)
        .where(Offer.partner_id == partner.id, Order.status.in_(PAID_STATUSES))
        .group_by(Offer.id, Offer.name_id, Offer.name_en)
        .order_by(Offer.id)
    )
    if period is not None:
        start, end = period.utc_bounds()
        query = query.where(Order.paid_at >= start, Order.paid_at < end)
    return [OfferSales(*row) for row in db.session.execute(query)]


def _units_by_offer(partner: Partner, *, claimed: bool) -> dict[int, int]:
    query = (
        select(FulfillmentItem.offer_id, func.coalesce(func.sum(OrderLinePart.quantity), 0))
        .join(OrderLinePart, OrderLinePart.id == FulfillmentItem.order_line_part_id)
        .join(Offer, Offer.id == FulfillmentItem.offer_id)
        .where(Offer.partner_id == partner.id, FulfillmentItem.status == ItemStatus.ISSUED)
        .group_by(FulfillmentItem.offer_id)
    )
    if claimed:
        query = query.join(
            ClaimCode, ClaimCode.order_line_id == FulfillmentItem.order_line_id
        ).where(ClaimCode.claimed_at.is_not(None))
    return {offer_id: int(units) for offer_id, units in db.session.execute(query)}


def issued_by_offer(partner: Partner) -> dict[int, int]:
    """Units delivered per offer: parts whose fulfillment item was issued."""
    return _units_by_offer(partner, claimed=False)


def claimed_by_offer(partner: Partner) -> dict[int, int]:
    """Units the workers claimed: delivered parts of lines whose bundle code was claimed."""
    return _units_by_offer(partner, claimed=True)


def settlement_statement(partner: Partner, period: Period, *, locale: str = "id") -> Statement:
    start, end = period.utc_bounds()
    lines: list[StatementLine] = []
    sales = db.session.execute(
        _partner_parts().where(
            Offer.partner_id == partner.id,
            Order.status.in_(PAID_STATUSES),
            Order.paid_at >= start,
            Order.paid_at < end,
        )
    )
    for part, order, offer in sales:
        lines.append(
            StatementLine(
                at=order.paid_at,
                kind="sale",
                order_reference=order.reference,
                offer_id=offer.id,
                offer_name=offer.name_in(locale),
                units=part.quantity,
                amount_idr=part.amount_idr,
            )
        )
    part_refunds = db.session.execute(
        select(Refund, OrderLinePart, Order, Offer)
        .join(OrderLinePart, OrderLinePart.id == Refund.order_line_part_id)
        .join(Order, Order.id == Refund.order_id)
        .join(Offer, Offer.id == OrderLinePart.offer_id)
        .where(Offer.partner_id == partner.id, Refund.created_at >= start, Refund.created_at < end)
    )
    for refund, part, order, offer in part_refunds:
        lines.append(
            StatementLine(
                at=refund.created_at,
                kind="refund",
                order_reference=order.reference,
                offer_id=offer.id,
                offer_name=offer.name_in(locale),
                units=part.quantity,
                amount_idr=-min(refund.amount_idr, part.amount_idr),
            )
        )
    lines.extend(_whole_order_refunds(partner, start, end, locale))
    lines.sort(key=lambda line: (line.at, line.kind, line.order_reference, line.offer_id))
    return Statement(partner_id=partner.id, period=period, lines=tuple(lines))


def _whole_order_refunds(
    partner: Partner, start: datetime, end: datetime, locale: str
) -> list[StatementLine]:
    part_refund = aliased(Refund)
    latest = (
        select(Refund.order_id, func.max(Refund.created_at).label("at"))
        .where(Refund.order_line_part_id.is_(None))
        .group_by(Refund.order_id)
        .subquery()
    )
    rows = db.session.execute(
        select(OrderLinePart, Order, Offer, latest.c.at)
        .join(OrderLine, OrderLine.id == OrderLinePart.line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Offer, Offer.id == OrderLinePart.offer_id)
        .join(latest, latest.c.order_id == Order.id)
        .outerjoin(part_refund, part_refund.order_line_part_id == OrderLinePart.id)
        .where(
            Offer.partner_id == partner.id,
            Order.status == OrderStatus.REFUNDED,
            part_refund.id.is_(None),
            latest.c.at >= start,
            latest.c.at < end,
        )
    )
    return [
        StatementLine(
            at=at,
            kind="refund",
            order_reference=order.reference,
            offer_id=offer.id,
            offer_name=offer.name_in(locale),
            units=part.quantity,
            amount_idr=-part.amount_idr,
        )
        for part, order, offer, at in rows
    ]


CSV_HEADER = ("date", "type", "order", "offer_id", "offer", "units", "amount_idr")


def statement_csv(statement: Statement) -> str:
    """The statement as CSV (UTF-8, comma separated, amounts in whole rupiah). Text cells that
    a spreadsheet would run as a formula are prefixed with an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for line in statement.lines:
        writer.writerow(
            (
                line.at.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M"),
                line.kind,
                safe_cell(line.order_reference),
                line.offer_id,
                safe_cell(line.offer_name),
                line.units,
                line.amount_idr,
            )
        )
    writer.writerow(("", "total_sales", "", "", "", "", statement.sales_idr))
    writer.writerow(("", "total_refunds", "", "", "", "", -statement.refunds_idr))
    writer.writerow(("", "owed_to_partner", "", "", "", "", statement.owed_idr))
    return out.getvalue()


def issued_codes(partner: Partner, *, page: int, per_page: int, offer_id: int | None = None):
    """Issued pool codes of the partner's offers, newest first (the delivered units)."""
    query = (
        select(PoolCode)
        .join(Offer, Offer.id == PoolCode.offer_id)
        .where(Offer.partner_id == partner.id, PoolCode.status == PoolCodeStatus.ISSUED)
        .order_by(PoolCode.issued_at.desc(), PoolCode.id.desc())
    )
    if offer_id is not None:
        query = query.where(PoolCode.offer_id == offer_id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
