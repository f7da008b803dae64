"""Jobs published after the commit while the Celery broker is down (``jobs``): the commit
stands, the request answers as it would have, every other callback still runs, and each
failure is logged at ERROR with the task's name and nothing of its arguments. The publish fails
fast (``jobs.PUBLISH_RETRY_POLICY``, ``jobs.BROKER_TIMEOUTS``), and what was not published
waits in its rows for a periodic sweep: a message stays queued until ``fulfillment.sweep``
enqueues it again; an enrolment upload's job until ``workers.sweep_enrolment_imports`` does
(tests/sponsorship/test_enrolment_recovery.py)."""

import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from bundles.models import PartnerKind
from core.locking import begin_write
from extensions import db, utcnow
from fulfillment import sweeper
from jobs import BROKER_TIMEOUTS, PUBLISH_RETRY_POLICY, enqueue_after_commit, on_commit
from messaging.models import Channel, Message, MessageStatus
from messaging.services import queue_message
from tests.core.broker_support import BROKER_DOWN, close_broker_connections, logged
from tests.fulfillment.test_claim import build_line, messages_to
from tests.sponsorship.conftest import csv_bytes, csv_row, upload
from workers.models import ImportJob, ImportStatus, Worker

PHONE = "+6281299990001"
NIK = "3201125205900001"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"CELERY_BROKER_URL": BROKER_DOWN}


@pytest.fixture(autouse=True)
def broker_connections_closed(app: Flask) -> Iterator[None]:
    yield
    close_broker_connections(app)


@pytest.fixture
def job_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return logged(caplog, "jobs", logging.ERROR)


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


def refuse() -> None:
    raise ValueError(f"a message quoting a row: {NIK} {PHONE}")


def test_a_failing_callback_is_logged_and_every_other_one_still_runs(app, job_log) -> None:
    ran: list[str] = []
    begin_write()
    message = queue_message(channel=Channel.SMS, recipient=PHONE, body="Halo", purpose="test")
    enqueue_after_commit("sponsorship.deliver_messages", [PHONE, NIK])  # never logged
    on_commit(refuse)
    on_commit(lambda: ran.append("last"))
    started = time.monotonic()
    db.session.commit()  # raises nothing: the data is saved
    assert time.monotonic() - started < 2  # refused at once; one reconnection, no long retry
    assert ran == ["last"]
    db.session.expire_all()
    assert db.session.get(Message, message.id).status == MessageStatus.QUEUED
    logged = failures(job_log)
    assert logged[:2] == [
        "after the commit, task messaging.deliver_due failed: the broker cannot be reached",
        "after the commit, task sponsorship.deliver_messages failed: the broker cannot be reached",
    ]
    assert len(logged) == 3
    assert logged[2].startswith("after the commit, refuse failed: ValueError\n")
    assert "in refuse" in logged[2]  # the frames say where
    text = everything_logged(job_log)
    assert PHONE not in text and PHONE[1:] not in text and NIK not in text


def test_callbacks_of_a_transaction_rolled_back_are_dropped_not_run(app, job_log) -> None:
    begin_write()
    queue_message(channel=Channel.SMS, recipient=PHONE, body="Halo", purpose="test")
    on_commit(refuse)
    db.session.rollback()
    db.session.commit()
    assert failures(job_log) == []
    assert db.session.scalar(select(Message.id)) is None


def test_a_claim_with_the_broker_down_answers_and_its_code_waits_for_the_sweep(
    app, client, job_log
) -> None:
    line = build_line()  # its claim code's SMS was not published either: logged, not raised
    started = time.monotonic()
    response = client.post("/klaim", data={"code": line["code"]})
    assert time.monotonic() - started < 3
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == "/klaim/kode"
    code_sms = db.session.scalars(
        select(Message).where(Message.recipient == line["phone"], Message.purpose == "sign_in")
    ).all()
    assert [sms.status for sms in code_sms] == [MessageStatus.QUEUED]
    # Asked again: the code saved moments ago still stands (no second code, no error page).
    again = client.post("/klaim", data={"code": line["code"]})
    assert again.status_code == 302, again.text
    assert messages_to(line["phone"], "sign_in") == 1
    assert failures(job_log)[-1] == (
        "after the commit, task messaging.deliver_due failed: the broker cannot be reached"
    )
    assert line["phone"] not in everything_logged(job_log)

    # The fulfillment sweep finds both unsent messages once they are past its grace.
    assert sweeper.sweep(now=utcnow()).messages_enqueued == 0
    report = sweeper.sweep(now=utcnow() + timedelta(seconds=601))
    assert report.messages_enqueued == 2  # the claim code's SMS and the one-time code's
    db.session.commit()  # its publish fails too while the broker is down: logged again


def test_an_enrolment_upload_with_the_broker_down_answers_and_its_job_waits_queued(
    app, client, login_as, make_partner, job_log
) -> None:
    agent = make_partner(PartnerKind.AGENT)
    response = upload(login_as(agent.user), csv_bytes([csv_row(1), csv_row(2)]))
    job = db.session.scalar(select(ImportJob))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/mitra/pendaftaran/{job.id}"
    assert job.status == ImportStatus.QUEUED  # nothing ran it: the sweep will
    assert db.session.scalar(select(Worker.id)) is None
    assert failures(job_log) == [
        "after the commit, task sponsorship.run_enrolment_import failed: "
        "the broker cannot be reached"
    ]


class PublishHung(Exception):
    pass


@contextmanager
def give_up_after(seconds: int) -> Iterator[None]:
    def hung(signum: int, frame: Any) -> None:
        raise PublishHung(f"the publish still waited after {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


class TestSilentBroker:
    """A broker that takes the connection and never answers (a hung Redis, a dead peer behind
    a NAT): without timeouts kombu's Redis transport waits forever inside the request."""

    @pytest.fixture
    def silent_port(self) -> Iterator[int]:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        taken: list[socket.socket] = []
        stop = threading.Event()

        def hold() -> None:
            listener.settimeout(0.1)
            while not stop.is_set():
                try:
                    taken.append(listener.accept()[0])
                except TimeoutError:
                    continue

        holder = threading.Thread(target=hold, daemon=True)
        holder.start()
        yield listener.getsockname()[1]
        stop.set()
        holder.join()
        for sock in taken:
            sock.close()
        listener.close()

    @pytest.fixture
    def app_config(self, silent_port: int) -> dict[str, Any]:
        return {"CELERY_BROKER_URL": f"redis://127.0.0.1:{silent_port}/0"}

    def test_a_publish_to_a_silent_broker_gives_up_within_seconds(self, app, job_log) -> None:
        begin_write()
        queue_message(channel=Channel.SMS, recipient=PHONE, body="Halo", purpose="test")
        started = time.monotonic()
        with give_up_after(30):  # a regression fails this test instead of hanging the suite
            db.session.commit()
        waited = time.monotonic() - started
        tries = PUBLISH_RETRY_POLICY["max_retries"] + 1
        assert waited < tries * BROKER_TIMEOUTS["socket_timeout"] + 2, waited
        assert failures(job_log) == [
            "after the commit, task messaging.deliver_due failed: the broker cannot be reached"
        ]
