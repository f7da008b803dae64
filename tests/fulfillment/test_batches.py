"""A paid order issued in chunks: code-pool parts from one claim of codes, BPJS dues as one
collective remittance, Telkomsel data as one bulk top-up polled once per batch; per-item
failures and lost answers: tests/faults/test_batch_faults.py."""

from sqlalchemy import func, select

from bundles.models import FulfillmentMethod, PoolCode, PoolCodeStatus
from extensions import db
from fulfillment.models import (
    ClaimCode,
    IssuedCode,
    ItemStatus,
    Remittance,
)
from fulfillment.services import start_fulfillment
from tests.fulfillment.batch_support import _no_item_faults, app_config  # noqa: F401 (fixtures)
from tests.fulfillment.batch_support import count_rows as _count
from tests.fulfillment.batch_support import items as _items
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers
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
