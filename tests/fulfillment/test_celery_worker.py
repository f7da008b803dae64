"""A real Celery worker on Redis, killed with SIGKILL again and again while it issues 300 parts
against the partner sandbox; and the sandbox down for 60 real seconds. Every part ends issued
exactly once: ``acks_late`` + ``reject_on_worker_lost`` bring back a task whose worker died,
the idempotency keys make the retried calls harmless, and the sweeper catches the rest."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import func, select

from bundles.models import FulfillmentMethod
from extensions import db
from fulfillment import sweeper
from fulfillment.models import ClaimCode, EventKind, FulfillmentEvent, FulfillmentItem, ItemStatus
from fulfillment.services import start_fulfillment
from messaging.models import Message, MessageStatus
from sponsorship.checkout.models import Order, OrderStatus, Refund
from tests.conftest import ON_POSTGRES
from tests.fulfillment.conftest import fulfillment_config
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers

pytestmark = [
    pytest.mark.slow,
    # Celery workers on Redis are the production setup, and production runs on PostgreSQL;
    # these real-time tests (5 minutes) run once, in the PostgreSQL pass of CI.
    pytest.mark.skipif(
        not ON_POSTGRES,
        reason="a real Celery worker runs against PostgreSQL, as in production (PostgreSQL pass)",
    ),
]

REPO_ROOT = Path(__file__).resolve().parents[2]
# PAYUNG_TEST_REDIS_CELERY picks another Redis database (engineers working side by side).
BROKER = os.environ.get("PAYUNG_TEST_REDIS_CELERY", "redis://127.0.0.1:6379/14")
WORKER_SETTINGS = {
    "CELERY_BROKER_URL": BROKER,
    # A task a dead worker had taken comes back after 10 s (production: the default hour).
    "CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": 10},
    "FULFILLMENT_STUCK_AFTER_S": 5,
    "FULFILLMENT_RETRY_BASE_S": 3,
    "FULFILLMENT_RETRY_CAP_S": 20,
    "FULFILLMENT_MAX_ATTEMPTS": 10,  # ≥ 70 s of backoff: more than the 60 s outage
    "FULFILLMENT_POLL_INTERVAL_S": 1,
    # The telco and the insurer take batches (fulfillment.batches): the faults hit batches.
    "PARTNER_BATCH_APIS": ["telco", "insurer"],
    "FULFILLMENT_CHUNK_SIZE": 10,  # many small chunks, so the kills land mid-wave
}


@pytest.fixture
def app_config(sandbox, localstripe) -> dict[str, Any]:
    return fulfillment_config(sandbox, localstripe) | WORKER_SETTINGS


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


class CeleryWorker:
    """``celery -A celery_worker worker`` as a subprocess pointed at the test's database."""

    def __init__(self, app: Any, log_dir: Path, *, loglevel: str = "WARNING") -> None:
        keys = (
            "DATABASE_URL", "DATABASE_SCHEMA", "SECRET_KEY", "FIELD_KEY", "LOOKUP_KEY",
            "PARTNER_SANDBOX_URL", "PARTNER_SANDBOX_SECRETS", "PARTNER_SANDBOX_FALLBACK",
            "PARTNER_API_MAX_TRIES", "PARTNER_API_RETRY_BASE_S", *WORKER_SETTINGS,
        )  # fmt: skip
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PAYUNG_")}
        self.env["PAYUNG_ENV"] = "testing"
        for key in keys:
            if app.config.get(key) is not None:
                value = app.config[key]
                self.env[f"PAYUNG_{key}"] = value if isinstance(value, str) else json.dumps(value)
        self.log_dir = log_dir
        self.loglevel = loglevel  # INFO: a line for each task that ran, with what it returned
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = (self.log_dir / f"worker-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "celery_worker", "worker",
                f"--loglevel={self.loglevel}", "--concurrency=4", "--without-gossip",
                "--without-mingle", "--without-heartbeat", "-n", f"payung-test-{self.starts}@%h",
            ],
            cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes: no warm shutdown, no acks."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def logs(self) -> str:
        return "\n".join(p.read_text()[-2000:] for p in sorted(self.log_dir.glob("worker-*.log")))


@pytest.fixture
def celery_worker(app, broker, tmp_path) -> Iterator[CeleryWorker]:
    worker = CeleryWorker(app, tmp_path)
    yield worker
    worker.kill()


def count(*where: Any, model: Any = FulfillmentItem) -> int:
    value = db.session.scalar(select(func.count()).select_from(model).where(*where))
    db.session.commit()  # end the read: SQLite must not keep an old snapshot
    return value


