"""Receipts and yearly statements, in Indonesian, as printable HTML and as PDF.

A receipt (kuitansi) lists every worker of a paid order with each part and its price, the
platform fee, refunds and what the sponsor paid in the end. The yearly statement sums a
sponsor's year for CSR reports: money per month, workers covered, months funded (also by
province and occupation), refunds.

Workers appear by first name and initial with their Payung number; never a NIK or phone.
A company's or a local government's legal name, address and NPWP head both documents.
Both documents read a fixed number of statements whatever the size of the order or year.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from accounts.models import User
from accounts.organisations import Organisation, organisation_of
from bundles.models import Bundle, Offer
from core.dates import JAKARTA, add_months
from core.identity import first_name_and_initial
from extensions import db
from sponsorship.checkout.funded import funded_coverages
from sponsorship.checkout.models import (
    PAID_ORDER_STATUSES,
    Order,
    OrderLine,
    OrderLinePart,
    OrderStatus,
    PayerKind,
    Refund,
)
from workers.models import Coverage, Worker


@dataclass(frozen=True, slots=True)
class ReceiptPart:
    part_id: int
    name_id: str
    name_en: str
    quantity: int
    amount_idr: int
    refunded_idr: int = 0


@dataclass(slots=True)
class ReceiptLine:
    worker_id: int
    worker_name: str  # first name and initial
    bundle_name: str
    months: int
    first_month: date
    platform_fee_idr: int
    total_idr: int
    parts: list[ReceiptPart] = field(default_factory=list)

    @property
    def last_month(self) -> date:
        return add_months(self.first_month, self.months - 1)


@dataclass
class Receipt:
    order: Order
    sponsor: User
    lines: list[ReceiptLine]
    refunds: list[Refund]
    # A company or a local government: its legal name, address and NPWP are on the receipt.
    organisation: Organisation | None = None

    @property
    def refunded_idr(self) -> int:
        return sum(refund.amount_idr for refund in self.refunds)

    @property
    def net_idr(self) -> int:
        return self.order.total_idr - self.refunded_idr

    @property
    def payer_kind(self) -> PayerKind:
        return PayerKind(self.order.payer_kind)


def order_receipt(order: Order) -> Receipt:
    """The receipt of a paid order: five statements (the fifth, the sponsor's organisation)."""
    sponsor = db.session.get(User, order.sponsor_id)
    refunds = list(
        db.session.scalars(
            select(Refund).where(Refund.order_id == order.id).order_by(Refund.created_at)
        )
    )
    refunded_parts: dict[int, int] = defaultdict(int)
    for refund in refunds:
        if refund.order_line_part_id is not None:
            refunded_parts[refund.order_line_part_id] += refund.amount_idr
    lines: dict[int, ReceiptLine] = {}
    rows = db.session.execute(
        select(
            OrderLine.id,
            OrderLine.worker_id,
            Worker.full_name,
            Bundle.name,
            OrderLine.months,
            OrderLine.first_month,
            OrderLine.platform_fee_idr,
            OrderLine.total_idr,
        )
        .join(Worker, Worker.id == OrderLine.worker_id)
        .join(Bundle, Bundle.id == OrderLine.bundle_id)
        .where(OrderLine.order_id == order.id)
        .order_by(OrderLine.id)
    )
    for line_id, worker_id, full_name, bundle_name, months, first, fee, total in rows:
        lines[line_id] = ReceiptLine(
            worker_id=worker_id,
            worker_name=first_name_and_initial(full_name),
            bundle_name=bundle_name,
            months=months,
            first_month=first,
            platform_fee_idr=fee,
            total_idr=total,
        )
    parts = db.session.execute(
        select(
            OrderLinePart.line_id,
            OrderLinePart.id,
            Offer.name_id,
            Offer.name_en,
            OrderLinePart.quantity,
            OrderLinePart.amount_idr,
        )
        .join(OrderLine, OrderLine.id == OrderLinePart.line_id)
        .join(Offer, Offer.id == OrderLinePart.offer_id)
        .where(OrderLine.order_id == order.id)
        .order_by(OrderLinePart.id)
    )
    for line_id, part_id, name_id, name_en, quantity, amount in parts:
        lines[line_id].parts.append(
            ReceiptPart(part_id, name_id, name_en, quantity, amount, refunded_parts[part_id])
        )
    return Receipt(
        order=order,
        sponsor=sponsor,
        lines=list(lines.values()),
        refunds=refunds,
        organisation=organisation_of(sponsor),
    )


# --- the yearly statement ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementMonth:
    month: date
    orders: int
    paid_idr: int
    refunded_idr: int

    @property
    def net_idr(self) -> int:
        return self.paid_idr - self.refunded_idr


@dataclass(frozen=True, slots=True)
class StatementOrder:
    reference: str
    paid_at: datetime
    status: OrderStatus
    worker_count: int
    total_idr: int


@dataclass(frozen=True, slots=True)
class StatementShare:
    """Workers covered and months funded in one province or occupation (``key``: its code)."""

    key: str
    workers: int
    months: int


@dataclass
class Statement:
    sponsor: User
    year: int
    months: list[StatementMonth]
    orders: list[StatementOrder]
    workers_covered: int
    months_funded: int
    by_province: list[StatementShare] = field(default_factory=list)
    by_occupation: list[StatementShare] = field(default_factory=list)
    organisation: Organisation | None = None  # for a company's or a government's CSR report

    @property
    def paid_idr(self) -> int:
        return sum(month.paid_idr for month in self.months)

    @property
    def refunded_idr(self) -> int:
        return sum(month.refunded_idr for month in self.months)

    @property
    def net_idr(self) -> int:
        return self.paid_idr - self.refunded_idr


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The year in Jakarta time, as UTC instants [start, end)."""
    start = datetime(year, 1, 1, tzinfo=JAKARTA).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=JAKARTA).astimezone(UTC)
    return start, end


def yearly_statement(sponsor: User, year: int) -> Statement:
    """Money paid and refunded per month of ``year`` (Jakarta time), the workers covered
    and the months of cover funded by orders paid that year (fully refunded orders do not
    count as cover): five statements (the fifth, the sponsor's organisation)."""
    start, end = year_bounds(year)
    paid_in_year = (
        Order.sponsor_id == sponsor.id,
        Order.status.in_(PAID_ORDER_STATUSES),
        Order.paid_at >= start,
        Order.paid_at < end,
    )
    orders = [
        StatementOrder(reference, paid_at, OrderStatus(status), workers, total)
        for reference, paid_at, status, workers, total in db.session.execute(
            select(
                Order.reference,
                Order.paid_at,
                Order.status,
                Order.worker_count,
                Order.total_idr,
            )
            .where(*paid_in_year)
            .order_by(Order.paid_at, Order.id)
        )
    ]
    refunds = db.session.execute(
        select(Refund.created_at, Refund.amount_idr)
        .join(Order, Order.id == Refund.order_id)
        .where(Order.sponsor_id == sponsor.id, Refund.created_at >= start, Refund.created_at < end)
    ).all()
    # A worker has one province and one occupation: distinct counts per pair add up.
    # Months funded: the one rule (sponsorship.checkout.funded), for the orders paid this year.
    covered = db.session.execute(
        funded_coverages()
        .with_only_columns(
            Worker.province_code,
            Worker.occupation,
            func.count(func.distinct(Coverage.worker_id)),
            func.sum(Coverage.months),
            maintain_column_froms=True,
        )
        .join(Worker, Worker.id == Coverage.worker_id)
        .where(*paid_in_year)
        .group_by(Worker.province_code, Worker.occupation)
    ).all()
    workers = sum(int(row[2]) for row in covered)
    months_funded = sum(int(row[3]) for row in covered)
    paid: dict[int, list[int]] = defaultdict(list)
    for order in orders:
        paid[order.paid_at.astimezone(JAKARTA).month].append(order.total_idr)
    refunded: dict[int, int] = defaultdict(int)
    for created_at, amount in refunds:
        refunded[created_at.astimezone(JAKARTA).month] += amount
    months = [
        StatementMonth(
            month=date(year, n, 1),
            orders=len(paid[n]),
            paid_idr=sum(paid[n]),
            refunded_idr=refunded[n],
        )
        for n in range(1, 13)
    ]
    return Statement(
        sponsor=sponsor,
        year=year,
        months=months,
        orders=orders,
        workers_covered=workers,
        months_funded=months_funded,
        by_province=_shares((province, w, m) for province, _o, w, m in covered),
        by_occupation=_shares((occupation, w, m) for _p, occupation, w, m in covered),
        organisation=organisation_of(sponsor),
    )


def _shares(rows: Iterable[tuple[str, int, int]]) -> list[StatementShare]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, workers, months in rows:
        totals[key][0] += int(workers)
        totals[key][1] += int(months)
    shares = [StatementShare(key, w, m) for key, (w, m) in totals.items()]
    return sorted(shares, key=lambda share: (-share.workers, -share.months, share.key))


def statement_years(sponsor: User) -> list[int]:
    """Years from the sponsor's first payment to their last, newest first."""
    first, last = db.session.execute(
        select(func.min(Order.paid_at), func.max(Order.paid_at)).where(
            Order.sponsor_id == sponsor.id, Order.paid_at.is_not(None)
        )
    ).one()
    if first is None:
        return []
    if first.tzinfo is None:  # SQLite aggregates lose the column type
        first, last = first.replace(tzinfo=UTC), last.replace(tzinfo=UTC)
    newest, oldest = last.astimezone(JAKARTA).year, first.astimezone(JAKARTA).year
    return list(range(newest, oldest - 1, -1))
