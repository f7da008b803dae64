"""New rows of several tables written in one statement, and requests that need no transaction.

A claim of a bundle code by SMS reads one row and writes two (the one-time code and the SMS that
carries it). In a transaction that is five exchanges with PostgreSQL: ``BEGIN``, the read, an
``INSERT`` for each row, ``COMMIT``; under load each one is a wait and a turn in the run queue
(issue 16). Written as one statement, a data-modifying ``WITH``, the rows are saved together or
not at all, as a transaction would have them; and a request whose only write is that statement
needs no transaction around it: PostgreSQL commits a statement that runs outside one by itself,
whole or not at all. Two exchanges are left.

``insert_together`` writes new ORM objects that way on PostgreSQL (SQLite has no
data-modifying ``WITH``: there they are flushed as usual, in the session's transaction, which
makes them just as atomic). ``without_transaction`` lets a request's session run its
statements outside a transaction, and then refuses every write but a single
``insert_together``: a second write could not be undone with the first, so it is an error, not
a silent loss of atomicity.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Executable, bindparam, event, insert, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, make_transient_to_detached

from extensions import db

_MODE = "payung_without_transaction"  # session.info: "open", then "written"


class OneStatementOnly(RuntimeError):
    """A session running without a transaction was asked for a second write."""


def without_transaction() -> None:
    """On PostgreSQL, unless the request's session has begun a transaction already: its
    statements from here until it commits or rolls back run outside one (no ``BEGIN``, no
    ``COMMIT``), and it may write once, with ``insert_together``. Elsewhere nothing changes."""
    session = db.session()
    if session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[_MODE] = "open"


def insert_together(objects: Sequence[object], *, before: Executable | None = None) -> None:
    """Insert new ORM ``objects`` (of different tables, one each) and first run ``before`` (an
    ``UPDATE`` or ``DELETE``, or None), all in one statement on PostgreSQL: ``before`` sees the
    table as it was, not the new rows. Afterwards the objects are in the session with their
    ids and every column they were given or defaulted to, as a flush leaves them."""
    session = db.session()
    if session.get_bind().dialect.name != "postgresql":
        if before is not None:
            session.execute(before)
        session.add_all(objects)
        session.flush()
        return
    if session.info.get(_MODE) == "written":
        raise OneStatementOnly("a request without a transaction writes one statement only")
    rows = [_row(obj) for obj in objects]
    shape = tuple(
        (type(obj), tuple(values)) for obj, (_, values) in zip(objects, rows, strict=True)
    )
    statement = _statements.get(shape) if before is None else None
    if statement is None:
        statement = _statement(shape, before)
        if before is None:
            _statements[shape] = statement
    params = {
        f"v{n}_{key}": value for n, (_, values) in enumerate(rows) for key, value in values.items()
    }
    ids = session.execute(statement, params).one()
    if session.info.get(_MODE) == "open":
        session.info[_MODE] = "written"
    for obj, (key, _), new_id in zip(objects, rows, ids, strict=True):
        setattr(obj, key, new_id)
        make_transient_to_detached(obj)
        session.add(obj)


# One statement a shape (the classes and the columns given), built once: building and
# hashing a new one each time cost more than the round trips it saves.
_statements: dict[tuple[tuple[type, tuple[str, ...]], ...], Any] = {}


def _row(obj: object) -> tuple[str, dict[str, Any]]:
    """The object's primary key attribute, and its columns' values by column name: what it
    was given, else its column's default in Python (set on it too), else None (set too, so
    nothing is left to read back afterwards)."""
    mapper = inspect(obj).mapper
    [primary] = mapper.primary_key
    key = mapper.get_property_by_column(primary).key
    values = {}
    for prop in mapper.column_attrs:
        if prop.key == key:
            continue
        [column] = prop.columns
        if prop.key not in obj.__dict__:
            default = column.default
            if default is not None and default.is_callable:  # type: ignore[attr-defined]
                setattr(obj, prop.key, default.arg(None))  # type: ignore[attr-defined]
            elif default is not None and default.is_scalar:  # type: ignore[attr-defined]
                setattr(obj, prop.key, default.arg)  # type: ignore[attr-defined]
            elif column.server_default is None:
                setattr(obj, prop.key, None)
        if prop.key in obj.__dict__:
            values[column.key] = obj.__dict__[prop.key]
    return key, values


def _statement(shape: tuple[tuple[type, tuple[str, ...]], ...], before: Executable | None) -> Any:
    statement = select()
    if before is not None:
        statement = statement.add_cte(before.cte("written_before"))  # type: ignore[attr-defined]
    for n, (model, columns) in enumerate(shape):
        table = inspect(model).local_table
        [primary] = inspect(model).primary_key
        values = {c: bindparam(f"v{n}_{c}", type_=table.c[c].type) for c in columns}
        new = insert(table).values(values).returning(primary).cte(f"new_{n}")
        statement = statement.add_columns(select(new.c[primary.name]).scalar_subquery())
    return statement


@event.listens_for(Session, "do_orm_execute")
def _one_write(state: ORMExecuteState) -> None:
    if state.session.info.get(_MODE) and (state.is_insert or state.is_update or state.is_delete):
        raise OneStatementOnly("a request without a transaction writes with insert_together")


@event.listens_for(Session, "before_flush")
def _no_flush(session: Session, *_: object) -> None:
    if session.info.get(_MODE) and (session.new or session.dirty or session.deleted):
        raise OneStatementOnly("a request without a transaction writes with insert_together")


@event.listens_for(Session, "after_transaction_end")
def _end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_MODE, None)
