"""The coverage ledger: how long each worker is covered, what stage their cover is in, and who
paid for which months. Read-only helpers; the ledger grows only through
``workers.coverage.extend_coverage``.

Public API (names are stable; renewals, the sponsor dashboard and admin figures import them):

- ``CoverageStage`` — active, lapsing, arrears, ended, never.
- ``stage_on(covered_until, today)`` — the stage of one worker; ``stage_condition(stage, today)``
  is its SQL twin on ``Worker.covered_until`` (same thresholds, from ``StageBounds``).
- ``covered_until(worker_id)`` / ``covered_until_by_worker(worker_ids)`` — last covered day.
- ``days_left(covered_until, today)`` / ``lapses_on(covered_until)`` / ``unpaid_months(...)``.
- ``months_funded_by_sponsor(worker_id)`` — co-sponsorship counted in months, per sponsor.
- ``latest_sponsors_by_worker(worker_ids)`` / ``latest_sponsor_pairs()`` — who funded each
  worker's latest months.
- ``sponsor_funded_worker(sponsor_id, worker_id)`` / ``last_funded_line(sponsor_id, worker_id)``.

The rules (domain source: ``shared/domain/bpjs-bpu.md``, "Dues": due by the 15th of the month
being covered; arrears up to 3 months tolerated; membership ends after more than 3 consecutive
unpaid months — kontan.co.id, media.alkhairaat.id, bursakota.co.id):

- ``covered_until`` is the last day of the last paid month (``Worker.covered_until``, the
  greatest ``Coverage.ends_on``); cover *lapses* on the next day (``lapses_on``).
- *Days left* counts today: on the last covered day 1 day is left; on ``lapses_on`` none.
- A month after ``covered_until`` counts as **unpaid** once its due date has passed, i.e. from
  the 16th of that month (paying on the 15th is on time). Holidays moving the due date to the
  next working day are not modelled (the stage is at most one day early then).
- **active**: more than 14 days left. **lapsing**: 1–14 days left, *or* cover has run out but
  no month is unpaid yet (the first uncovered month's dues can still be paid on time, until its
  15th). **arrears**: 1, 2 or 3 unpaid months. **ended**: 4 or more unpaid months (BPJS ends
  the membership). **never**: no cover was ever paid.

Example, cover to 31 January: active until 17 January, lapsing 18 January – 15 February,
arrears 16 February – 15 May, ended from 16 May. A new payment moves ``covered_until`` and the
stage follows (back to active).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import ColumnElement, Select, and_, case, func, select

from accounts.models import User
from core.dates import add_months, first_of_month, month_end
from extensions import db
from sponsorship.checkout.funded import funded_coverages
from sponsorship.checkout.models import Order, OrderLine
from workers.models import Coverage, Worker

LAPSING_DAYS = 14  # "lapsing": 14 days or less of cover left
DUE_DAY = 15  # dues for a month are due by the 15th of that month
ARREARS_MONTHS = 3  # up to 3 unpaid months are tolerated; more ends the membership
CHUNK = 2000  # ids per IN (...) list


class CoverageStage(StrEnum):
    ACTIVE = "active"
    LAPSING = "lapsing"
    ARREARS = "arrears"
    ENDED = "ended"
    NEVER = "never"

    @property
    def label(self) -> LazyString:
        return _STAGE_LABELS[self]


_STAGE_LABELS = {
    CoverageStage.ACTIVE: _l("Covered"),
    CoverageStage.LAPSING: _l("Cover ends soon"),
    CoverageStage.ARREARS: _l("Dues unpaid (up to 3 months)"),
    CoverageStage.ENDED: _l("Membership ended (more than 3 unpaid months)"),
    CoverageStage.NEVER: _l("Never covered"),
}


def lapses_on(covered_until: date) -> date:
    """The first day without paid cover."""
    return covered_until + timedelta(days=1)


def days_left(covered_until: date | None, today: date) -> int:
    """Days of cover left counting today (1 on the last covered day, 0 or less after)."""
    if covered_until is None:
        return 0
    return (covered_until - today).days + 1


def last_overdue_month(today: date) -> date:
    """The first day of the latest month whose dues are past due on ``today``."""
    this_month = first_of_month(today)
    return this_month if today.day > DUE_DAY else add_months(this_month, -1)


def unpaid_months(covered_until: date | None, today: date) -> int:
    """How many months after ``covered_until`` are past their due date (0 while covered)."""
    if covered_until is None or covered_until >= today:
        return 0
    first_unpaid = first_of_month(lapses_on(covered_until))
    last = last_overdue_month(today)
    months = (last.year - first_unpaid.year) * 12 + last.month - first_unpaid.month + 1
    return max(0, months)


@dataclass(frozen=True, slots=True)
class StageBounds:
    """The stage of a worker depends only on where ``covered_until`` falls between these
    dates (computed once per ``today``; ``stage_on`` and ``stage_condition`` share them):

    ``active_from <= covered_until`` → active; ``lapsing_from <=`` → lapsing;
    ``arrears_from <=`` → arrears; earlier → ended.
    """

    today: date
    active_from: date
    lapsing_from: date
    arrears_from: date

    @classmethod
    def on(cls, today: date) -> "StageBounds":
        last = last_overdue_month(today)
        return cls(
            today=today,
            active_from=today + timedelta(days=LAPSING_DAYS),
            # Still covered today, or no uncovered month is past due yet.
            lapsing_from=min(today, month_end(last)),
            # The first unpaid month is at most ARREARS_MONTHS - 1 months before ``last``.
            arrears_from=add_months(last, 1 - ARREARS_MONTHS) - timedelta(days=1),
        )


def stage_on(covered_until: date | None, today: date) -> CoverageStage:
    """The stage of cover ending on ``covered_until`` as seen on ``today`` (see module doc)."""
    return _stage(covered_until, StageBounds.on(today))


def _stage(covered_until: date | None, bounds: StageBounds) -> CoverageStage:
    if covered_until is None:
        return CoverageStage.NEVER
    if covered_until >= bounds.active_from:
        return CoverageStage.ACTIVE
    if covered_until >= bounds.lapsing_from:
        return CoverageStage.LAPSING
    if covered_until >= bounds.arrears_from:
        return CoverageStage.ARREARS
    return CoverageStage.ENDED


def stages_on(covered_until_by_id: dict[int, date | None], today: date) -> dict[int, CoverageStage]:
    bounds = StageBounds.on(today)
    return {worker_id: _stage(until, bounds) for worker_id, until in covered_until_by_id.items()}


def stage_condition(stage: CoverageStage, today: date) -> ColumnElement[bool]:
    """The SQL twin of ``stage_on`` on ``Worker.covered_until`` (range conditions only)."""
    b = StageBounds.on(today)
    column = Worker.covered_until
    if stage == CoverageStage.NEVER:
        return column.is_(None)
    if stage == CoverageStage.ACTIVE:
        return column >= b.active_from
    if stage == CoverageStage.LAPSING:
        return and_(column >= b.lapsing_from, column < b.active_from)
    if stage == CoverageStage.ARREARS:
        return and_(column >= b.arrears_from, column < b.lapsing_from)
    return column < b.arrears_from


def stage_counts(today: date, worker_ids: Sequence[int] | None = None) -> dict[CoverageStage, int]:
    """How many workers are in each stage (all workers, or ``worker_ids``): one query."""
    counts = dict.fromkeys(CoverageStage, 0)
    stage_case = _stage_case(today)
    query = select(stage_case, func.count()).group_by(stage_case)
    chunks: Iterable[Sequence[int] | None] = (
        [None]
        if worker_ids is None
        else (worker_ids[i : i + CHUNK] for i in range(0, len(worker_ids), CHUNK))
    )
    for chunk in chunks:
        bounded = query if chunk is None else query.where(Worker.id.in_(chunk))
        for stage, count in db.session.execute(bounded):
            counts[CoverageStage(stage)] += count
    return counts


def _stage_case(today: date) -> ColumnElement[str]:
    b = StageBounds.on(today)
    column = Worker.covered_until
    return case(
        (column.is_(None), CoverageStage.NEVER.value),
        (column >= b.active_from, CoverageStage.ACTIVE.value),
        (column >= b.lapsing_from, CoverageStage.LAPSING.value),
        (column >= b.arrears_from, CoverageStage.ARREARS.value),
        else_=CoverageStage.ENDED.value,
    )


# --- reading the ledger ----------------------------------------------------------------------


def covered_until(worker_id: int) -> date | None:
    """The worker's last covered day, or None (never covered or no such worker)."""
    return db.session.scalar(select(Worker.covered_until).where(Worker.id == worker_id))


