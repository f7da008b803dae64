"""Pages that only read send PostgreSQL no BEGIN and no ROLLBACK (``core.reading``); a request
that has begun a transaction reads in it, and sees its own changes."""

from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import event, select

from bundles.dues.data import ensure_default_dues_data
from core.reading import reading_connection
from extensions import db
from tests.conftest import ON_POSTGRES, PG_URL
from workers.models import Worker

AGREED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def listed_worker(make_worker):
    return make_worker(
        insurer_consent_at=AGREED, consent_confirmed_at=AGREED, listing_consent_at=AGREED
    )


@pytest.fixture
def backends(app):
    """The PostgreSQL backends and psycopg connections each statement ran on."""
    seen: list[tuple[int, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        raw = conn.connection.dbapi_connection
        seen.append((raw.info.backend_pid, raw))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's transactions")
@pytest.mark.parametrize("path", ["/pekerja", "/pekerja?page=2", "/pekerja?q=siti", "/paket"])
def test_a_visitors_page_that_only_reads_opens_no_transaction(
    client, listed_worker, backends, path
):
    ensure_default_dues_data()  # the catalogue's pages seed them into an empty database
    db.session.commit()
    client.get(path)  # the catalogue's first view loads the bundles: its second is the cached one
    backends.clear()
    assert client.get(path).status_code == 200
    assert backends
    pids = {pid for pid, _ in backends}
    with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql")) as observer:
        activity = observer.execute(
            "SELECT pid, state, query FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)]
        ).fetchall()
    # Inside a transaction the backend's last statement would be the ROLLBACK that ended it.
    assert activity and all(
        state == "idle" and query.startswith("SELECT") for _, state, query in activity
    )
    # Back in the pool, the connections begin transactions again for whoever takes them next.
    assert not any(raw.autocommit for _, raw in backends)


def test_a_request_that_began_a_transaction_reads_in_it(app, listed_worker):
    name = select(Worker.full_name).where(Worker.id == listed_worker.id)
    listed_worker.full_name = "Wati Belum Disimpan"
    db.session.flush()  # not committed: only this transaction sees it
    with reading_connection() as connection:
        assert connection is db.session.connection()
        assert connection.scalar(name) == "Wati Belum Disimpan"
    db.session.rollback()
    with reading_connection() as connection:
        assert connection.scalar(name) != "Wati Belum Disimpan"
