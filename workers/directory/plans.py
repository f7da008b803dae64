"""The directory's statements, built once per filter set and executed with each page's values.

Measured (issue 16, fourth round): building a page's two SELECTs with SQLAlchemy, and matching
the result columns of a newly built statement to its cached compiled form, cost ten times what
SQLite took to run them (first page: 1.7 of 1.85 ms in ``directory_rows``). So a
``DirectoryPlan`` holds the statements of one *plan key* (the filters with the search text
replaced by its shape, today's date, which the status and age conditions hold, and the
database), built on first use; every request of that key executes the same statement objects
with its own bound values: the search words, the offset or the "next" cursor, the limits.

Nothing read from the database is kept here, only SQL: a plan can never show stale data.
Plans of past days are never used again (today is in the key) and fall out of the LRU.
"""

from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, Select, bindparam, exists, func, literal, select, tuple_
from sqlalchemy.orm import aliased

from core.lru import Lru
from workers.directory.queries import (
    DirectoryFilters,
    directory_order,
    filter_conditions,
    matching_workers,
)
from workers.models import Worker, WorkerSearchTerm
from workers.search import query_shape, query_terms, term_range, term_values

CARD_COLUMNS = (
    Worker.id,
    Worker.full_name,
    Worker.occupation,
    Worker.province_code,
    Worker.regency,
    Worker.birth_date,
    Worker.story,
    Worker.photo_version,
    Worker.covered_until,
    Worker.needs_sponsor,
)
# How a text-only count is read from the first word's terms, per database (see
# DirectoryPlan._count): "distinct" or "first_term"; other databases keep ``id IN``.
TERM_DRIVEN_COUNT = {"sqlite": "distinct", "postgresql": "first_term"}

_OFFSET = bindparam("offset", type_=Integer)
_WINDOW = bindparam("window", type_=Integer)
_PER_PAGE = bindparam("per_page", type_=Integer)
_SPAN = bindparam("span", type_=Integer)
_EVERY = bindparam("every", type_=Integer)