def covered_until_by_worker(worker_ids: Sequence[int]) -> dict[int, date | None]:
    """``covered_until`` of many workers (ids that do not exist are left out)."""
    found: dict[int, date | None] = {}
    for start in range(0, len(worker_ids), CHUNK):
        chunk = list(worker_ids[start : start + CHUNK])
        rows = db.session.execute(
            select(Worker.id, Worker.covered_until).where(Worker.id.in_(chunk))
        )
        found.update((worker_id, until) for worker_id, until in rows)
    return found


@dataclass(frozen=True, slots=True)
class SponsorMonths:
    """Months of cover one sponsor paid for one worker (co-sponsors fund different months)."""

    sponsor_id: int
    display_name: str
    months: int
    first_month: date
    last_month: date  # first day of the latest month this sponsor paid for


def months_funded_by_sponsor(worker_id: int) -> list[SponsorMonths]:
    """Every sponsor who paid cover for the worker through Payung, with the months paid, the
    most months first (counted as everywhere, ``sponsorship.checkout.funded``: a fully refunded
    order funds nothing). Cover recorded without an order line (paid elsewhere) is not listed."""
    rows = db.session.execute(
        funded_coverages()
        .with_only_columns(
            Order.sponsor_id,
            User.display_name,
            func.sum(Coverage.months),
            func.min(Coverage.starts_on),
            func.max(Coverage.ends_on),
            maintain_column_froms=True,
        )
        .join(User, User.id == Order.sponsor_id)
        .where(Coverage.worker_id == worker_id)
        .group_by(Order.sponsor_id, User.display_name)
    ).all()
    funded = [
        SponsorMonths(
            sponsor_id=sponsor_id,
            display_name=name,
            months=int(months),
            first_month=first,
            last_month=first_of_month(last),
        )
        for sponsor_id, name, months, first, last in rows
    ]
    return sorted(funded, key=lambda s: (-s.months, s.last_month, s.sponsor_id))


