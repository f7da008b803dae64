"""What a sponsor's money did, for the sponsor's home page and its CSV export.

A sponsor funds *months*: the Coverage rows made from the lines of its paid orders (fully
refunded orders do not count). Several sponsors can fund different months of one worker, so
every figure here counts only this sponsor's months: a worker is "covered now" by this
sponsor when one of its months includes today. Whether a worker is about to lapse is the
worker's stage in ``sponsorship.continuity.ledger`` (whoever paid), asked for the workers
this sponsor has funded. Money is what the sponsor paid per month, less what was refunded that
month.

Every function reads a fixed number of statements, whatever the number of workers.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, and_, case, func, select

from accounts.models import User
from core.dates import JAKARTA, add_months, first_of_month, month_end
from extensions import db
from sponsorship.checkout import funded
from sponsorship.checkout.funded import COUNTED_ORDER_STATUSES
from sponsorship.checkout.models import PAID_ORDER_STATUSES, Order, OrderLine, OrderStatus, Refund
from sponsorship.continuity import ledger
from sponsorship.continuity.ledger import CoverageStage
from sponsorship.payments.receipts import statement_years
from workers.models import Coverage, Worker

SPENDING_MONTHS = 12
TOP_PROVINCES = 10  # the rest are summed as "other provinces"


@dataclass(frozen=True, slots=True)
class Share:
    """Workers funded and months funded in one province or occupation (``key`` is its code;
    None for the "other provinces" row)."""

    key: str | None
    workers: int
    months: int


@dataclass(frozen=True, slots=True)
class MonthSpending:
    month: date
    paid_idr: int
    refunded_idr: int

    @property
    def net_idr(self) -> int:
        return self.paid_idr - self.refunded_idr


@dataclass(frozen=True, slots=True)
class LapsingWorker:
    worker_id: int
    full_name: str
    covered_until: date


@dataclass
class SponsorDashboard:
    workers_funded: int
    covered_now: int
    months_funded: int
    lapsing: list[LapsingWorker]
    spending: list[MonthSpending]
    by_province: list[Share]
    by_occupation: list[Share]
    statement_years: list[int] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return self.workers_funded == 0 and not any(m.paid_idr for m in self.spending)

    @property
    def spent_idr(self) -> int:
        return sum(month.net_idr for month in self.spending)


def funded_coverages(sponsor_id: int) -> Select:
    """Coverage rows paid by the sponsor (the one rule, ``sponsorship.checkout.funded``; join
    Worker or add columns as needed)."""
    return funded.funded_coverages().where(Order.sponsor_id == sponsor_id)


def _month_start_utc(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=JAKARTA).astimezone(UTC)


def _month_of(moment: datetime) -> date:
    return first_of_month(moment.astimezone(JAKARTA).date())


def monthly_spending(sponsor: User, today: date) -> list[MonthSpending]:
    """The last 12 months (this one included), oldest first: two statements."""
    first = add_months(first_of_month(today), -(SPENDING_MONTHS - 1))
    since = _month_start_utc(first)
    paid: dict[date, int] = defaultdict(int)
    for paid_at, total in db.session.execute(
        select(Order.paid_at, Order.total_idr).where(
            Order.sponsor_id == sponsor.id,
            Order.status.in_(PAID_ORDER_STATUSES),
            Order.paid_at >= since,
        )
    ):
        paid[_month_of(paid_at)] += total
    refunded: dict[date, int] = defaultdict(int)
    for created_at, amount in db.session.execute(
        select(Refund.created_at, Refund.amount_idr)
        .join(Order, Order.id == Refund.order_id)
        .where(Order.sponsor_id == sponsor.id, Refund.created_at >= since)
    ):
        refunded[_month_of(created_at)] += amount
    months = [add_months(first, n) for n in range(SPENDING_MONTHS)]
    return [MonthSpending(month, paid[month], refunded[month]) for month in months]


def _totals(sponsor: User, today: date) -> tuple[int, int, int]:
    funded = funded_coverages(sponsor.id).subquery()
    covering_today = and_(funded.c.starts_on <= today, funded.c.ends_on >= today)
    workers, now, months = db.session.execute(
        select(
            func.count(func.distinct(funded.c.worker_id)),
            func.count(func.distinct(case((covering_today, funded.c.worker_id)))),
            func.coalesce(func.sum(funded.c.months), 0),
        )
    ).one()
    return int(workers), int(now), int(months)


def _shares(sponsor: User) -> tuple[list[Share], list[Share]]:
    """Workers and months by province and by occupation: one statement. A worker has one
    province and one occupation, so distinct counts per pair add up per province."""
    funded = funded_coverages(sponsor.id).subquery()
    rows = db.session.execute(
        select(
            Worker.province_code,
            Worker.occupation,
            func.count(func.distinct(funded.c.worker_id)),
            func.sum(funded.c.months),
        )
        .join(Worker, Worker.id == funded.c.worker_id)
        .group_by(Worker.province_code, Worker.occupation)
    ).all()
    provinces: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    occupations: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for province, occupation, workers, months in rows:
        for totals, key in ((provinces, province), (occupations, occupation)):
            totals[key][0] += int(workers)
            totals[key][1] += int(months)

    def ranked(totals: dict[str, list[int]]) -> list[Share]:
        shares = [Share(key, workers, months) for key, (workers, months) in totals.items()]
        return sorted(shares, key=lambda share: (-share.workers, -share.months, share.key or ""))

    by_province = ranked(provinces)
    if len(by_province) > TOP_PROVINCES:
        rest = by_province[TOP_PROVINCES - 1 :]
        other = Share(None, sum(s.workers for s in rest), sum(s.months for s in rest))
        by_province = [*by_province[: TOP_PROVINCES - 1], other]
    return by_province, ranked(occupations)


def lapsing_workers(sponsor: User, today: date) -> list[LapsingWorker]:
    """Workers this sponsor funded whose cover (whoever paid) is in the ledger's lapsing
    stage: one statement, soonest first."""
    funded_ids = funded_coverages(sponsor.id).with_only_columns(Coverage.worker_id)
    rows = db.session.execute(
        select(Worker.id, Worker.full_name, Worker.covered_until)
        .where(Worker.id.in_(funded_ids), ledger.stage_condition(CoverageStage.LAPSING, today))
        .order_by(Worker.covered_until, Worker.id)
    )
    return [LapsingWorker(*row) for row in rows]


def sponsor_dashboard(sponsor: User, today: date) -> SponsorDashboard:
    """Everything on the sponsor's home page: six statements."""
    workers, now, months = _totals(sponsor, today)
    by_province, by_occupation = _shares(sponsor)
    return SponsorDashboard(
        workers_funded=workers,
        covered_now=now,
        months_funded=months,
        lapsing=lapsing_workers(sponsor, today) if workers else [],
        spending=monthly_spending(sponsor, today),
        by_province=by_province,
        by_occupation=by_occupation,
        statement_years=statement_years(sponsor),
    )