def wait_until(condition: Any, *, timeout: float, worker: CeleryWorker, sweep_every=2.0) -> None:
    """Sweep like beat while waiting, as the production deployment does."""
    deadline = time.monotonic() + timeout
    last_sweep = 0.0
    while not condition():
        if time.monotonic() > deadline:
            statuses = db.session.execute(
                select(FulfillmentItem.status, func.count()).group_by(FulfillmentItem.status)
            ).all()
            raise AssertionError(f"timed out with {statuses}; worker logs:\n{worker.logs()}")
        if time.monotonic() - last_sweep > sweep_every:
            sweeper.sweep()
            db.session.commit()
            last_sweep = time.monotonic()
        time.sleep(0.3)


def test_a_worker_killed_again_and_again_still_issues_300_parts_once(app, sandbox, celery_worker):
    # Answers take a moment, so kills land mid-call; some answers are lost after the effect.
    sandbox.set_faults(latency_ms=40, drop_after_effect_rate=0.1, seed=7)
    sandbox.configure(topup_pending_polls=1)
    combo = make_combofit(health_method=FulfillmentMethod.PARTNER_API)
    order = make_paid_order(combo.bundle, make_workers(100))
    start_fulfillment(order)
    db.session.commit()  # 300 jobs go to Redis

    rng = random.Random(2026)
    kills = 0
    issued_at_kills = []
    celery_worker.start()
    while kills < 8:
        # Kill only once this worker is busy (it has issued something), mid-flight.
        before = count(FulfillmentItem.status == ItemStatus.ISSUED)
        wait_until(  # (chunks may finish the wave before the eighth kill: kill it anyway)
            lambda before=before: (
                count(FulfillmentItem.status == ItemStatus.ISSUED) > min(before, 299)
            ),
            timeout=180,
            worker=celery_worker,
            sweep_every=60,
        )
        time.sleep(rng.uniform(0.1, 1.0))
        celery_worker.kill()
        kills += 1
        issued_at_kills.append(count(FulfillmentItem.status == ItemStatus.ISSUED))
        sweeper.sweep()
        db.session.commit()
        celery_worker.start()
    wait_until(
        lambda: (
            count(FulfillmentItem.status == ItemStatus.ISSUED) == 300
            and count(Message.status == MessageStatus.SENT, model=Message) >= 100
        ),
        timeout=600,
        worker=celery_worker,
    )

    assert kills == 8
    assert any(0 < issued < 300 for issued in issued_at_kills), issued_at_kills  # mid-work
    assert count(FulfillmentItem.status != ItemStatus.ISSUED) == 0
    stats = sandbox.stats()
    assert stats["idempotent_replays"] > 0  # retried calls got the stored answers
    assert stats["duplicate_effects"] == 0, stats["duplicate_references"]
    assert stats["effects_by_kind"] == {
        "health.activation": 100,
        "insurer.registration": 100,
        "insurer.dues": 100,
        "telco.topup": 100,
    }
    assert count(model=ClaimCode) == 100
    assert count(Message.purpose == "claim_code", model=Message) == 100
    assert db.session.get(Order, order.id).status == OrderStatus.FULFILLED


def test_a_partner_down_for_60_seconds_delays_every_part_and_refunds_none(
    app, sandbox, celery_worker
):
    celery_worker.start()
    sandbox.set_faults(down=True)
    combo = make_combofit(codes=30)
    start_fulfillment(make_paid_order(combo.bundle, make_workers(30)))
    db.session.commit()
    went_down = time.monotonic()
    wait_until(lambda: time.monotonic() - went_down >= 60, timeout=90, worker=celery_worker)
    assert count(FulfillmentItem.status == ItemStatus.ISSUED) == 30  # only the vouchers
    assert sandbox.stats()["effects_total"] == 0
    sandbox.set_faults()

    wait_until(
        lambda: count(FulfillmentItem.status == ItemStatus.ISSUED) == 90,
        timeout=400,
        worker=celery_worker,
    )
    assert count(model=Refund) == 0
    assert count(FulfillmentEvent.kind == EventKind.FAILED, model=FulfillmentEvent) == 0
    retries = count(FulfillmentEvent.kind == EventKind.RETRY_SCHEDULED, model=FulfillmentEvent)
    assert retries >= 60  # every dues and data part waited out the outage
    stats = sandbox.stats()
    assert stats["events"]["faults.down"] >= 60
    assert stats["unique_effects"] == 90 and stats["duplicate_effects"] == 0
