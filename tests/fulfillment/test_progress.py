"""What the sponsor's order page shows: each part's true state per worker; nothing reads
"done" while a part is pending; a constant number of queries however big the order."""

from sqlalchemy import select

from bundles.models import FulfillmentMethod
from extensions import db
from fulfillment.models import FulfillmentItem
from fulfillment.progress import PartState
from fulfillment.services import order_progress, start_fulfillment
from sponsorship.checkout.models import Order
from tests.fulfillment.support import (
    make_combofit,
    make_paid_order,
    make_workers,
    run_until_settled,
)


def test_progress_follows_every_part_and_is_done_only_when_all_are(app, sandbox, pay):
    combo = make_combofit(codes=5)
    combo.quota.operator = None
    workers = make_workers(1) + make_workers(1, phone_e164="+6285700000009")  # not Telkomsel
    order = make_paid_order(combo.bundle, workers, pay=pay)

    before = order_progress(order)
    assert before.count(PartState.NOT_STARTED) == 6
    assert not before.is_complete

    start_fulfillment(order)
    db.session.commit()
    during = order_progress(db.session.get(Order, order.id))
    first, second = during.lines
    assert first.worker_label == "Sri R."
    assert [p.state for p in first.parts] == [
        PartState.ISSUED,
        PartState.ISSUED,
        PartState.PROCESSING,  # the telco said "pending"
    ]
    assert not first.is_done and not during.is_complete
    assert first.claim_code_sent_at is None  # not until every part is settled
    assert during.in_progress == 1
    assert [p.state for p in second.parts][2] == PartState.REFUNDED
    assert second.parts[2].refunded_idr == second.parts[2].amount_idr

    run_until_settled(step_s=30)
    after = order_progress(db.session.get(Order, order.id))
    assert after.is_complete
    assert after.count(PartState.ISSUED) == 5 and after.count(PartState.REFUNDED) == 1
    assert after.refunded_idr == second.parts[2].amount_idr
    assert all(line.is_done for line in after.lines)
    assert after.lines[0].claim_code_sent_at is not None
    shown = repr(after)
    for worker in workers:
        assert worker.phone_e164 not in shown and worker.full_name not in shown


def test_a_substituted_part_shows_what_the_worker_gets(app, sandbox):
    combo = make_combofit(codes=0)
    order = make_paid_order(combo.bundle, make_workers(1))
    start_fulfillment(order)
    db.session.commit()
    health = db.session.scalar(
        select(FulfillmentItem).where(FulfillmentItem.method == FulfillmentMethod.CODE_POOL)
    )
    progress = order_progress(order)
    part = next(p for p in progress.lines[0].parts if p.item_id == health.id)
    assert part.state == PartState.RETRYING
    assert part.offer_name("en") == "Fita Premium, 30 days"
    assert part.offer_name("id") == "Fita Premium 30 hari"


def test_progress_takes_the_same_number_of_queries_for_2_or_40_workers(app, sandbox, count_queries):
    combo = make_combofit(codes=60)
    small = make_paid_order(combo.bundle, make_workers(2))
    large = make_paid_order(combo.bundle, make_workers(40))
    for order in (small, large):
        start_fulfillment(order)
    db.session.commit()
    sizes = []
    for order in (small, large):
        order = db.session.get(Order, order.id)
        with count_queries() as queries:
            progress = order_progress(order)
        sizes.append(len(queries))
        assert progress.total_parts == len(progress.lines) * 3
    assert sizes[0] == sizes[1] <= 10
    page = order_progress(db.session.get(Order, large.id), offset=10, limit=5)
    assert len(page.lines) == 5 and page.line_count == 40 and page.total_parts == 120
