"""PostgreSQL restarted in the middle of fulfillment: a real Celery worker on Redis issues a
ComboFit order against the partner sandbox while the database is stopped (every open connection
cut), kept down a few seconds, and started again. Jobs that crashed meanwhile are re-enqueued by
the sweeper; the idempotency keys make repeated partner calls harmless. It ends with SQL checks:
every part issued once, no pool code twice, no effect twice at the partners, nothing stuck.

The server restarted is a private cluster made for this test (``private_postgres``), never the
machine's shared PostgreSQL: other test runs use that one.
"""

import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
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


def test_postgres_restarted_mid_run_loses_and_doubles_nothing(
    pg_app, private_postgres, sandbox, tmp_path
):
    sandbox.set_faults(latency_ms=150)  # each partner call takes a moment: work is in flight
    sandbox.configure(topup_pending_polls=1)
    combo = make_combofit(codes=WORKERS + 10)
    order = make_paid_order(combo.bundle, make_workers(WORKERS))
    start_fulfillment(order)
    db.session.commit()  # 120 jobs go to Redis
    order_id = order.id
    worker = CeleryWorker(pg_app, tmp_path)
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
    # the partners saw each effect once
    stats = sandbox.stats()
    assert stats["duplicate_effects"] == 0, stats["duplicate_references"]
    assert stats["effects_by_kind"] == {
        "insurer.registration": WORKERS,
        "insurer.dues": WORKERS,
        "telco.topup": WORKERS,
    }
