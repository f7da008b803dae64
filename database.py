"""Database settings: PostgreSQL when PAYUNG_DATABASE_URL says so, else SQLite in instance/."""

import importlib
import sqlite3
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

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
