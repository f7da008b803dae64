"""A worker's cover as sponsors see it, and the one way it grows.

The Coverage rows are the ledger; ``Worker.covered_until``, ``needs_sponsor`` and
``needs_cover_from`` are kept in step with it here, so directory filters and sorts read
indexed columns of the workers table alone. Fulfillment calls ``extend_coverage`` once per
paid order line (retries are harmless), or, for a chunk of lines, ``CoverageBatch`` (the same
rules in a fixed number of statements); continuity calls ``mark_needs_sponsor`` when a
sponsor stops.
"""

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import ColumnElement, and_, false, insert, or_, select, true, update
from sqlalchemy.orm.attributes import set_committed_value

from core.dates import add_months, first_of_month, month_end
from extensions import db, utcnow
from workers.models import Coverage, Programme, Worker

LAPSING_WINDOW = timedelta(days=30)
MAX_MONTHS = 12  # dues can be paid at most 12 months ahead
COMPULSORY = frozenset({Programme.JKK, Programme.JKM})


class CoverageStatus(StrEnum):
    UNCOVERED = "uncovered"
    COVERED = "covered"
    LAPSING = "lapsing"  # cover ends within 30 days
    NEEDS_SPONSOR = "needs_sponsor"  # the previous sponsor stopped

    @property
    def label(self) -> LazyString:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    CoverageStatus.UNCOVERED: _l("Not covered"),
    CoverageStatus.COVERED: _l("Covered"),
    CoverageStatus.LAPSING: _l("Cover ends within 30 days"),
    CoverageStatus.NEEDS_SPONSOR: _l("Needs a new sponsor"),
}


class CoverageError(ValueError):
    """A call that cannot describe real cover (a programming error in the caller)."""


def coverage_status(worker: Worker, today: date) -> CoverageStatus:
    if worker.needs_sponsor:
        return CoverageStatus.NEEDS_SPONSOR
    if worker.covered_until is None or worker.covered_until < today:
        return CoverageStatus.UNCOVERED
    if worker.covered_until <= today + LAPSING_WINDOW:
        return CoverageStatus.LAPSING
    return CoverageStatus.COVERED


def status_condition(status: CoverageStatus, today: date) -> ColumnElement[bool]:
    """The SQL twin of ``coverage_status``; served by ix_workers_listed_status."""
    if status == CoverageStatus.NEEDS_SPONSOR:
        return Worker.needs_sponsor == true()
    not_flagged = Worker.needs_sponsor == false()
    if status == CoverageStatus.UNCOVERED:
        lapsed = or_(Worker.covered_until.is_(None), Worker.covered_until < today)
        return and_(not_flagged, lapsed)
    if status == CoverageStatus.LAPSING:
        return and_(not_flagged, Worker.covered_until.between(today, today + LAPSING_WINDOW))
    return and_(not_flagged, Worker.covered_until > today + LAPSING_WINDOW)


def _programmes(programmes: Iterable[str]) -> list[str]:
    try:
        chosen = {Programme(p) for p in programmes}
    except ValueError as exc:
        raise CoverageError(f"unknown programme: {exc}") from None
    if not chosen >= COMPULSORY:
        raise CoverageError("JKK and JKM are compulsory for BPU workers")
    return [p.value for p in Programme if p in chosen]