def latest_sponsor_pairs() -> Select[tuple[int, int]]:
    """SELECT (worker id, sponsor id) of the sponsor(s) who paid each worker's latest months:
    those whose cover ends on the worker's ``covered_until``. Add ``.where`` to narrow it (the
    nightly alerts insert from it directly); joins ``workers``, ``users`` (the sponsor)."""
    return (
        select(Worker.id, Order.sponsor_id)
        .select_from(Worker)
        .join(
            Coverage,
            and_(Coverage.worker_id == Worker.id, Coverage.ends_on == Worker.covered_until),
        )
        .join(OrderLine, OrderLine.id == Coverage.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(User, User.id == Order.sponsor_id)
    )


def latest_sponsors_by_worker(worker_ids: Sequence[int]) -> dict[int, set[int]]:
    """The sponsor(s) who paid each worker's latest months (see ``latest_sponsor_pairs``).
    Workers whose latest cover came without an order are absent."""
    found: dict[int, set[int]] = {}
    for start in range(0, len(worker_ids), CHUNK):
        chunk = list(worker_ids[start : start + CHUNK])
        rows = db.session.execute(latest_sponsor_pairs().where(Worker.id.in_(chunk)).distinct())
        for worker_id, sponsor_id in rows:
            found.setdefault(worker_id, set()).add(sponsor_id)
    return found


def _funded_lines(sponsor_id: int, worker_id: int) -> Select[tuple[OrderLine]]:
    return (
        select(OrderLine)
        .join(Coverage, Coverage.order_line_id == OrderLine.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.sponsor_id == sponsor_id, OrderLine.worker_id == worker_id)
    )


def sponsor_funded_worker(sponsor_id: int, worker_id: int) -> bool:
    """True if this sponsor has paid at least one month of this worker's cover."""
    return db.session.scalar(_funded_lines(sponsor_id, worker_id).limit(1)) is not None


def last_funded_line(sponsor_id: int, worker_id: int) -> OrderLine | None:
    """The sponsor's latest paid order line for this worker (its bundle and months are what a
    renewal repeats), or None if the sponsor never funded the worker."""
    return db.session.scalar(
        _funded_lines(sponsor_id, worker_id)
        .order_by(Coverage.ends_on.desc(), OrderLine.id.desc())
        .limit(1)
    )


def uncovered_condition(today: date) -> ColumnElement[bool]:
    """Workers past the lapsing stage (arrears or ended): their cover ran out and the first
    uncovered month is past due."""
    b = StageBounds.on(today)
    return Worker.covered_until < b.lapsing_from
