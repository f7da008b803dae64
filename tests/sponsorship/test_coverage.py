"""Cover as the directory shows it: ``extend_coverage`` keeps the worker's covered-until date,
"needs a new sponsor" flag and waiting date in step with the Coverage ledger."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from extensions import db
from sponsorship.checkout.models import Order, OrderLine
from workers.coverage import (
    CoverageError,
    CoverageStatus,
    coverage_status,
    extend_coverage,
    mark_needs_sponsor,
    status_condition,
)
from workers.models import Coverage, Worker

TODAY = date(2026, 11, 25)


def order_line(worker: Worker, sponsor, bundle, *, months: int = 3) -> OrderLine:
    order = Order(reference=f"PAY-{worker.id}-{months}", sponsor_id=sponsor.id, total_idr=50_400)
    line = OrderLine(
        worker_id=worker.id,
        bundle_id=bundle.id,
        months=months,
        first_month=date(2027, 1, 1),
        total_idr=50_400,
    )
    order.lines.append(line)
    db.session.add(order)
    db.session.flush()
    return line


def test_three_months_from_january_cover_until_the_end_of_march(make_registered_worker):
    worker = make_registered_worker()
    coverage = extend_coverage(
        worker,
        months=3,
        first_month=date(2027, 1, 15),
        order_line_id=None,
        programmes=["JKM", "JKK"],
    )
    db.session.commit()
    assert (coverage.starts_on, coverage.ends_on) == (date(2027, 1, 1), date(2027, 3, 31))
    assert coverage.programmes == ["JKK", "JKM"]
    worker = db.session.get(Worker, worker.id)
    assert worker.covered_until == date(2027, 3, 31)
    assert worker.needs_cover_from == date(2027, 4, 1)
    assert coverage_status(worker, TODAY) == CoverageStatus.COVERED


def test_renewal_extends_and_an_earlier_line_never_shortens(make_registered_worker):
    worker = make_registered_worker()
    extend_coverage(
        worker,
        months=12,
        first_month=date(2027, 1, 1),
        order_line_id=None,
        programmes=["JKK", "JKM", "JHT"],
    )
    extend_coverage(
        worker,
        months=1,
        first_month=date(2027, 2, 1),
        order_line_id=None,
        programmes=["JKK", "JKM"],
    )
    assert worker.covered_until == date(2027, 12, 31)
    extend_coverage(
        worker,
        months=6,
        first_month=date(2028, 1, 1),
        order_line_id=None,
        programmes=["JKK", "JKM"],
    )
    assert worker.covered_until == date(2028, 6, 30)
    assert db.session.scalar(select(func.count()).select_from(Coverage)) == 3


def test_the_same_order_line_counts_once(make_registered_worker, make_user, make_bundle):
    worker = make_registered_worker()
    line = order_line(worker, make_user(Role.SPONSOR), make_bundle())
    first = extend_coverage(
        worker,
        months=3,
        first_month=date(2027, 1, 1),
        order_line_id=line.id,
        programmes=["JKK", "JKM"],
    )
    again = extend_coverage(
        worker,
        months=3,
        first_month=date(2027, 1, 1),
        order_line_id=line.id,
        programmes=["JKK", "JKM"],
    )
    db.session.commit()
    assert again.id == first.id
    assert db.session.scalar(select(func.count()).select_from(Coverage)) == 1
    other = make_registered_worker()
    with pytest.raises(CoverageError):
        extend_coverage(
            other,
            months=3,
            first_month=date(2027, 1, 1),
            order_line_id=line.id,
            programmes=["JKK", "JKM"],
        )


@pytest.mark.parametrize(
    ("months", "programmes"),
    [(0, ["JKK", "JKM"]), (13, ["JKK", "JKM"]), (3, ["JKK"]), (3, ["JKK", "JKM", "JP"])],
)
def test_cover_that_cannot_exist_is_refused(make_registered_worker, months, programmes):
    worker = make_registered_worker()
    with pytest.raises(CoverageError):
        extend_coverage(
            worker,
            months=months,
            first_month=date(2027, 1, 1),
            order_line_id=None,
            programmes=programmes,
        )
    assert db.session.scalar(select(func.count()).select_from(Coverage)) == 0
    assert worker.covered_until is None


def test_a_worker_whose_sponsor_stops_needs_a_new_one_until_covered_again(make_registered_worker):
    worker = make_registered_worker(covered_until=TODAY + timedelta(days=40))
    mark_needs_sponsor(worker)
    assert coverage_status(worker, TODAY) == CoverageStatus.NEEDS_SPONSOR
    extend_coverage(
        worker,
        months=1,
        first_month=date(2027, 1, 1),
        order_line_id=None,
        programmes=["JKK", "JKM"],
    )
    assert not worker.needs_sponsor
    assert coverage_status(worker, TODAY) == CoverageStatus.COVERED


@pytest.mark.parametrize(
    ("covered_until", "status"),
    [
        (None, CoverageStatus.UNCOVERED),
        (TODAY - timedelta(days=1), CoverageStatus.UNCOVERED),
        (TODAY, CoverageStatus.LAPSING),
        (TODAY + timedelta(days=30), CoverageStatus.LAPSING),
        (TODAY + timedelta(days=31), CoverageStatus.COVERED),
    ],
)
def test_status_thresholds(make_registered_worker, covered_until, status):
    assert coverage_status(make_registered_worker(covered_until=covered_until), TODAY) == status


def test_the_sql_filter_agrees_with_the_card(make_registered_worker):
    dates = [
        None,
        TODAY - timedelta(days=400),
        TODAY - timedelta(days=1),
        TODAY,
        TODAY + timedelta(days=30),
        TODAY + timedelta(days=31),
        TODAY + timedelta(days=300),
    ]
    workers = [make_registered_worker(covered_until=d) for d in dates]
    workers += [make_registered_worker(covered_until=d, needs_sponsor=True) for d in dates[:4]]
    for status in CoverageStatus:
        found = set(db.session.scalars(select(Worker.id).where(status_condition(status, TODAY))))
        expected = {w.id for w in workers if coverage_status(w, TODAY) == status}
        assert found == expected, status
