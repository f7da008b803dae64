"""The web app gunicorn serves for ``bench.fulfillment_bench``: Payung as configured by PAYUNG_*
variables, where the partner sandbox posts its bulk top-ups' callbacks
(``/api/callbacks/telco/batch``). Its SQL statements and commits are counted like the Celery
workers' (``bench/counting_worker.py``) and added to the same Redis keys after each request,
so the benchmark's statements per part include the callbacks' work."""

import os
import threading
from collections import Counter

import redis
from flask import request_finished
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app import create_app
from bench.common import table_of

app = create_app()
_lock = threading.Lock()
_counts: Counter[str] = Counter()
_tables: Counter[str] = Counter()
_redis: dict[int, redis.Redis] = {}


@event.listens_for(Engine, "before_cursor_execute")
def _statement(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
    with _lock:
        _counts["statements"] += 1
        _tables[table_of(statement)] += 1


@event.listens_for(Engine, "commit")
def _commit(*_args: object) -> None:
    with _lock:
        _counts["commits"] += 1


def _flush(_sender: object, **_kwargs: object) -> None:
    client = _redis.get(os.getpid())
    if client is None:
        client = _redis[os.getpid()] = redis.Redis.from_url(app.config["CELERY_BROKER_URL"])
    with _lock:
        counts, tables = dict(_counts), dict(_tables)
        _counts.clear()
        _tables.clear()
    pipe = client.pipeline(transaction=False)
    for name, value in counts.items():
        pipe.incrby(f"bench:{name}", value)
    for table, value in tables.items():
        pipe.hincrby("bench:tables", table, value)
    pipe.incrby("bench:web_requests", 1)
    pipe.execute()


request_finished.connect(_flush, app, weak=False)
