"""The partner sandbox down for 60 seconds, then up: every part is issued after the recovery,
none is refunded, none takes effect twice. Time is injected (the fulfillment clock moves 5 s per
sweep) with the production retry settings; ``test_celery_worker.py`` runs the same outage in
real time against a real Celery worker."""

from typing import Any

import pytest
from sqlalchemy import func, select

from config import Config
from extensions import db
from fulfillment import clock, sweeper
from fulfillment.models import EventKind, FulfillmentEvent, FulfillmentItem, ItemStatus
from fulfillment.services import start_fulfillment
from sponsorship.checkout.models import Refund
from tests.fulfillment.conftest import fulfillment_config
from tests.fulfillment.support import (
    make_combofit,
    make_paid_order,
    make_workers,
    run_until_settled,
)

OUTAGE_S = 60
WORKERS = 20


@pytest.fixture
def app_config(sandbox, localstripe) -> dict[str, Any]:
    production_retries = {
        name: getattr(Config, name)
        for name in (
            "FULFILLMENT_MAX_ATTEMPTS",
            "FULFILLMENT_RETRY_BASE_S",
            "FULFILLMENT_RETRY_CAP_S",
            "PARTNER_API_MAX_TRIES",
            "PARTNER_API_RETRY_BASE_S",
        )
    }
    return fulfillment_config(sandbox, localstripe) | production_retries


def test_a_60_second_partner_outage_delays_every_part_and_loses_none(app, sandbox):
    sandbox.set_faults(down=True)
    combo = make_combofit(codes=WORKERS)
    start_fulfillment(make_paid_order(combo.bundle, make_workers(WORKERS)))
    db.session.commit()
    statuses = db.session.scalars(select(FulfillmentItem.status)).all()
    assert statuses.count(ItemStatus.RETRYING) == 2 * WORKERS  # dues and data wait
    assert statuses.count(ItemStatus.ISSUED) == WORKERS  # vouchers come from the pool

    for _ in range(OUTAGE_S // 5):
        clock.advance(5)
        sweeper.sweep()
        db.session.commit()
    assert sandbox.stats()["events"]["faults.down"] >= 2 * WORKERS
    assert sandbox.stats()["effects_total"] == 0
    sandbox.set_faults()  # the partner is back
    run_until_settled(step_s=5, max_rounds=200)

    assert set(db.session.scalars(select(FulfillmentItem.status))) == {ItemStatus.ISSUED}
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0
    failed = select(func.count()).where(FulfillmentEvent.kind == EventKind.FAILED)
    assert db.session.scalar(failed) == 0
    stats = sandbox.stats()
    assert stats["unique_effects"] == 3 * WORKERS  # registration, dues, top-up
    assert stats["duplicate_effects"] == 0
