"""A paid order issued in chunks: code-pool parts from one claim of codes, BPJS dues as one
collective remittance, Telkomsel data as one bulk top-up polled once per batch; per-item
failures and lost answers: tests/faults/test_batch_faults.py."""

from datetime import date

from sqlalchemy import func, select, update

from bundles.codes import pools
from bundles.models import FulfillmentMethod, PoolCode, PoolCodeStatus
from extensions import db
from fulfillment.batches import pool as batch_pool
from fulfillment.models import (
    ClaimCode,
    FulfillmentItem,
    IssuedCode,
    ItemStatus,
    Remittance,
)
from fulfillment.services import start_fulfillment
from tests.fulfillment.batch_support import _no_item_faults, app_config  # noqa: F401 (fixtures)
from tests.fulfillment.batch_support import count_rows as _count
from tests.fulfillment.batch_support import items as _items
from tests.fulfillment.support import (
    add_pool_codes,
    make_combofit,
    make_paid_order,
    make_workers,
)
from tests.fulfillment.support import run_until_settled as settle


def test_a_chunk_issues_every_part_with_one_call_per_partner_and_batch(app, sandbox):
    combo = make_combofit(codes=12)
    start_fulfillment(make_paid_order(combo.bundle, make_workers(5)))
    db.session.commit()
    # Pool codes and dues are issued in the chunk itself; top-ups wait for the telco.
    assert {i.status for i in _items(FulfillmentMethod.CODE_POOL)} == {ItemStatus.ISSUED}
    assert {i.status for i in _items(FulfillmentMethod.DUES_REMITTANCE)} == {ItemStatus.ISSUED}
    assert {i.status for i in _items(FulfillmentMethod.PARTNER_API)} == {
        ItemStatus.AWAITING_PARTNER
    }
    settle(step_s=60)  # every top-up due at each sweep: polled together
    assert {i.status for i in _items()} == {ItemStatus.ISSUED}
    stats = sandbox.stats()
    # One collective registration, one collective remittance, one bulk top-up, and one status
    # query per poll round (a top-up is final on its second poll).
    assert stats["requests"]["by_api"] == {"insurer": 2, "telco": 3}
    assert stats["effects_by_kind"] == {
        "insurer.registration": 5,
        "insurer.dues": 5,
        "telco.topup": 5,
    }
    assert stats["duplicate_effects"] == 0
    assert _count(Remittance) == 5 and _count(ClaimCode) == 5
    # Five codes issued, each once, seven left.
    assert _count(IssuedCode) == 5
    left = db.session.scalar(
        select(func.count()).where(PoolCode.status == PoolCodeStatus.AVAILABLE)
    )
    assert left == 7


def test_orders_of_one_chunk_draw_free_codes_together_and_held_codes_their_own(app, monkeypatch):
    combo = make_combofit(codes=0)
    add_pool_codes(combo.health, 3, expires_on=date(2031, 6, 30))
    add_pool_codes(combo.health, 2, expires_on=date(2030, 1, 31))  # these go first
    combo.health.low_stock_threshold = 3
    held_by, first, second = (make_paid_order(combo.bundle, make_workers(1)) for _ in range(3))
    # A paid order's hold (no end) on one of the later codes.
    held = db.session.scalar(
        select(func.max(PoolCode.id)).where(PoolCode.expires_on == date(2031, 6, 30))
    )
    db.session.execute(
        update(PoolCode).where(PoolCode.id == held).values(reserved_order_id=held_by.id)
    )
    draws, checks = [], []
    real_draw, real_check = batch_pool.draw_codes, batch_pool.check_low_stock
    monkeypatch.setattr(
        batch_pool, "draw_codes", lambda *a, **k: draws.append(k) or real_draw(*a, **k)
    )
    monkeypatch.setattr(
        batch_pool, "check_low_stock", lambda offer: checks.append(offer.id) or real_check(offer)
    )
    for order in (held_by, first, second):  # paid in one transaction: one chunk
        start_fulfillment(order)
    db.session.commit()

    issued = dict(
        db.session.execute(
            select(FulfillmentItem.order_id, IssuedCode.pool_code_id).join(
                IssuedCode, IssuedCode.item_id == FulfillmentItem.id
            )
        ).all()
    )
    assert issued[held_by.id] == held  # its own code, not a free one
    expiring_first = set(
        db.session.scalars(select(PoolCode.id).where(PoolCode.expires_on == date(2030, 1, 31)))
    )
    assert {issued[first.id], issued[second.id]} == expiring_first
    assert len(set(issued.values())) == 3
    # One draw for the order holding codes, one for the free codes of the two others.
    assert sorted(d["order_id"] or 0 for d in draws) == [0, held_by.id]
    assert checks == [combo.health.id]  # the low-stock check once for the offer
    assert pools.available_up_to(combo.health, 10) == 2  # five, less three issued
    assert pools.available_up_to(combo.health, 1) == 1  # counted only up to the cap
    assert db.session.get(type(combo.health), combo.health.id).low_stock_alerted_at is not None
