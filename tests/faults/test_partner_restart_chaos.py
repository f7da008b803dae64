"""Chaos: a real Celery worker SIGKILLed mid-call, twice, and the partner sandbox itself killed
and restarted mid-run. Every part is issued and the partners act once per member: the sandbox
keeps its keys and effects across the restart (as a real insurer does), and an attempt after a
call whose outcome was never recorded asks the partner by reference before calling again."""

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bundles.models import FulfillmentMethod
from extensions import db
from fulfillment import sweeper
from fulfillment.models import FulfillmentItem, ItemStatus
from fulfillment.services import start_fulfillment
from tests.conftest import ON_POSTGRES
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers
from tests.fulfillment.test_celery_worker import WORKER_SETTINGS, CeleryWorker, count
from tests.sandbox_support import PartnerSandbox, start_partner_sandbox, stop_partner_sandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not ON_POSTGRES,
        reason="a real Celery worker runs against PostgreSQL, as in production (PostgreSQL pass)",
    ),
]

WORKERS = 20
PARTS = 3 * WORKERS
# Its own Redis database: test_celery_worker uses 14, test_postgres_restart 12, bench/ 13.
BROKER = os.environ.get("PAYUNG_TEST_REDIS_CHAOS", "redis://127.0.0.1:6379/11")


class RestartablePartner:
    """Its own ``python -m sandbox`` with a state dir, restartable on the same port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.process, self.handle = start_partner_sandbox(
            directory / "sandbox.log", state_dir=directory
        )
        self.restarts = 0

    def kill_and_restart(self) -> None:
        self.process.kill()  # SIGKILL: no clean shutdown, whatever was in flight is lost
        self.process.wait()
        port = int(self.handle.base_url.rsplit(":", 1)[1])
        self.process, self.handle = start_partner_sandbox(
            self.directory / "sandbox.log", state_dir=self.directory, port=port
        )
        self.restarts += 1


@pytest.fixture
def partner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartablePartner]:
    partner = RestartablePartner(tmp_path_factory.mktemp("restartable-partner"))
    yield partner
    stop_partner_sandbox(partner.process)


@pytest.fixture
def app_config(partner: RestartablePartner, localstripe) -> dict[str, Any]:
    sandbox: PartnerSandbox = partner.handle
    return {
        **localstripe.app_config(),
        "PARTNER_SANDBOX_FALLBACK": True,
        "PARTNER_SANDBOX_URL": sandbox.base_url,
        "PARTNER_SANDBOX_SECRETS": dict(sandbox.secrets),
        "PARTNER_API_MAX_TRIES": 2,
        "PARTNER_API_RETRY_BASE_S": 0.01,
        **WORKER_SETTINGS,
        "CELERY_BROKER_URL": BROKER,
        "FULFILLMENT_RETRY_BASE_S": 1,
        "FULFILLMENT_RETRY_CAP_S": 5,
        "FULFILLMENT_MAX_ATTEMPTS": 20,
    }


@pytest.fixture
def worker(app, tmp_path) -> Iterator[CeleryWorker]:
    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    celery = CeleryWorker(app, tmp_path)
    yield celery
    celery.kill()
    client.flushdb()
    client.close()


def issued() -> int:
    return count(FulfillmentItem.status == ItemStatus.ISSUED)


def wait_for(at_least: int, worker: CeleryWorker, partner: RestartablePartner, timeout: float):
    deadline = time.monotonic() + timeout
    last_sweep = time.monotonic()
    while issued() < at_least:
        if time.monotonic() > deadline:
            log = (partner.directory / "sandbox.log").read_text()[-2000:]
            raise AssertionError(f"{issued()} of {at_least} issued\n{worker.logs()}\n{log}")
        if time.monotonic() - last_sweep > 2:  # as beat would
            sweeper.sweep()
            db.session.commit()
            last_sweep = time.monotonic()
        time.sleep(0.2)


def test_kill_9_of_worker_and_partner_restart_double_no_registration_payment_or_topup(
    app, partner, worker
):
    # Every call takes a while, so kills land between a call and its record.
    partner.handle.set_faults(latency_ms=250, paths=["/telco/", "/health/", "/insurer/"])
    combo = make_combofit(health_method=FulfillmentMethod.PARTNER_API)
    start_fulfillment(make_paid_order(combo.bundle, make_workers(WORKERS)))
    db.session.commit()
    rng = random.Random(13)

    worker.start()
    wait_for(8, worker, partner, timeout=45)
    time.sleep(rng.uniform(0.1, 0.4))
    worker.kill()  # mid-call: notes committed, outcomes not
    partner.kill_and_restart()  # the partner dies too, and comes back with what it kept
    partner.handle.set_faults(latency_ms=250)
    worker.start()
    wait_for(issued() + 10, worker, partner, timeout=45)
    time.sleep(rng.uniform(0.1, 0.4))
    worker.kill()
    worker.start()
    partner.handle.set_faults()
    wait_for(PARTS, worker, partner, timeout=90)

    assert partner.restarts == 1
    assert count(FulfillmentItem.status != ItemStatus.ISSUED) == 0
    assert count(FulfillmentItem.partner_call_started_at.is_not(None)) == 0  # all reconciled
    stats = partner.handle.stats()
    effects = stats["effects"]
    per_reference = Counter((e["kind"], e["reference"]) for e in effects)
    assert max(per_reference.values()) == 1, stats["duplicate_references"]
    assert stats["duplicate_effects"] == 0
    assert stats["effects_by_kind"] == {
        "insurer.registration": WORKERS,
        "insurer.dues": WORKERS,
        "telco.topup": WORKERS,
        "health.activation": WORKERS,
    }
    # Per member: one registration (one KPJ each) and one dues payment per KPJ.
    kpjs = Counter(e["effect_id"] for e in effects if e["kind"] == "insurer.registration")
    assert len(kpjs) == WORKERS and set(kpjs.values()) == {1}
