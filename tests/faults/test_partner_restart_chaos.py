"""Chaos: a real Celery worker SIGKILLed mid-call, twice, and the partner sandbox itself killed
and restarted mid-run. Every part is issued and the partners act once per member: the sandbox
keeps its keys and effects across the restart (as a real insurer does), and an attempt after a
call whose outcome was never recorded asks the partner by reference before calling again.

Run twice: bulk top-ups settled by polls, and by the telco's batch callbacks posted for real to
Payung's web server (``payung_web``). With callbacks the first sandbox holds every batch's
callback 30 s and is killed (with the worker) as soon as it has made a bulk top-up: the
callbacks it took with it never come, and the fallback poll settles those top-ups. The
restarted sandbox calls back 1.5 s after each later batch, while the worker is killed again
(callbacks before the batch is committed, or for a batch whose answer the killed worker lost,
get 404 and are tried again). At the end every callback Payung accepted is posted again and
must change nothing."""

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from sqlalchemy import func, select

from bundles.models import FulfillmentMethod
from extensions import db
from fulfillment import sweeper
from fulfillment.models import ClaimCode, EventKind, FulfillmentEvent, FulfillmentItem, ItemStatus
from fulfillment.services import start_fulfillment
from sponsorship.checkout.models import Order, OrderLine, OrderStatus
from tests.conftest import ON_POSTGRES
from tests.faults.payung_web import CallbackRelay, callback_settings, payung_web, with_callbacks
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


@pytest.fixture(params=["polls", "callbacks"])
def settled_by(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def relay(app, settled_by, tmp_path) -> Iterator[CallbackRelay | None]:
    """With callbacks: Payung's web server and the relay the sandbox posts to."""
    if settled_by == "polls":
        yield None
        return
    with payung_web(CeleryWorker(app, tmp_path).env, tmp_path) as (_web, relay):
        app.config.update(callback_settings(relay.url))
        yield relay


@pytest.fixture
def worker(app, relay, tmp_path) -> Iterator[CeleryWorker]:
    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    celery = CeleryWorker(app, tmp_path)
    if relay is not None:
        celery.env = with_callbacks(celery.env, relay.url)
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


def topup_references(partner: RestartablePartner) -> set[str]:
    effects = partner.handle.stats()["effects"]
    return {e["reference"] for e in effects if e["kind"] == "telco.topup"}


def hold_callbacks(
    partner: RestartablePartner, relay: CallbackRelay | None, *, delay_ms: int
) -> None:
    """The telco keeps each batch's callback ``delay_ms``: kills land while it has some to
    deliver."""
    if relay is not None:
        requests.post(
            partner.handle.url("/_batch_faults"), json={"callback_delay_ms": delay_ms}, timeout=10
        ).raise_for_status()


def test_kill_9_of_worker_and_partner_restart_double_no_registration_payment_or_topup(
    app, partner, relay, worker
):
    # Every call takes a while, so kills land between a call and its record.
    partner.handle.set_faults(latency_ms=250, paths=["/telco/", "/health/", "/insurer/"])
    # The first telco holds every callback past its death; the second calls back within 1.5 s.
    hold_callbacks(partner, relay, delay_ms=30_000)
    combo = make_combofit(health_method=FulfillmentMethod.PARTNER_API)
    start_fulfillment(make_paid_order(combo.bundle, make_workers(WORKERS)))
    db.session.commit()
    rng = random.Random(13)

    worker.start()
    if relay is None:
        wait_for(8, worker, partner, timeout=45)
    else:  # as soon as the telco holds a batch's callback, so later batches go to the next one
        deadline = time.monotonic() + 45
        while not topup_references(partner):
            assert time.monotonic() < deadline, worker.logs()
            time.sleep(0.05)
    time.sleep(rng.uniform(0.1, 0.4))
    worker.kill()  # mid-call: notes committed, outcomes not
    topped_up = topup_references(partner)
    partner.kill_and_restart()  # the partner dies too, and comes back with what it kept
    partner.handle.set_faults(latency_ms=250)
    hold_callbacks(partner, relay, delay_ms=1500)  # a restarted sandbox has no switches
    worker.start()
    wait_for(issued() + 10, worker, partner, timeout=45)
    time.sleep(rng.uniform(0.1, 0.4))
    worker.kill()
    worker.start()
    partner.handle.set_faults()
    wait_for(PARTS, worker, partner, timeout=90)

    assert partner.restarts == 1
    assert count(FulfillmentItem.status != ItemStatus.ISSUED) == 0
    settled_everywhere(worker)
    assert_issued_once()
    if relay is not None:
        # The killed telco took its callbacks with it (the fallback poll covered them).
        held = topped_up - relay.references()
        print(f"{len(held)} of {len(topped_up)} top-ups' callbacks died with the partner")
        assert held
        assert_callbacks_changed_nothing_twice(relay)
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


def settled_everywhere(worker: CeleryWorker) -> None:
    """Every line settled (its one claim code) and the order fulfilled (the order's
    completion is a job of its own, so give it the time a sweep takes)."""
    deadline = time.monotonic() + 30
    while count(Order.status != OrderStatus.FULFILLED, model=Order):
        if time.monotonic() > deadline:
            raise AssertionError(f"the order was not completed\n{worker.logs()}")
        sweeper.sweep()
        db.session.commit()
        time.sleep(0.5)
    assert count(model=ClaimCode) == WORKERS
    lines = db.session.scalar(select(func.count(func.distinct(ClaimCode.order_line_id))))
    db.session.commit()
    assert lines == count(model=OrderLine) == WORKERS


def issued_events() -> Counter[int]:
    return Counter(
        db.session.scalars(
            select(FulfillmentEvent.item_id).where(FulfillmentEvent.kind == EventKind.ISSUED)
        )
    )


def assert_issued_once() -> None:
    events = issued_events()
    db.session.commit()
    assert len(events) == PARTS and set(events.values()) == {1}


def assert_callbacks_changed_nothing_twice(relay: CallbackRelay) -> None:
    """Callbacks really settled top-ups, each at most once, and none changes anything again."""
    accepted = relay.accepted()
    assert accepted, f"no callback was accepted: {relay.statuses()}"
    by_callback = sum(d.settled for d in accepted)
    print(f"callbacks: {relay.statuses()}, {by_callback} top-ups settled by callback")
    assert 0 < by_callback <= WORKERS  # the rest by the fallback poll or by reconciling
    before = issued_events(), count(model=FulfillmentEvent)
    replays = relay.replay_accepted()
    assert [d.status for d in replays] == [200] * len(accepted), [d.answer for d in replays]
    assert sum(d.settled for d in replays) == 0
    db.session.expire_all()
    assert (issued_events(), count(model=FulfillmentEvent)) == before
