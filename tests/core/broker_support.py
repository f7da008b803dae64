"""A real Celery broker for tests that read what was published, and one that is down; and
what an outage logged.

Up: the machine's Redis, database 15 (``PAYUNG_TEST_REDIS_JOBS``), under a key prefix of the
test's own (kombu's ``global_keyprefix``), emptied afterwards, so tests running side by side
never read each other's messages. Down: a closed local port.
"""

import json
import os
import uuid
from typing import Any

import redis
from flask import Flask

BROKER = os.environ.get("PAYUNG_TEST_REDIS_JOBS", "redis://127.0.0.1:6379/15")
BROKER_DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


class PublishedJobs:
    def __init__(self) -> None:
        self.prefix = f"payung-test-{uuid.uuid4().hex[:12]}:"

    def config(self) -> dict[str, Any]:
        return {
            "CELERY_BROKER_URL": BROKER,
            "CELERY_BROKER_TRANSPORT_OPTIONS": {"global_keyprefix": self.prefix},
        }

    def tasks(self) -> list[tuple[str, str]]:
        """(task name, its arguments as Celery shows them), in the order they were published."""
        store = redis.Redis.from_url(BROKER)
        raw = store.lrange(f"{self.prefix}celery", 0, -1)
        store.close()
        messages = [json.loads(item) for item in reversed(raw)]  # LPUSHed: newest first
        return [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages]

    def empty(self) -> None:
        store = redis.Redis.from_url(BROKER)
        keys = list(store.scan_iter(f"{self.prefix}*"))
        if keys:
            store.delete(*keys)
        store.close()


def close_broker_connections(app: Flask) -> None:
    """The publisher's pooled connections, closed before the test ends (an open socket left
    to the garbage collector is a warning, and warnings are errors here)."""
    app.extensions["celery"].close()


def logged(caplog: Any, logger: str, level: int) -> list[str]:
    """The messages ``logger`` logged at ``level`` or above, as captured by ``caplog``."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == logger and record.levelno >= level
    ]
