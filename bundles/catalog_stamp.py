"""The catalogue's stamp, and per-process caches of pages keyed by it (issue 16).

The public bundle pages (``/paket``, ``/paket/<slug>``) show only catalogue data: partners,
offers, bundles with their parts, and the dues tables (rates, bands, discounts). Loading and
pricing that data, then rendering it, was most of their time; it changes only when an admin or
a partner edits it. So:

* **The stamp** is one row of ``catalog_stamps``. Whenever a session flushes a change (insert,
  update or delete) to any of ``CATALOG_MODELS``, or runs an ORM bulk update or delete on one,
  the stamp is set to a new random number *in the same transaction*: it commits with the edit
  and rolls back with it. A random number, not a counter, so that a stamp seen inside a
  transaction that was rolled back is never seen again.
* **Readers** read the stamp (one statement) on every request, and use a rendering only if it
  was made under the same stamp; a new stamp empties the cache. Every gunicorn process keeps
  its own cache and reads the same row, so an edit shows on the next page view in every
  process, never later. The stamp is read before the data it keys, so a rendering kept under a
  stamp never holds data older than that stamp; and read again after a rendering is made, which
  is kept only if the stamp did not move (a view that itself changed the catalogue, seeding the
  dues defaults into an empty database, keeps nothing).
* What is **never** cached: anything of a user (the pages' cached parts hold no user, no CSRF
  token, no session data) and checkout's prices (checkout loads the bundle and the dues tables
  and prices every line again when the cart is checked and when the order is placed).

Not covered, on purpose: SQL written by hand outside the ORM on these tables (none exists
but ``bundles.codes.pools`` setting ``offers.low_stock_alerted_at``, which no page shows).
"""

import secrets
from collections.abc import Callable, Hashable, Iterable
from itertools import chain
from threading import Lock
from typing import Any, TypeVar

from sqlalchemy import Table, event, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from bundles.dues.models import DuesDiscountRule, DuesIncomeBand, DuesRateVersion
from bundles.models import Bundle, BundlePart, CatalogStamp, Offer, Partner
from core.lru import Lru
from core.reading import reading_connection

CATALOG_MODELS = (
    Partner,
    Offer,
    Bundle,
    BundlePart,
    DuesRateVersion,
    DuesIncomeBand,
    DuesDiscountRule,
)
STAMP_ROW = 1

Value = TypeVar("Value")


def new_stamp() -> int:
    return secrets.randbits(62)


_READ_STAMP = select(CatalogStamp.stamp).where(CatalogStamp.id == STAMP_ROW)


def catalog_stamp() -> int | None:
    """The stamp now (None only on a database whose row is missing: nothing is cached then).
    Read before any data it keys: in the session's transaction once one has begun (so it sees
    the transaction's own edits), else outside any (``core.reading``: a page served from the
    cache then sends PostgreSQL neither ``BEGIN`` nor ``ROLLBACK``)."""
    with reading_connection() as connection:
        return connection.execute(_READ_STAMP).scalar()  # type: ignore[no-any-return]


def _restamp(session: Session) -> None:
    changed = session.execute(
        update(CatalogStamp).where(CatalogStamp.id == STAMP_ROW).values(stamp=new_stamp())
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        session.execute(insert(CatalogStamp).values(id=STAMP_ROW, stamp=new_stamp()))


def _touches_catalog(objects: Iterable[object]) -> bool:
    return any(isinstance(obj, CATALOG_MODELS) for obj in objects)


@event.listens_for(Session, "before_flush")
def _stamp_on_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    if _touches_catalog(chain(session.new, session.dirty, session.deleted)):
        _restamp(session)


@event.listens_for(Session, "do_orm_execute")
def _stamp_on_bulk_write(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, CATALOG_MODELS):
        _restamp(state.session)


@event.listens_for(CatalogStamp.__table__, "after_create")
def _first_stamp(target: Table, connection: Connection, **kw: Any) -> None:
    """``create_all`` (tests, benchmarks) gets the row the migration inserts."""
    connection.execute(insert(target).values(id=STAMP_ROW, stamp=new_stamp()))


class StampedCache:
    """Values kept while the stamp they were made under is current, at most ``size`` of them
    (least recently used out first). Shared by the threads of one process."""

    def __init__(self, size: int) -> None:
        self._stamp: int | None = None
        self._values: Lru[Any] = Lru(size)
        self._lock = Lock()  # the stamp and the values it holds change together

    def get_or_make(
        self, read_stamp: Callable[[], int | None], key: Hashable, make: Callable[[], Value]
    ) -> Value:
        """The value kept for ``key`` under the current stamp, else ``make()``'s, kept only if
        the stamp is the same after making it: a value made in a transaction that changed the
        catalogue itself (e.g. the dues defaults seeded into an empty database, not committed
        by a page view) is used once and not kept."""
        stamp = read_stamp()
        if stamp is None:
            return make()
        with self._lock:
            found = self._values.get(key) if stamp == self._stamp else None
        if found is not None:
            return found  # type: ignore[no-any-return]
        value = make()
        if read_stamp() != stamp:
            return value
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                self._values.clear()
            self._values.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._stamp = None
            self._values.clear()
