"""Background jobs: Celery configuration and dispatch after a successful commit.

Work that must not happen unless the data it depends on is saved (sending an SMS, calling a
partner, issuing a code) is registered with ``on_commit``. The callbacks run once the
surrounding transaction commits and are dropped if it rolls back.

A callback that fails (the broker is down) is logged and the others still run: the commit
has happened, so the request that made it answers as usual. The work it would have started
waits in its rows (a message or a fulfillment item due, an import still queued) until a
periodic sweep in ``BEAT_SCHEDULE`` finds it and enqueues it again.
"""

import importlib
import logging
import traceback
from collections.abc import Callable

import redis
from celery import Task
from celery import current_app as current_celery
from celery.schedules import crontab
from flask import Flask
from kombu.exceptions import OperationalError
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from extensions import celery_init_app, db

log = logging.getLogger(__name__)

_PENDING = "payung_on_commit"

# Modules whose tasks a Celery worker must import (and the web app imports at start, so a task
# can be enqueued by name from a package below the one that defines it).
TASK_MODULES = ["messaging.tasks", "workers.tasks", "sponsorship.tasks", "fulfillment.tasks"]

# Periodic tasks (Celery beat); CELERY_BEAT_SCHEDULE in the config adds to or overrides them.
BEAT_SCHEDULE: dict[str, dict] = {
    "fulfillment-sweep": {"task": "fulfillment.sweep", "schedule": 60.0},
    # WhatsApp not delivered in time goes by SMS; messages waiting out a backoff are retried.
    "messaging-sweep": {"task": "messaging.sweep", "schedule": 30.0},
    # Bulk enrolment imports whose job was never enqueued or was lost before it started.
    "enrolment-import-sweep": {"task": "workers.sweep_enrolment_imports", "schedule": 300.0},
    # Lapse alerts and "needs a sponsor" flags, each morning in Jakarta (texts not at night).
    "continuity-nightly": {
        "task": "sponsorship.continuity_nightly",
        "schedule": crontab(hour=7, minute=0),
    },
    # Automatic renewals: saved cards charged a few days before a lapse (before the alerts).
    "sponsorship-renewals": {
        "task": "sponsorship.run_renewals",
        "schedule": crontab(hour=6, minute=0),
    },
}

# Publishing to an unreachable broker fails fast (Celery's defaults retry 3 times, and kombu's
# Redis transport waits for the operating system: minutes for a host that does not answer).
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
BROKER_TIMEOUTS = {"socket_connect_timeout": 1.0, "socket_timeout": 3.0}


def on_commit(
    callback: Callable[[], object], session: Session | None = None, *, name: str | None = None
) -> None:
    """Run ``callback`` once the surrounding transaction commits (``name`` says what it was
    if it fails: a task's name, never its arguments)."""
    target = session if session is not None else db.session()
    # Remember the innermost transaction: a savepoint rolled back drops only its callbacks.
    innermost = target.get_nested_transaction() or target.get_transaction()
    label = name or getattr(callback, "__qualname__", type(callback).__name__)
    target.info.setdefault(_PENDING, []).append((callback, innermost, label))


def task(name: str) -> Task:
    """The Celery task registered as ``name`` (its ``@shared_task(name=...)``)."""
    return current_celery.tasks[name]


def enqueue_after_commit(
    name: str, *args: object, countdown: float | None = None, session: Session | None = None
) -> None:
    """Run the task ``name`` with ``args`` once the surrounding transaction commits (dropped if
    it rolls back). By name, so a package can start a job that a package above it defines."""

    def send() -> None:
        if countdown is None:
            task(name).delay(*args)
        else:
            task(name).apply_async(args, countdown=countdown)

    on_commit(send, session, name=f"task {name}")


# A job woken by ``wake_after_commit`` is due at most this long: a key left by a publish that
# was lost, or a run that died before it cleared the key, stops holding back the next wake-up.
WAKE_KEY_TTL_S = 30


