"""The connection pool on PostgreSQL: a connection the server closed is replaced at checkout,
and a live one is handed out without a round trip to the server (``database``)."""

import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, create_engine

import database  # noqa: F401 (its pool checkout listener)
from config import Config
from tests.conftest import ON_POSTGRES, PG_URL

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's connections only")


@pytest.fixture
def engine() -> Iterator[Engine]:
    """A pool of one connection, with the application's engine options (no pre-ping)."""
    engine = create_engine(PG_URL, pool_size=1, max_overflow=0, **Config.SQLALCHEMY_ENGINE_OPTIONS)
    yield engine
    engine.dispose()


@pytest.fixture
def observer() -> Iterator[psycopg.Connection]:
    with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        yield c


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        connection.commit()
    return int(pid)


def test_a_connection_the_server_closed_is_replaced_before_it_is_used(engine, observer):
    pid = backend_pid(engine)
    observer.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 10
    while observer.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
        assert time.monotonic() < deadline, "the backend did not end"
        time.sleep(0.05)
    # Without the check at checkout this statement fails: the pool hands out the dead one.
    assert backend_pid(engine) != pid
    assert backend_pid(engine) == backend_pid(engine)  # and the new one is kept


def test_a_live_connection_is_handed_out_without_a_round_trip(engine, observer):
    pid = backend_pid(engine)  # its last statement: COMMIT
    last = "SELECT query FROM pg_stat_activity WHERE pid = %s"
    assert observer.execute(last, [pid]).fetchone() == ("COMMIT",)
    with engine.connect() as connection:
        # Checked out; nothing sent yet (a pre-ping would show here as SELECT 1).
        assert observer.execute(last, [pid]).fetchone() == ("COMMIT",)
        assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() == pid
