"""Row locks for fulfillment jobs, on PostgreSQL and on SQLite.

PostgreSQL locks the one row (``SELECT … FOR NO KEY UPDATE``; jobs pass ``skip_locked`` so a second
copy of a job steps aside instead of queueing behind the first). SQLite has no row locks: the
transaction starts with ``BEGIN IMMEDIATE``, which takes the database's write lock up front, so
what the job reads cannot change under it before it commits.
"""

from typing import TypeVar

from sqlalchemy import select, text

from extensions import db

T = TypeVar("T")


def is_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


SQLITE_BUSY_TIMEOUT_MS = 60_000


def begin_write() -> None:
    """On SQLite, take the write lock now unless this transaction already holds it. A job
    would rather queue for the lock than fail, so it waits up to a minute for it."""
    if not is_sqlite():
        return
    raw = db.session.connection().connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        db.session.execute(text(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"))
        db.session.execute(text("BEGIN IMMEDIATE"))


def lock_row(model: type[T], row_id: int, *, skip_locked: bool = False) -> T | None:
    """The row, re-read and locked until commit; None when missing (or, with ``skip_locked``
    on PostgreSQL, when another transaction holds it)."""
    if is_sqlite():
        begin_write()
        return db.session.get(model, row_id, populate_existing=True)
    # FOR NO KEY UPDATE, not FOR UPDATE: rows that reference this one (an event, a
    # remittance) take FOR KEY SHARE on it, and upgrading from that to FOR UPDATE deadlocks
    # two transactions that both inserted such a row. We never change a key.
    statement = (
        select(model)
        .where(model.id == row_id)  # type: ignore[attr-defined]
        .with_for_update(skip_locked=skip_locked, key_share=True)
        .execution_options(populate_existing=True)
    )
    return db.session.scalars(statement).first()