def wake_after_commit(name: str, *, within: float, session: Session | None = None) -> None:
    """Run the task ``name`` (no arguments) ``within`` seconds after the commit, once for every
    transaction that asks before it starts: a job that works through rows (every message
    queued) instead of one row (one message) needs one run for a burst of commits, not one each.

    With a Redis broker, a key beside the queue says a run is due (``SET NX``): only the commit
    that sets it publishes. The task calls ``woken(name)`` before it reads its rows, so a commit
    that finds the key was read by that run, and one that does not sets it again. Other brokers
    (none, memory) publish every time, at once."""

    target = session if session is not None else db.session()
    label = f"task {name}"
    if any(  # one wake-up a transaction (not one a message), unless a savepoint's may go
        name_ == label and (transaction is None or not transaction.nested)
        for _callback, transaction, name_ in target.info.get(_PENDING, [])
    ):
        return

    def wake() -> None:
        store, key = _wake_key(name)
        if store is None:
            task(name).delay()
            return
        try:
            due = store.set(key, "1", nx=True, ex=WAKE_KEY_TTL_S)
        except redis.RedisError:
            # The broker's Redis: a publish would meet the same outage. The rows wait for
            # their sweep, as when a publish fails.
            raise OperationalError("the broker cannot be reached") from None
        if not due:
            return
        try:
            task(name).apply_async(countdown=within)
        except Exception:
            _forget(store, key)  # the next commit tries again
            raise

    on_commit(wake, target, name=label)


def woken(name: str) -> None:
    """A task woken by ``wake_after_commit`` has started: commits from now on wake it again."""
    store, key = _wake_key(name)
    if store is not None:
        _forget(store, key)


def coalesces_wake_ups() -> bool:
    """Whether ``wake_after_commit`` runs a task once for a burst (a Redis broker)."""
    return _broker_redis() is not None


_STORES: dict[str, redis.Redis] = {}


def _broker_redis() -> redis.Redis | None:
    """A client of the broker's Redis, kept per URL; None for jobs run eagerly or another
    broker."""
    conf = current_celery.conf
    url = conf.broker_url or ""
    if conf.task_always_eager or not url.startswith(("redis://", "rediss://")):
        return None
    store = _STORES.get(url)
    if store is None:
        store = _STORES[url] = redis.Redis.from_url(url, **BROKER_TIMEOUTS)
    return store


def _wake_key(name: str) -> tuple[redis.Redis | None, str]:
    """The broker's Redis and the key that says a run of ``name`` is due (under the broker's
    key prefix, as the queue is)."""
    store = _broker_redis()
    if store is None:
        return None, ""
    prefix = (current_celery.conf.broker_transport_options or {}).get("global_keyprefix", "")
    return store, f"{prefix}payung:wake:{name}"


def _forget(store: redis.Redis, key: str) -> None:
    try:
        store.delete(key)
    except redis.RedisError:
        log.warning("the wake-up key of a job could not be cleared (it expires by itself)")


def without_message(exc: BaseException) -> str:
    """An error for a log line: its type and frames, not its message, which may quote a row's
    personal data (a database error quotes the values it refused)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    return f"{type(exc).__name__}\n{frames}"


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: the real commit is still to come
    callbacks = session.info.pop(_PENDING, [])
    for callback, _transaction, name in callbacks:
        try:
            callback()
        except OperationalError:
            log.error("after the commit, %s failed: the broker cannot be reached", name)
        except Exception as exc:
            log.error("after the commit, %s failed: %s", name, without_message(exc))


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        return

    def inside(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    session.info[_PENDING] = [entry for entry in pending if not inside(entry[1])]


def register_jobs(app: Flask) -> None:
    broker = app.config.get("CELERY_BROKER_URL")
    app.config["CELERY"] = {
        "broker_url": broker or "memory://",
        "result_backend": app.config.get("CELERY_RESULT_BACKEND"),
        "task_always_eager": not broker,
        "task_eager_propagates": False,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        # A publish runs after the commit, inside the request: with the broker unreachable it
        # gives up after one reconnection (refused: at once; silent: ~2 × 1 s to connect, or
        # 2 × 3 s for a connection that stops answering) instead of hanging the request.
        "task_publish_retry_policy": PUBLISH_RETRY_POLICY,
        "timezone": "Asia/Jakarta",
        "beat_schedule": {**BEAT_SCHEDULE, **app.config.get("CELERY_BEAT_SCHEDULE", {})},
        # How long a task a dead worker had taken stays invisible before Redis hands it out
        # again (PAYUNG_CELERY_BROKER_TRANSPORT_OPTIONS='{"visibility_timeout": 3600}').
        "broker_transport_options": {
            **BROKER_TIMEOUTS,
            **app.config.get("CELERY_BROKER_TRANSPORT_OPTIONS", {}),
        },
        "imports": TASK_MODULES,
    }
    celery_init_app(app)
    for module in TASK_MODULES:
        importlib.import_module(module)