def extend_coverage(
    worker: Worker,
    *,
    months: int,
    first_month: date,
    order_line_id: int | None,
    programmes: Iterable[str],
) -> Coverage:
    """Record ``months`` months of cover from ``first_month`` (any day of that month).

    Idempotent per order line: a second call for the same ``order_line_id`` returns the
    first Coverage unchanged. Clears ``needs_sponsor``. Raises CoverageError for months
    outside 1–12, unknown programmes, or cover without the compulsory JKK and JKM.
    """
    if order_line_id is not None:
        existing = db.session.scalar(
            select(Coverage).where(Coverage.order_line_id == order_line_id)
        )
        if existing is not None:
            if existing.worker_id != worker.id:
                raise CoverageError("this order line already covers another worker")
            return existing
    if not 1 <= months <= MAX_MONTHS:
        raise CoverageError(f"months must be 1–{MAX_MONTHS}, not {months}")
    # Lock the worker so two fulfillments finishing together both count.
    locked = db.session.scalars(
        select(Worker)
        .where(Worker.id == worker.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    starts_on = first_of_month(first_month)
    coverage = Coverage(
        worker_id=worker.id,
        order_line_id=order_line_id,
        programmes=_programmes(programmes),
        months=months,
        starts_on=starts_on,
        ends_on=month_end(add_months(starts_on, months - 1)),
    )
    db.session.add(coverage)
    if locked.covered_until is None or coverage.ends_on > locked.covered_until:
        locked.covered_until = coverage.ends_on
    locked.needs_sponsor = False
    locked.needs_cover_from = locked.covered_until + timedelta(days=1)
    db.session.flush()
    return coverage


class CoverageBatch:
    """``extend_coverage`` for many order lines at once (a fulfillment chunk): ``add`` checks
    and plans each cover and returns it (its ``ends_on`` is known at once); ``apply`` then
    reads the lines' existing cover and locks the workers with one statement each, and writes
    the new rows and the workers' dates at the next flush, together. Idempotent per order line
    like ``extend_coverage``: a line already covered is left as it is."""

    def __init__(self) -> None:
        self.planned: list[Coverage] = []

    def add(
        self,
        worker: Worker,
        *,
        months: int,
        first_month: date,
        order_line_id: int | None,
        programmes: Iterable[str],
    ) -> Coverage:
        if not 1 <= months <= MAX_MONTHS:
            raise CoverageError(f"months must be 1–{MAX_MONTHS}, not {months}")
        starts_on = first_of_month(first_month)
        coverage = Coverage(
            worker_id=worker.id,
            order_line_id=order_line_id,
            programmes=_programmes(programmes),
            months=months,
            starts_on=starts_on,
            ends_on=month_end(add_months(starts_on, months - 1)),
        )
        self.planned.append(coverage)
        return coverage

    def apply(self) -> list[Coverage]:
        """Write the planned cover (the caller commits); returns the rows added."""
        planned, self.planned = self.planned, []
        line_ids = {c.order_line_id for c in planned if c.order_line_id is not None}
        existing = (
            {
                line_id: worker_id
                for line_id, worker_id in db.session.execute(
                    select(Coverage.order_line_id, Coverage.worker_id).where(
                        Coverage.order_line_id.in_(line_ids)
                    )
                )
            }
            if line_ids
            else {}
        )
        fresh: list[Coverage] = []
        for coverage in planned:
            line_id = coverage.order_line_id
            if line_id is not None and line_id in existing:
                if existing[line_id] != coverage.worker_id:
                    raise CoverageError("this order line already covers another worker")
                continue
            if line_id is not None:
                existing[line_id] = coverage.worker_id
            fresh.append(coverage)
        if not fresh:
            return []
        _extend_workers(fresh)
        # Plain rows in one executemany (nobody needs their ids; the planned objects stay
        # outside the session).
        db.session.execute(
            insert(Coverage),
            [
                {
                    "worker_id": c.worker_id,
                    "order_line_id": c.order_line_id,
                    "programmes": c.programmes,
                    "months": c.months,
                    "starts_on": c.starts_on,
                    "ends_on": c.ends_on,
                }
                for c in fresh
            ],
        )
        return fresh


def _extend_workers(coverages: Sequence[Coverage]) -> None:
    """Lock the workers (in id order, so two chunks never deadlock) and move their dates, with
    one UPDATE by primary key for all of them; the loaded workers are kept in step."""
    locked = {
        w.id: w
        for w in db.session.scalars(
            select(Worker)
            .where(Worker.id.in_({c.worker_id for c in coverages}))
            .order_by(Worker.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    until: dict[int, date] = {}
    for coverage in coverages:
        current = until.get(coverage.worker_id, locked[coverage.worker_id].covered_until)
        if current is None or coverage.ends_on > current:
            current = coverage.ends_on
        until[coverage.worker_id] = current
    now = utcnow()
    rows = [
        {
            "id": worker_id,
            "covered_until": ends,
            "needs_sponsor": False,
            "needs_cover_from": ends + timedelta(days=1),
            "updated_at": now,
        }
        for worker_id, ends in until.items()
    ]
    db.session.execute(update(Worker), rows)
    for row in rows:
        worker = locked[row["id"]]
        for key in ("covered_until", "needs_sponsor", "needs_cover_from", "updated_at"):
            set_committed_value(worker, key, row[key])


def mark_needs_sponsor(worker: Worker) -> None:
    """The worker's sponsor stopped: show them as needing a new sponsor (until covered)."""
    worker.needs_sponsor = True
    db.session.flush()