class DirectoryPlan:
    """The statements of one plan key. Values bound at execution (``page_values``): the
    search words (``term_from_N``/``term_to_N``), ``offset``, ``window`` (how many to count
    at most), ``per_page``, the cursor (``after_key``, ``after_id``) and ``ids``."""

    def __init__(self, filters: DirectoryFilters, today: date, dialect: str) -> None:
        self.filters = filters
        self.today = today
        self.dialect = dialect
        self.sort_key = directory_order(filters)[0]
        self._statements: dict[str, Select[Any]] = {}

    def statement(self, kind: str) -> Select[Any]:
        """``count``, ``count_after``, ``count_before``, ``count_before_after``, ``page``,
        ``page_after``, ``page_counted``, ``page_after_counted``, ``page_probe``,
        ``page_after_probe``, ``typed_ids``, ``typed_ids_after``, ``anchors``,
        ``anchors_after`` or ``cards_by_id``."""
        found = self._statements.get(kind)
        if found is None:
            found = self._statements[kind] = self._build(kind)
        return found

    def _past_cursor(self) -> Any:
        return tuple_(self.sort_key, Worker.id) > tuple_(
            bindparam("after_key", type_=Date), bindparam("after_id", type_=Integer)
        )

    def _build(self, kind: str) -> Select[Any]:
        filters, today = self.filters, self.today
        if kind == "cards_by_id":
            return select(*CARD_COLUMNS, self.sort_key.label("sort_key")).where(
                Worker.id.in_(bindparam("ids", expanding=True))
            )
        if kind.startswith("typed_ids"):
            ids = matching_workers(filters, today).with_only_columns(Worker.id)
            if kind == "typed_ids_after":
                ids = ids.where(self._past_cursor())
            return ids.offset(_OFFSET).limit(_WINDOW)
        if kind.startswith("anchors"):
            return self._anchors(after=kind == "anchors_after")
        if kind.startswith("count_before"):  # past the last page: how many, at most ``offset``
            ids = matching_workers(filters, today).with_only_columns(Worker.id).order_by(None)
            if kind == "count_before_after":  # from an anchor on (``anchors``)
                ids = ids.where(self._past_cursor())
            return _counted(ids.limit(_OFFSET))
        if kind.startswith("count"):
            return _counted(self._count(after=kind == "count_after"))
        matching = matching_workers(filters, today, probe_text=kind.endswith("_probe"))
        page = matching.with_only_columns(*CARD_COLUMNS, self.sort_key.label("sort_key"))
        page = page.where(self._past_cursor()) if "after" in kind else page.offset(_OFFSET)
        if kind.endswith("_counted"):
            # The count of ``count`` or ``count_after`` as a column of every row: evaluated
            # once (it depends on no row), one round trip less. Not for a text search, whose
            # page plan depends on its count.
            count = _counted(self._count(after="after" in kind)).scalar_subquery()
            page = page.add_columns(count.label("found"))
        return page.limit(_PER_PAGE)

    def _anchors(self, *, after: bool) -> Select[Any]:
        """The sort key and id of every ``every``-th worker of the next ``span`` in the
        directory's order (from the start, or after the cursor), numbered by the database:
        the rows stream from the order's index through ``row_number()`` and only the
        anchors reach Python (``workers.directory.positions``)."""
        order = directory_order(self.filters)
        walk = matching_workers(self.filters, self.today).with_only_columns(
            self.sort_key.label("sort_key"),
            Worker.id.label("id"),
            func.row_number().over(order_by=order).label("n"),
        )
        if after:
            walk = walk.where(self._past_cursor())
        numbered = walk.limit(_SPAN).subquery()
        return (
            select(numbered.c.sort_key, numbered.c.id)
            .where(numbered.c.n % _EVERY == 0)
            .order_by(numbered.c.n)
        )

    def _count(self, *, after: bool) -> Select[Any]:
        """The ids to count, in no order, at most ``window`` of them.

        A text-only search reads them from the first word's terms, each checked against its
        worker (joined on SQLite, probed by primary key on PostgreSQL), and stops at
        ``window``, where ``id IN (…)`` reads every match first (``siti``: 9,953 ids; SQLite
        builds their list, 1.7 ms of the count's 1.8; PostgreSQL hashes them, 3.4 ms).
        A worker may have two words starting with the prefix, so each is counted once: on
        SQLite with DISTINCT (streamed through a temporary B-tree); on PostgreSQL, whose
        DISTINCT would hash or sort every match, by keeping only the worker's first matching
        term (``NOT EXISTS`` an earlier one, one seek in ix_worker_search_terms_worker_term;
        ``OFFSET 0`` keeps it a per-row check instead of an anti-join over all matches).
        The other words are probed per worker. With other filters the planner's choice
        (``id IN``) is kept: a selective filter would make the walk through the terms long.
        """
        filters = self.filters
        terms = query_terms(filters.query)
        text_only = terms and not replace(filters, query="").is_filtered
        form = TERM_DRIVEN_COUNT.get(self.dialect) if text_only else None
        if form is None:
            ids = matching_workers(filters, self.today).with_only_columns(Worker.id)
            ids = ids.order_by(None)
            if after:
                ids = ids.where(self._past_cursor())
        else:
            first = aliased(WorkerSearchTerm)
            (word, upper), others = terms[0], terms[1:]
            conditions = filter_conditions(filters, self.today)
            if after:
                conditions.append(self._past_cursor())
            for n, (other, other_upper) in enumerate(others, start=1):
                conditions.append(
                    exists().where(
                        WorkerSearchTerm.worker_id == Worker.id,
                        *term_range(other, other_upper, n),
                    )
                )
            if form == "distinct":
                ids = (
                    select(first.worker_id)
                    .join_from(first, Worker, Worker.id == first.worker_id)
                    .where(*term_range(word, upper, 0, first.term), *conditions)
                    .distinct()
                )
            else:
                # The worker's conditions as a probe by primary key per term (``OFFSET 0``:
                # not a join), so the count stops at ``window`` after as many probes; joined,
                # PostgreSQL hashed every listed worker first (10,000 workers: 2.1 of the
                # count's 3.6 ms, and it grows with the workers).
                worker_matches = (
                    select(literal(1)).where(Worker.id == first.worker_id, *conditions).offset(0)
                )
                ids = select(first.worker_id).where(
                    *term_range(word, upper, 0, first.term), worker_matches.exists()
                )
                earlier = aliased(WorkerSearchTerm)
                earlier_term = (
                    select(literal(1))
                    .where(
                        earlier.worker_id == first.worker_id,
                        earlier.term >= bindparam("term_from_0", word),
                        earlier.term < first.term,
                    )
                    .offset(0)
                )
                ids = ids.where(~earlier_term.exists())
        return (ids if after else ids.offset(_OFFSET)).limit(_WINDOW)


def _counted(ids: Select[Any]) -> Select[Any]:
    return select(func.count()).select_from(ids.subquery())


def _plan(filters: DirectoryFilters, today: date, dialect: str) -> DirectoryPlan:
    key = (replace(filters, query=""), query_shape(filters.query), today, dialect)
    plan = PLANS.get(key)
    if plan is None:
        plan = DirectoryPlan(filters, today, dialect)
        PLANS.put(key, plan)
    return plan


PLANS: Lru[DirectoryPlan] = Lru(256)


def directory_plan(
    filters: DirectoryFilters, today: date, dialect: str
) -> tuple[DirectoryPlan, dict[str, Any]]:
    """The plan of ``filters`` today, and the values its statements take for this query."""
    return _plan(filters, today, dialect), dict(term_values(filters.query))
