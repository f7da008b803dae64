"""PostgreSQL restarted in the middle of fulfillment: a real Celery worker on Redis issues a
ComboFit order against the partner sandbox while the database is stopped (every open connection
cut), kept down a few seconds, and started again. Jobs that crashed meanwhile are re-enqueued by
the sweeper; the idempotency keys make repeated partner calls harmless. It ends with SQL checks:
every part issued once, no pool code twice, no effect twice at the partners, nothing stuck.

The server restarted is a private cluster made for this test (``private_postgres``), never the
machine's shared PostgreSQL: other test runs use that one.

Run twice: bulk top-ups settled by polls, and by the telco's batch callbacks posted for real to
Payung's web server (``payung_web``, its own gunicorn process on the same private server). With
callbacks the telco sends each batch's callback 1 s after the batch, so callbacks arrive while
the server is down (Payung answers 5xx, the telco tries again) and after it is back; at the end
every accepted callback is posted again and must change nothing.
"""

import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
import requests
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app import create_app
from extensions import db
from fulfillment import clock, sweeper
from fulfillment.models import (
    IN_PROGRESS,
    ClaimCode,
    EventKind,
    FulfillmentEvent,
    FulfillmentItem,
    ItemStatus,
)
from fulfillment.services import start_fulfillment
from sponsorship.checkout.models import Order, OrderStatus
from tests.conftest import ON_POSTGRES
from tests.faults.payung_web import CallbackRelay, callback_settings, payung_web, with_callbacks
from tests.faults.private_postgres import PrivatePostgres, postgres_bin_dir, unavailable_reason
from tests.fulfillment.conftest import fulfillment_config
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers
from tests.fulfillment.test_celery_worker import WORKER_SETTINGS, CeleryWorker

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not ON_POSTGRES,
        reason="restarts a private PostgreSQL server of its own; runs once, in the PostgreSQL "
        "pass (PAYUNG_DATABASE_URL=postgresql…), not again in the SQLite pass",
    ),
]

BROKER = os.environ.get(
    "PAYUNG_TEST_REDIS_PG_RESTART", "redis://127.0.0.1:6379/12"
)  # test_celery_worker uses 14, bench/ 13
WORKERS = 40  # 120 parts: 40 pool vouchers, 40 dues (2 insurer calls), 40 top-ups
DOWN_S = 5


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None
    server = PrivatePostgres(bin_dir).init()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture(params=["polls", "callbacks"])
