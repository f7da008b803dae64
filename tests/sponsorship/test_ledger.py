"""The coverage ledger: a worker's stage through active → lapsing → arrears → ended and back,
and co-sponsorship counted in months."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from accounts.models import Role
from extensions import db
from sponsorship.continuity.ledger import (
    CoverageStage,
    covered_until,
    covered_until_by_worker,
    days_left,
    latest_sponsors_by_worker,
    months_funded_by_sponsor,
    stage_condition,
    stage_counts,
    stage_on,
    unpaid_months,
)
from tests.sponsorship.continuity_support import fund
from workers.models import Worker

JAN_31 = date(2027, 1, 31)


@pytest.mark.parametrize(
    ("today", "stage", "unpaid"),
    [
        (date(2027, 1, 17), CoverageStage.ACTIVE, 0),  # 15 days left
        (date(2027, 1, 18), CoverageStage.LAPSING, 0),  # 14 days left
        (date(2027, 1, 31), CoverageStage.LAPSING, 0),  # the last covered day
        (date(2027, 2, 15), CoverageStage.LAPSING, 0),  # February's dues still on time
        (date(2027, 2, 16), CoverageStage.ARREARS, 1),  # February is late
        (date(2027, 4, 16), CoverageStage.ARREARS, 3),
        (date(2027, 5, 15), CoverageStage.ARREARS, 3),  # May's dues not late yet
        (date(2027, 5, 16), CoverageStage.ENDED, 4),  # more than 3 unpaid months
    ],
)
def test_stage_follows_the_due_dates(today, stage, unpaid):
    assert stage_on(JAN_31, today) == stage
    assert unpaid_months(JAN_31, today) == unpaid


def test_never_covered_and_days_left():
    assert stage_on(None, date(2027, 1, 1)) == CoverageStage.NEVER
    assert days_left(JAN_31, JAN_31) == 1
    assert days_left(JAN_31, date(2027, 1, 18)) == 14
    assert days_left(None, JAN_31) == 0


def test_sql_twin_agrees_with_stage_on_every_day_of_a_year(app, make_worker):
    ends = [date(2026, 12, 31), date(2027, 1, 31), date(2027, 2, 28), date(2027, 6, 30)]
    workers = {until: make_worker(covered_until=until) for until in ends}
    never = make_worker()
    day = date(2026, 12, 1)
    while day < date(2027, 12, 1):
        for stage in CoverageStage:
            found = set(db.session.scalars(select(Worker.id).where(stage_condition(stage, day))))
            expected = {w.id for until, w in workers.items() if stage_on(until, day) == stage}
            if stage == CoverageStage.NEVER:
                expected.add(never.id)
            assert found == expected, (day, stage)
        day += timedelta(days=9)
    counts = stage_counts(date(2027, 2, 20))
    assert counts[CoverageStage.ENDED] == 0
    assert counts[CoverageStage.ARREARS] == 2  # December and January cover
    assert counts[CoverageStage.NEVER] == 1


def test_a_worker_walks_through_every_stage_and_back(app, make_worker, make_user, make_bundle):
    sponsor = make_user(Role.SPONSOR)
    bundle = make_bundle()
    worker = make_worker()
    assert stage_on(covered_until(worker.id), date(2026, 12, 1)) == CoverageStage.NEVER

    fund(worker, sponsor, bundle, months=3, first_month=date(2026, 11, 1))  # Nov–Jan
    walk = {
        date(2026, 12, 20): CoverageStage.ACTIVE,
        date(2027, 1, 20): CoverageStage.LAPSING,
        date(2027, 3, 1): CoverageStage.ARREARS,
        date(2027, 6, 1): CoverageStage.ENDED,
    }
    for today, stage in walk.items():
        assert stage_on(covered_until(worker.id), today) == stage, today

    fund(worker, sponsor, bundle, months=6, first_month=date(2027, 6, 1))  # a new payment
    assert covered_until(worker.id) == date(2027, 11, 30)
    assert stage_on(covered_until(worker.id), date(2027, 6, 2)) == CoverageStage.ACTIVE
    assert covered_until_by_worker([worker.id, 999_999]) == {worker.id: date(2027, 11, 30)}


def test_co_sponsors_are_counted_in_months(app, make_worker, make_user, make_bundle):
    first, second = make_user(Role.SPONSOR), make_user(Role.SPONSOR)
    bundle = make_bundle()
    worker = make_worker()
    fund(worker, first, bundle, months=3, first_month=date(2027, 1, 1))
    fund(worker, second, bundle, months=6, first_month=date(2027, 4, 1))
    fund(worker, first, bundle, months=1, first_month=date(2027, 10, 1))

    funded = months_funded_by_sponsor(worker.id)
    assert [(s.sponsor_id, s.months) for s in funded] == [(second.id, 6), (first.id, 4)]
    assert funded[1].last_month == date(2027, 10, 1)
    assert latest_sponsors_by_worker([worker.id]) == {worker.id: {first.id}}
    assert months_funded_by_sponsor(make_worker().id) == []


def test_the_profile_shows_months_per_sponsor_not_rupiah(
    app, make_registered_worker, make_user, make_bundle, login_as
):
    first, second = make_user(Role.SPONSOR), make_user(Role.SPONSOR)
    bundle = make_bundle()
    worker = make_registered_worker()
    fund(worker, first, bundle, months=3, first_month=date(2027, 1, 1))
    fund(worker, second, bundle, months=6, first_month=date(2027, 4, 1))
    html = login_as(first).get(f"/pekerja/{worker.id}").get_data(as_text=True)
    assert "Bulan terlindungi, per sponsor" in html
    assert "Anda: 3 bulan" in html
    assert "Sponsor lain: 6 bulan" in html
    assert second.display_name not in html
    assert "Rp" not in html.split("Bulan terlindungi")[1].split("</ul>")[0]
