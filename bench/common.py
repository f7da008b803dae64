"""Set-up shared by the benchmarks: a throw-away database and the app settings that point at it.

``bench_config(url)`` yields the settings for ``create_app``: a SQLite file in a temporary folder
when ``url`` is None, or the PostgreSQL ``url`` with a schema of its own (created first, dropped
with everything in it afterwards), so a benchmark never touches other tables on a shared server.
"""

import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text

from extensions import db

_TABLE = re.compile(
    r"^\s*(?:INSERT INTO|UPDATE|DELETE FROM|SELECT\b.*?\bFROM|WITH\b.*?\bUPDATE)\s+(\w+)", re.S
)


def table_of(statement: str) -> str:
    """The first table a statement names (``other`` for BEGIN, SAVEPOINT, PRAGMA …)."""
    found = _TABLE.match(statement)
    return found.group(1) if found else "other"


# Production settings' required values; the rate limits count per process unless a run says
# otherwise (``bench.load_run --limits redis://…``).
BENCH_KEYS = {
    "SECRET_KEY": "bench",
    "FIELD_KEY": "bench",
    "LOOKUP_KEY": "bench",
    "RATELIMIT_STORAGE_URI": "memory://",
}


def create_schema(url: str) -> str:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return schema


def kept_schema(url: str, schema: str, table: str = "workers") -> tuple[str, bool]:
    """The schema ``schema`` (created when missing, never dropped here) and whether ``table``
    in it already holds rows: a benchmark seeded once and reused between runs."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ValueError(f"not a plain schema name: {schema!r}")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        found = conn.scalar(text("SELECT to_regclass(:name)"), {"name": f"{schema}.{table}"})
        seeded = bool(found) and bool(
            conn.scalar(text(f"SELECT EXISTS (SELECT 1 FROM {schema}.{table})"))  # noqa: S608
        )
    engine.dispose()
    return schema, seeded


def create_indexes() -> None:
    """Bring a kept benchmark database's indexes in line with the models: ``create_all``
    creates missing tables only, so indexes added since the database was seeded are created
    here and ``ix_`` indexes the models no longer have are dropped; then the statistics are
    refreshed. Nothing happens when they already agree."""
    changed = False
    inspector = inspect(db.engine)
    for table in db.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        wanted = {index.name for index in table.indexes}
        for found in inspector.get_indexes(table.name):
            name = found["name"]
            if name and re.fullmatch(r"ix_[a-z0-9_]+", name) and name not in wanted:
                with db.engine.begin() as conn:
                    conn.execute(text(f"DROP INDEX {name}"))
                changed = True
        present = {found["name"] for found in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                index.create(db.engine)
                changed = True
    if changed:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


def drop_schema(url: str, schema: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@contextmanager
def bench_config(database_url: str | None, **settings: Any) -> Iterator[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        config: dict[str, Any] = {
            "ENV_NAME": "testing",
            "DATABASE_URL": url,
            **BENCH_KEYS,
            **settings,
        }
        schema = None
        if url.startswith("postgresql"):  # a schema of its own: never touch other tables
            schema = config["DATABASE_SCHEMA"] = create_schema(url)
        try:
            yield config
        finally:
            if schema:
                drop_schema(url, schema)


def write_section(readme: Path, heading: str, body: str) -> None:
    """Replace the section under ``heading`` in ``readme`` with ``body`` (which starts with the
    heading), or append it; the other sections stay as they are."""
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    if heading in text:
        head, rest = text.split(heading, 1)
        following = rest.find("\n## ")
        tail = rest[following:] if following >= 0 else ""
        text = head + body.rstrip() + "\n" + tail
    else:
        text = text.rstrip() + "\n\n" + body
    readme.write_text(text)


def ensure_wrk() -> str:
    """wrk from Debian's packages, installed only when missing (root, or sudo)."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL
    )
    return shutil.which("wrk") or "/usr/bin/wrk"
