"""What the directory remembers for a minute about the *size and shape* of a filter set's list,
never about a worker: where deep pages start, and that a first page's count reached its cap.

**Anchors.** A page number typed in (``/pekerja?page=2000``: a bookmark, a shared link, a
crawler) has no cursor. Page 2,000 starts at the 47,977th worker of its filter set, and finding
it stepped over 47,976 entries of the order's index (PostgreSQL: 11.2 ms a request over the
test client, 100,000 workers; 0.23–0.34 × the reference catalog; issue 16), a cost that grows
with the number a stranger types. So each app process keeps, per filter set and day, the sort
key and id of every ANCHOR_EVERY-th worker in the directory's order (``Anchors``). Page 2,000
starts right after the 199th anchor and steps over the 216 entries after it (3.5 ms with
anchors 1,000 apart). The map is
read only as deep as pages are asked for, by one statement from its last anchor on
(``DirectoryPlan`` ``anchors``: the database numbers the rows with ``row_number()`` as they
stream from the index; only the anchors reach Python), so each index entry is read once per
POSITIONS_TTL however many deep pages are asked for.

**Capped counts.** A first page counts its filter set's workers up to COUNT_CAP + 1 and says
"more than 500" when it gets there. For a common search word that count is most of the page's
database time (``q=siti`` on PostgreSQL: 1.9 of 2.7 ms: 501 terms, each checked against its
worker and against the worker's other terms). A count that reached the cap is kept for
POSITIONS_TTL, and the first page of that filter set skips it. Counts below the cap are always
read, so every exact number a sponsor sees is fresh.

What this can get wrong, and why that is acceptable: the cards, their coverage, the page's rows
and the next page's cursor are read fresh on every request; only a position or a "more than
500" may be up to POSITIONS_TTL old.
* If workers joined, left or moved in the order before an anchor since the map was read, a
  typed-in page starts that many workers off: what any page number does between two views of a
  list that changes (OFFSET does the same between two requests). Pages reached by "next" follow
  their cursor and never use the map.
* "More than 500" may be said of a filter set that fell to 500 or fewer within the minute.
  Should its first page then come back short of a whole page, the count is read again at once.
Both are kept in the Flask app (each test's app starts with none), keyed by the filters, the
day and the database, and dropped after POSITIONS_TTL.
"""

import time
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from core.lru import Lru
from core.per_app import once_per_app
from workers.directory.plans import DirectoryPlan

ANCHOR_EVERY = 240  # every tenth page starts at an anchor
POSITIONS_TTL = 60.0  # seconds
KEPT = 256  # filter sets per process, of each kind

Cursor = tuple[date, int]


@dataclass(frozen=True, slots=True)
class Anchors:
    """``points[j]``: the sort key and id of the worker at position (j + 1) × ANCHOR_EVERY
    (counting from 1) in the filter set's order; ``complete``: no further anchor exists."""

    made_at: float
    points: tuple[Cursor, ...]
    complete: bool


def _anchor_maps() -> Lru[Anchors]:
    return once_per_app("directory.anchors", lambda config: Lru[Anchors](KEPT))


def _capped_counts() -> Lru[float]:
    return once_per_app("directory.capped_counts", lambda config: Lru[float](KEPT))


def deepest_anchor(
    connection: Connection, plan: DirectoryPlan, offset: int
) -> tuple[int, Cursor] | None:
    """The anchor nearest before the ``offset``-th worker of ``plan``'s filter set: how many
    workers lie up to it and its cursor; None when the offset is before the first anchor or
    the filter set has fewer than ANCHOR_EVERY workers. Reads (or extends) the map if needed."""
    wanted = offset // ANCHOR_EVERY
    if not wanted or plan.filters.query:  # a plan serves every query of a shape: no anchors
        return None
    key = (plan.filters, plan.today, plan.dialect)
    maps = _anchor_maps()
    now = time.monotonic()
    found = maps.get(key)
    if found is None or now - found.made_at > POSITIONS_TTL:
        found = Anchors(made_at=now, points=(), complete=False)
    if len(found.points) < wanted and not found.complete:
        found = _extend(connection, plan, found, wanted)
        maps.put(key, found)
    reached = min(wanted, len(found.points))
    if not reached:
        return None
    return reached * ANCHOR_EVERY, found.points[reached - 1]


def _extend(connection: Connection, plan: DirectoryPlan, anchors: Anchors, wanted: int) -> Anchors:
    missing = wanted - len(anchors.points)
    values: dict[str, Any] = {"span": missing * ANCHOR_EVERY, "every": ANCHOR_EVERY}
    kind = "anchors"
    if anchors.points:
        kind = "anchors_after"
        values["after_key"], values["after_id"] = anchors.points[-1]
    rows = connection.execute(plan.statement(kind), values).all()
    return Anchors(
        made_at=anchors.made_at,
        points=anchors.points + tuple((row.sort_key, row.id) for row in rows),
        complete=len(rows) < missing,
    )


def capped_recently(key: Hashable) -> bool:
    """Whether the count of ``key`` (filters, day, database, cap) reached its cap less than
    POSITIONS_TTL ago."""
    counted_at = _capped_counts().get(key)
    return counted_at is not None and time.monotonic() - counted_at <= POSITIONS_TTL


def keep_capped(key: Hashable) -> None:
    _capped_counts().put(key, time.monotonic())


def forget_capped(key: Hashable) -> None:
    _capped_counts().discard(key)