def settled_by(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def pg_app(private_postgres, sandbox, localstripe) -> Iterator[Flask]:
    config: dict[str, Any] = {
        "ENV_NAME": "testing",
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret",
        "FIELD_KEY": "test-field-key",
        "LOOKUP_KEY": "test-lookup-key",
        "DATABASE_URL": private_postgres.url,
        **fulfillment_config(sandbox, localstripe),
        **WORKER_SETTINGS,
        "CELERY_BROKER_URL": BROKER,
    }
    app = create_app(config)
    broker = redis.Redis.from_url(BROKER)
    broker.flushdb()
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()
    broker.flushdb()
    broker.close()


def tolerant(read: Callable[[], Any]) -> Any:
    """Run a read; while the server is down (or its old connections break) answer None."""
    try:
        value = read()
        db.session.commit()
        return value
    except DBAPIError:
        db.session.rollback()
        return None


def issued() -> int | None:
    return tolerant(
        lambda: db.session.scalar(
            select(func.count()).where(FulfillmentItem.status == ItemStatus.ISSUED)
        )
    )


def sweep_until(condition: Callable[[], bool], *, timeout: float, worker: CeleryWorker) -> None:
    """Sweep every 2 s, as beat would (beat's own connection breaks with the restart too)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; worker logs:\n{worker.logs()}")
        tolerant(sweeper.sweep)
        time.sleep(2)


@pytest.fixture
def relay(pg_app, sandbox, settled_by, tmp_path) -> Iterator[CallbackRelay | None]:
    """With callbacks: Payung's web server and the relay the sandbox posts to."""
    if settled_by == "polls":
        yield None
        return
    with payung_web(CeleryWorker(pg_app, tmp_path).env, tmp_path) as (_web, relay):
        pg_app.config.update(callback_settings(relay.url))
        yield relay
    # The session's sandbox keeps its batch switches across /_reset: turn them off.
    requests.post(sandbox.url("/_batch_faults"), json={}, timeout=10).raise_for_status()


def test_postgres_restarted_mid_run_loses_and_doubles_nothing(
    pg_app, private_postgres, sandbox, relay, tmp_path
):
    sandbox.set_faults(latency_ms=150)  # each partner call takes a moment: work is in flight
    sandbox.configure(topup_pending_polls=1)
    if relay is not None:
        requests.post(
            sandbox.url("/_batch_faults"), json={"callback_delay_ms": 1000}, timeout=10
        ).raise_for_status()
    combo = make_combofit(codes=WORKERS + 10)
    order = make_paid_order(combo.bundle, make_workers(WORKERS))
    start_fulfillment(order)
    db.session.commit()  # 120 jobs go to Redis
    order_id = order.id
    worker = CeleryWorker(pg_app, tmp_path)
    if relay is not None:
        worker.env = with_callbacks(worker.env, relay.url)
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while (issued() or 0) < 10:
            assert time.monotonic() < deadline, worker.logs()
            time.sleep(0.2)
        private_postgres.stop()  # "fast": every open connection is cut, mid-transaction
        time.sleep(DOWN_S)
        private_postgres.start()
        at_restart = issued()
        assert at_restart is not None and at_restart < 3 * WORKERS, "the restart came too late"

        sweep_until(lambda: issued() == 3 * WORKERS, timeout=400, worker=worker)
        sweep_until(
            lambda: (
                tolerant(lambda: db.session.get(Order, order_id).status) == OrderStatus.FULFILLED
            ),
            timeout=60,
            worker=worker,
        )
    finally:
        worker.kill()
    logs = worker.logs()
    assert "OperationalError" in logs  # jobs really met the dead server

    # --- SQL checks --------------------------------------------------------------------------
    def scalar(sql: str, **params: Any) -> Any:
        return db.session.execute(text(sql), params).scalar_one()

    statuses = dict(
        db.session.execute(
            select(FulfillmentItem.status, func.count()).group_by(FulfillmentItem.status)
        ).all()
    )
    assert statuses == {ItemStatus.ISSUED: 3 * WORKERS}  # none lost, none refunded
    # one item per priced part, never two
    assert (
        scalar(
            "SELECT count(*) FROM order_line_parts p JOIN order_lines l ON l.id = p.line_id "
            "WHERE l.order_id = :order_id AND NOT EXISTS "
            "(SELECT 1 FROM fulfillment_items i WHERE i.order_line_part_id = p.id)",
            order_id=order_id,
        )
        == 0
    )
    # one ISSUED event per item
    assert (
        scalar(
            "SELECT count(*) FROM (SELECT item_id FROM fulfillment_events "
            "WHERE kind = :issued GROUP BY item_id HAVING count(*) > 1) twice",
            issued=EventKind.ISSUED.value,
        )
        == 0
    )
    assert (
        db.session.scalar(select(func.count()).where(FulfillmentEvent.kind == EventKind.ISSUED))
        == 3 * WORKERS
    )
    # pool codes: each voucher item got one code, no code went to two items
    assert scalar("SELECT count(*) FROM issued_codes") == WORKERS
    assert scalar("SELECT count(DISTINCT pool_code_id) FROM issued_codes") == WORKERS
    assert scalar("SELECT count(DISTINCT item_id) FROM issued_codes") == WORKERS
    assert scalar("SELECT count(*) FROM pool_codes WHERE status = 'issued'") == WORKERS
    # one bundle code per worker
    assert db.session.scalar(select(func.count()).select_from(ClaimCode)) == WORKERS
    assert scalar("SELECT count(DISTINCT order_line_id) FROM claim_codes") == WORKERS
    # nothing stuck past the sweeper's deadline after a last sweep
    sweeper.sweep()
    db.session.commit()
    overdue = clock.now() - timedelta(seconds=float(pg_app.config["FULFILLMENT_STUCK_AFTER_S"]))
    assert (
        db.session.scalar(
            select(func.count()).where(
                FulfillmentItem.status.in_(IN_PROGRESS), FulfillmentItem.updated_at < overdue
            )
        )
        == 0
    )
    if relay is not None:
        assert_callbacks_changed_nothing_twice(relay)
    # the partners saw each effect once
    stats = sandbox.stats()
    assert stats["duplicate_effects"] == 0, stats["duplicate_references"]
    assert stats["effects_by_kind"] == {
        "insurer.registration": WORKERS,
        "insurer.dues": WORKERS,
        "telco.topup": WORKERS,
    }


def assert_callbacks_changed_nothing_twice(relay: CallbackRelay) -> None:
    """Callbacks really settled top-ups, each at most once, and none changes anything again."""
    accepted = relay.accepted()
    assert accepted, f"no callback was accepted: {relay.statuses()}"
    by_callback = sum(d.settled for d in accepted)
    print(f"callbacks: {relay.statuses()}, {by_callback} top-ups settled by callback")
    assert 0 < by_callback <= WORKERS  # the rest by the fallback poll
    # Callbacks really met the dead server (Payung answered 5xx, or nothing) and came again.
    assert any(d.status == 0 or d.status >= 500 for d in relay.deliveries), relay.statuses()
    events = select(func.count()).select_from(FulfillmentEvent)
    before = db.session.scalar(events)
    db.session.commit()
    replays = relay.replay_accepted()
    assert [d.status for d in replays] == [200] * len(accepted), [d.answer for d in replays]
    assert sum(d.settled for d in replays) == 0
    assert db.session.scalar(events) == before
    db.session.commit()
