"""With a Redis broker a message is delivered by ``messaging.deliver_due``, one run for the
messages of every request that commits within the batch window: the first commit sets a key
beside the queue and publishes the run, the others find the key and publish nothing; the run
clears the key before it reads, so nothing committed meanwhile is left without a run. Each
message is still delivered once (row locks, status checked under them)."""

import logging
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from kombu.exceptions import OperationalError
from sqlalchemy import create_engine, func, select, text

import jobs
from extensions import db, utcnow
from messaging import tasks
from messaging.delivery import DELIVER_DUE_TASK
from messaging.models import Channel, Message, MessageStatus
from messaging.services import queue_message
from tests.conftest import ON_POSTGRES
from tests.core.broker_support import (
    BROKER,
    PublishedJobs,
    close_broker_connections,
    logged,
)
from tests.fulfillment.test_celery_worker import CeleryWorker

PHONE = "+6281234567890"
RUN = (DELIVER_DUE_TASK, "()")  # as the broker's queue shows it


@pytest.fixture
def published() -> Iterator[PublishedJobs]:
    jobs_ = PublishedJobs()
    yield jobs_
    jobs_.empty()


@pytest.fixture
def app_config(published: PublishedJobs) -> dict[str, Any]:
    return published.config()


@pytest.fixture(autouse=True)
def broker_connections_closed(app: Flask) -> Iterator[None]:
    yield
    close_broker_connections(app)


def wake_key(published: PublishedJobs) -> bytes | None:
    store = redis.Redis.from_url(BROKER)
    try:
        return store.get(f"{published.prefix}payung:wake:{DELIVER_DUE_TASK}")
    finally:
        store.close()


def sms(n: int, **columns: Any) -> Message:
    message = queue_message(
        channel=Channel.SMS, recipient=PHONE, body=f"Payung: kode {n}", purpose="sign_in"
    )
    for name, value in columns.items():
        setattr(message, name, value)
    return message


def statuses() -> list[tuple[str, int]]:
    rows = db.session.execute(select(Message.status, Message.attempts).order_by(Message.id))
    found = [(status, attempts) for status, attempts in rows]
    db.session.commit()
    return found


def test_a_burst_of_commits_wakes_one_run_and_it_delivers_them_all(app, published) -> None:
    assert jobs.coalesces_wake_ups()
    for n in range(3):
        sms(n)
        db.session.commit()
    assert published.tasks() == [RUN]  # the first commit published; the others found the key
    assert wake_key(published) is not None
    assert statuses() == [(MessageStatus.QUEUED, 0)] * 3

    assert tasks.deliver_due() == 3
    assert statuses() == [(MessageStatus.SENT, 1)] * 3
    assert wake_key(published) is None  # cleared before the run read anything

    sms(3)
    db.session.commit()  # after the run started: a run of its own
    assert published.tasks() == [RUN, RUN]


def test_a_transaction_with_several_messages_asks_once(app, published) -> None:
    for n in range(4):
        sms(n)
    pending = [entry for entry in db.session.info[jobs._PENDING] if entry[2] == "task " + RUN[0]]
    assert len(pending) == 1
    db.session.commit()
    assert published.tasks() == [RUN]


def test_a_savepoint_rolled_back_takes_only_its_own_wake_up(app, published) -> None:
    savepoint = db.session.begin_nested()
    sms(0)
    savepoint.rollback()  # its message and its wake-up are gone
    sms(1)  # asks again: the one left was the savepoint's, not the transaction's
    db.session.commit()
    assert published.tasks() == [RUN]
    assert tasks.deliver_due() == 1
    assert statuses() == [(MessageStatus.SENT, 1)]


def test_a_message_rolled_back_wakes_nothing(app, published) -> None:
    sms(0)
    db.session.rollback()
    db.session.commit()
    assert published.tasks() == []
    assert wake_key(published) is None


def test_a_run_takes_only_messages_whose_time_has_come(app, published) -> None:
    later = utcnow() + timedelta(minutes=5)
    sms(0)
    sms(1, next_attempt_at=later)  # waiting out a backoff
    sms(2, status=MessageStatus.SENT)
    db.session.commit()
    assert tasks.deliver_due() == 1
    assert statuses() == [
        (MessageStatus.SENT, 1),
        (MessageStatus.QUEUED, 0),
        (MessageStatus.SENT, 0),
    ]


