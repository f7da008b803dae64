"""Background jobs: Celery configuration and dispatch after a successful commit.

Work that must not happen unless the data it depends on is saved (sending an SMS, calling a
partner, issuing a code) is registered with ``on_commit``. The callbacks run once the
surrounding transaction commits and are dropped if it rolls back.
"""

from collections.abc import Callable

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from extensions import celery_init_app

_PENDING = "payung_on_commit"

# Modules whose tasks a Celery worker must import.
TASK_MODULES = ["fulfillment.tasks"]


def on_commit(callback: Callable[[], object], session: Session | None = None) -> None:
    from extensions import db

    target = session if session is not None else db.session()
    target.info.setdefault(_PENDING, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    callbacks = session.info.pop(_PENDING, [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: object) -> None:
    session.info.pop(_PENDING, None)


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
        "timezone": "Asia/Jakarta",
        "beat_schedule": app.config.get("CELERY_BEAT_SCHEDULE", {}),
        "imports": TASK_MODULES,
    }
    celery_init_app(app)
