"""Celery entry point for the benchmarks: the project's worker, plus counters.

    celery -A bench.counting_worker worker …

Every SQL statement sent and every commit in a worker process is counted with SQLAlchemy engine
events; after each task the process adds what it counted since to Redis (``INCRBY`` on
``bench:statements`` / ``bench:commits`` / ``bench:tasks``, and per table in the hash
``bench:tables``, in the broker's database), so the
benchmark reads the totals of all processes. One Redis call per task: cheap next to a task.
"""

import os
from collections import Counter

import redis
from celery.signals import task_postrun
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.common import table_of
from celery_worker import celery_app, flask_app

__all__ = ["celery_app", "flask_app"]

_counts = {"statements": 0, "commits": 0}
_tables: Counter[str] = Counter()


@event.listens_for(Engine, "before_cursor_execute")
def _statement(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
    _counts["statements"] += 1
    _tables[table_of(statement)] += 1


@event.listens_for(Engine, "commit")
def _commit(*_args: object) -> None:
    _counts["commits"] += 1


_redis: dict[int, redis.Redis] = {}


@task_postrun.connect
def _flush(**_kwargs: object) -> None:
    client = _redis.get(os.getpid())
    if client is None:
        client = _redis[os.getpid()] = redis.Redis.from_url(celery_app.conf.broker_url)
    pipe = client.pipeline(transaction=False)
    for name, value in _counts.items():
        if value:
            pipe.incrby(f"bench:{name}", value)
        _counts[name] = 0
    for table, value in _tables.items():
        pipe.hincrby("bench:tables", table, value)
    _tables.clear()
    pipe.incrby("bench:tasks", 1)
    pipe.execute()