def test_a_run_that_finds_more_than_it_may_take_leaves_the_rest_to_a_fresh_run(
    app, published, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "MESSAGING_BATCH_SIZE", 2)
    monkeypatch.setattr(tasks, "MAX_BATCHES_A_RUN", 2)
    for n in range(5):
        sms(n)
    db.session.commit()
    assert tasks.deliver_due() == 4  # two batches, each its own transaction
    assert [s for s, _ in statuses()].count(MessageStatus.QUEUED) == 1
    assert published.tasks() == [RUN, RUN]  # the commit's, and the fresh one for the rest
    assert tasks.deliver_due() == 1
    assert [s for s, _ in statuses()] == [MessageStatus.SENT] * 5


def test_a_publish_that_fails_leaves_no_key_so_the_next_commit_tries_again(
    app, published, monkeypatch, caplog
) -> None:
    caplog.set_level(logging.INFO)
    with monkeypatch.context() as patched:

        def refused(*args: object, **kwargs: object) -> None:
            raise OperationalError("refused")

        patched.setattr(jobs.task(DELIVER_DUE_TASK), "apply_async", refused)
        sms(0)
        db.session.commit()  # saved; the failure is logged, not raised
    assert logged(caplog, "jobs", logging.ERROR) == [
        "after the commit, task messaging.deliver_due failed: the broker cannot be reached"
    ]
    assert wake_key(published) is None
    sms(1)
    db.session.commit()
    assert published.tasks() == [RUN]
    assert tasks.deliver_due() == 2


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's row locks (SQLite locks it all)")
def test_a_run_skips_a_message_another_job_is_delivering(app, published) -> None:
    for n in range(3):
        sms(n)
    db.session.commit()
    held = db.session.scalars(select(Message.id).order_by(Message.id)).all()[1]
    db.session.commit()
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    schema = app.config.get("DATABASE_SCHEMA")
    try:
        with other.connect() as connection:
            if schema:
                connection.execute(text(f'SET search_path TO "{schema}"'))
            connection.execute(
                text("SELECT id FROM messages WHERE id = :id FOR NO KEY UPDATE"), {"id": held}
            )
            assert tasks.deliver_due() == 2  # not blocked behind the other job's lock
            connection.rollback()
    finally:
        other.dispose()
    assert [s for s, _ in statuses()] == [
        MessageStatus.SENT,
        MessageStatus.QUEUED,
        MessageStatus.SENT,
    ]
    assert tasks.deliver_due() == 1


class TestWithoutARedisBroker:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {}  # no broker: jobs run after the commit, in the request

    def test_each_message_is_its_own_job(self, app) -> None:
        assert not jobs.coalesces_wake_ups()
        sms(0)
        db.session.commit()
        assert statuses() == [(MessageStatus.SENT, 1)]


@pytest.mark.slow
@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="a real Celery worker runs against PostgreSQL, as in production (PostgreSQL pass)",
)
def test_a_real_worker_delivers_a_stream_of_messages_once_each_in_fewer_runs(
    app, published, tmp_path: Path
) -> None:
    worker = CeleryWorker(app, tmp_path, loglevel="INFO")  # the test's broker and prefix
    worker.start()
    try:
        for n in range(60):  # 60 requests, a commit each, about 20 ms apart
            sms(n)
            db.session.commit()
            time.sleep(0.02)
        deadline = time.monotonic() + 60
        while db.session.scalar(select(func.count()).where(Message.status == MessageStatus.QUEUED)):
            db.session.commit()
            assert time.monotonic() < deadline, worker.logs()
            time.sleep(0.2)
        db.session.commit()
    finally:
        worker.kill()
    assert statuses() == [(MessageStatus.SENT, 1)] * 60  # each once, none twice
    log = (tmp_path / "worker-1.log").read_text()
    tried = [
        int(n)
        for n in re.findall(
            r"Task messaging\.deliver_due\[[^]]+\] succeeded in [0-9.e-]+s: (\d+)", log
        )
    ]
    assert sum(tried) == 60, log[-3000:]
    # 60 commits over about 1.5 s, runs 0.2 s after the first commit of a burst: a handful of
    # runs, each taking what had come since the last.
    assert len(tried) <= 20, tried
    assert max(tried) >= 3, tried
