"""Where the sandbox keeps what a real partner would keep across a restart: idempotency keys
with their stored answers, members, top-ups, activations, answers by reference and the effects.

One SQLite file ``sandbox.sqlite3`` under ``STATE_DIR`` (``SANDBOX_STATE_DIR``,
``--state-dir``); without a state dir an in-memory database, forgotten on exit. Every partner
request runs in one :meth:`Storage.transaction`: its effect, the records it wrote and its stored
answer are committed together, or (the process killed half way) not at all. Values are JSON.

The transaction lock is always taken before any store's own lock, so the two cannot deadlock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FILE_NAME = "sandbox.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS effects (seq INTEGER PRIMARY KEY AUTOINCREMENT, value TEXT NOT NULL);
"""


class Storage:
    def __init__(self, state_dir: str | Path | None = None) -> None:
        if state_dir:
            directory = Path(state_dir)
            directory.mkdir(parents=True, exist_ok=True)
            target = str(directory / FILE_NAME)
        else:
            target = ":memory:"
        self.path = None if target == ":memory:" else target
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        if self.path is not None:
            # WAL with NORMAL sync survives a killed process (not a power cut), and is quick.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything written inside is committed at the end, or rolled back on an error."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._conn.execute("BEGIN")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outermost:
                self._conn.execute("COMMIT")

    def put(self, scope: str, key: str, value: Any) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT OR REPLACE INTO records (scope, key, value) VALUES (?, ?, ?)",
                (scope, key, json.dumps(value)),
            )

    def get(self, scope: str, key: str) -> Any | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM records WHERE scope = ? AND key = ?", (scope, key)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def load(self, scope: str) -> dict[str, Any]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, value FROM records WHERE scope = ?", (scope,)
            ).fetchall()
        return {key: json.loads(value) for key, value in rows}

    def append_effect(self, value: dict[str, Any]) -> None:
        with self.transaction():
            self._conn.execute("INSERT INTO effects (value) VALUES (?)", (json.dumps(value),))

    def effects(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT value FROM effects ORDER BY seq").fetchall()
        return [json.loads(row[0]) for row in rows]

    def clear(self) -> None:
        with self.transaction():
            self._conn.execute("DELETE FROM records")
            self._conn.execute("DELETE FROM effects")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
