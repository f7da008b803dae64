"""A slow partner: every call takes a while and many answers never come back in time (the
sandbox stores the effect, then hangs past Payung's timeout). Every part still ends issued, and
the partners see each effect once: a retry reuses its Idempotency-Key and gets the stored answer.
(``tests/fulfillment/test_outage.py`` and ``test_celery_worker.py`` cover a partner that is down.)
"""

from typing import Any

import pytest
from sqlalchemy import func, select

from extensions import db
from fulfillment.models import EventKind, FulfillmentEvent, FulfillmentItem, ItemStatus
from fulfillment.services import start_fulfillment
from sponsorship.checkout.models import Order, OrderStatus, Refund
from tests.fulfillment.conftest import fulfillment_config
from tests.fulfillment.support import (
    make_combofit,
    make_paid_order,
    make_workers,
    run_until_settled,
)

pytestmark = pytest.mark.slow

WORKERS = 8
TIMEOUT_S = 0.6  # Payung gives up on an answer after this long


@pytest.fixture
def app_config(sandbox, localstripe) -> dict[str, Any]:
    return fulfillment_config(sandbox, localstripe) | {
        "PARTNER_API_TIMEOUT_S": TIMEOUT_S,
        "PARTNER_API_MAX_TRIES": 2,
        "FULFILLMENT_MAX_ATTEMPTS": 12,
    }


def test_a_slow_partner_that_times_out_still_gets_every_part_issued_once(app, sandbox):
    # 150 ms per call; 40 % of the answers hang for 1.5 s after the effect is stored.
    sandbox.set_faults(latency_ms=150, timeout=1.5, timeout_rate=0.4, seed=11)
    combo = make_combofit(codes=WORKERS)
    order = make_paid_order(combo.bundle, make_workers(WORKERS))
    start_fulfillment(order)
    db.session.commit()
    run_until_settled(step_s=600, max_rounds=80)

    statuses = dict(
        db.session.execute(
            select(FulfillmentItem.status, func.count()).group_by(FulfillmentItem.status)
        ).all()
    )
    assert statuses == {ItemStatus.ISSUED: 3 * WORKERS}
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0
    issued_events = db.session.scalar(
        select(func.count()).where(FulfillmentEvent.kind == EventKind.ISSUED)
    )
    assert issued_events == 3 * WORKERS  # once per item
    assert db.session.get(Order, order.id).status == OrderStatus.FULFILLED
    stats = sandbox.stats()
    assert stats["events"].get("faults.timeout", 0) > 0  # answers really were lost
    assert stats["idempotent_replays"] > 0  # the repeated calls got the stored answers
    assert stats["duplicate_effects"] == 0, stats["duplicate_references"]
    assert stats["effects_by_kind"] == {
        "insurer.registration": WORKERS,
        "insurer.dues": WORKERS,
        "telco.topup": WORKERS,
    }
