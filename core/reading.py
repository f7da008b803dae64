"""Statements that only read, run outside a transaction on PostgreSQL.

A session begins a transaction with its first statement: PostgreSQL gets a ``BEGIN`` before it
and a ``ROLLBACK`` when the request ends, two more round trips for a page that only reads (on
a busy machine each wait ends in the run queue; issue 16). Under READ COMMITTED, PostgreSQL's
default and Payung's, every statement sees what was committed before it began, inside a
transaction or not, so these reads see exactly what they would have seen in one.

SQLite's driver begins a transaction only before a write, so there the session's own
connection is used as it is (switching a SQLite connection to autocommit would commit
whatever its transaction holds).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from extensions import db


@contextmanager
def reading_connection() -> Iterator[Connection]:
    """A connection for statements that only read. On PostgreSQL, unless the request's session
    has begun a transaction already (then its own, which sees the request's own changes), a
    connection of its own in autocommit: no ``BEGIN``, no ``ROLLBACK``, and nothing written
    through it could escape a transaction, because nothing but these reads uses it. Back in
    the pool, in its usual mode, when the block ends."""
    session = db.session()
    engine = session.get_bind()
    if engine.dialect.name != "postgresql" or session.in_transaction():
        yield session.connection()
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection
