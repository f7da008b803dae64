"""Database settings: PostgreSQL when PAYUNG_DATABASE_URL says so, else SQLite in instance/."""

import importlib
import select
import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from extensions import db, migrate

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Every module that defines tables; imported up front so the metadata (and so migrations
# and test databases) always has all of them.
MODEL_MODULES = [
    "messaging.models",
    "accounts.models",
    "workers.models",
    "sponsorship.checkout.models",
    "bundles.models",
    "bundles.dues.models",
    "fulfillment.models",
    "admin.models",
    "sponsorship.notes.models",
    "workers.self_models",
    "workers.enrolment.models",
    "sponsorship.continuity.alert_models",
    "sponsorship.continuity.renewals.models",
    "sponsorship.invoices.models",
]


def database_url(app: Flask) -> str:
    url = app.config.get("DATABASE_URL")
    if url:
        return url
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(app.instance_path) / 'payung.db'}"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: object, connection_record: object) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while a writer commits; the busy timeout makes writers queue
    # instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@event.listens_for(Pool, "connect")
def _mark_new_connection(dbapi_connection: object, connection_record: Any) -> None:
    connection_record.info["new"] = True


@event.listens_for(Pool, "checkout")
def _refuse_closed_connections(
    dbapi_connection: object, connection_record: Any, connection_proxy: object
) -> None:
    """A pooled PostgreSQL connection the server has closed is replaced before anyone uses
    it, without a round trip to the server.

    An idle connection's socket has nothing to read unless the server closed it or is closing
    it (a restart, a crash, ``pg_terminate_backend``, an idle timeout: PostgreSQL sends its
    FATAL message, then the connection ends). So a socket that is readable, or already gone,
    means a dead connection: raising DisconnectionError makes the pool drop it and hand out
    another (a new one if need be). SQLAlchemy's ``pool_pre_ping`` found the same thing by
    sending ``SELECT 1`` and waiting for the answer at every checkout: one more wait in every
    request, which under load is one more turn in the run queue (issue 16). A server that
    vanished without a word (a cut network) is caught by neither before the first statement,
    which then fails and invalidates the pool as before. SQLite connections are not checked:
    a file has no server to lose, nor is a connection just made for this checkout."""
    if connection_record.info.pop("new", False):
        return
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:
        return
    try:
        socket = pgconn.socket  # raises when libpq already knows the connection is gone
    except Exception as exc:
        raise DisconnectionError("the connection to PostgreSQL is gone") from exc
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(socket, select.POLLIN)
        readable = bool(poller.poll(0))
    else:  # Windows
        readable = bool(select.select([socket], [], [], 0)[0])
    if readable:
        raise DisconnectionError("PostgreSQL closed this idle connection")


def register_database(app: Flask) -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)
    url = database_url(app)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    schema = app.config.get("DATABASE_SCHEMA")
    if schema and url.startswith("postgresql"):
        # Tests give each run its own schema so parallel runs share one database safely.
        options["connect_args"] = {"options": f"-csearch_path={schema}"}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