# --- the workers a sponsor paid for ("Pekerja saya") -----------------------------------------

PAID_WORKERS_PER_PAGE = 50
DELIVERING_ORDER_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.FULFILLING})


@dataclass(frozen=True, slots=True)
class PaidFor:
    """What one sponsor paid for one worker: months over all its paid orders, the last day
    of the last of them, and whether an order of them is still being delivered."""

    months: int
    until: date
    delivering: bool


def paid_workers_page(
    sponsor: User, *, page: int, per_page: int | None = None
) -> tuple[Pagination, dict[int, PaidFor]]:
    """A page of the workers in this sponsor's paid orders (fully refunded ones do not count)
    by name, and what the sponsor paid for each: three statements. The Worker rows carry
    the cover whoever paid; the page shows no NIK or phone."""
    paid_lines = (
        select(OrderLine.worker_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.sponsor_id == sponsor.id, Order.status.in_(COUNTED_ORDER_STATUSES))
    )
    workers = db.paginate(
        select(Worker).where(Worker.id.in_(paid_lines)).order_by(Worker.full_name, Worker.id),
        page=max(page, 1),
        per_page=per_page or PAID_WORKERS_PER_PAGE,
        error_out=False,
    )
    ids = [worker.id for worker in workers.items]
    rows = db.session.execute(
        select(OrderLine.worker_id, OrderLine.first_month, OrderLine.months, Order.status)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.sponsor_id == sponsor.id,
            Order.status.in_(COUNTED_ORDER_STATUSES),
            OrderLine.worker_id.in_(ids),
        )
    )
    paid: dict[int, PaidFor] = {}
    for worker_id, first, months, status in rows:
        until = month_end(add_months(first_of_month(first), months - 1))
        before = paid.get(worker_id, PaidFor(0, until, False))
        paid[worker_id] = PaidFor(
            months=before.months + months,
            until=max(before.until, until),
            delivering=before.delivering or status in DELIVERING_ORDER_STATUSES,
        )
    return workers, paid


# --- the CSV export ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportRow:
    worker_id: int
    full_name: str
    occupation: str
    province_code: str
    regency: str
    months_funded: int
    first_month: date
    last_day: date
    covered_until: date | None
    is_covered_now: bool


def export_rows(sponsor: User, today: date) -> Iterator[ExportRow]:
    """One row per worker the sponsor funded, by Payung number: one statement. Only what a
    sponsor may see: no NIK, no phone."""
    funded = funded_coverages(sponsor.id).subquery()
    covering_today = case(
        (and_(funded.c.starts_on <= today, funded.c.ends_on >= today), 1), else_=0
    )
    rows = db.session.execute(
        select(
            Worker.id,
            Worker.full_name,
            Worker.occupation,
            Worker.province_code,
            Worker.regency,
            func.sum(funded.c.months),
            func.min(funded.c.starts_on),
            func.max(funded.c.ends_on),
            Worker.covered_until,
            func.max(covering_today),
        )
        .join(Worker, Worker.id == funded.c.worker_id)
        .group_by(
            Worker.id,
            Worker.full_name,
            Worker.occupation,
            Worker.province_code,
            Worker.regency,
            Worker.covered_until,
        )
        .order_by(Worker.id)
    )
    for row in rows:
        wid, name, occupation, province, regency, months, first, last, until, now = row
        yield ExportRow(
            wid, name, occupation, province, regency, int(months), first, last, until, bool(now)
        )
