"""One page of the sponsor directory, read and shaped for its template in a few milliseconds.

Measured first (issue 16, ``bench/page_profile.py``): the page spent most of its time not in
SQL but in Python per card (ORM objects, Babel, ``url_for`` three times a card, nested macros)
and in a count of every matching worker. So here:

* the page reads the card's columns as ``Row`` tuples, not ``Worker`` objects;
* each card's URLs are filled into a URL built once per page, labels come from a table built
  once per language, dates from i18n's formatting cache;
* the count stops at COUNT_CAP workers past the page ("more than 500 workers match"): exact
  where it matters (small results, the last pages), bounded everywhere; no cache, so nothing a
  sponsor sees can be stale;
* one statement counts the matching workers from this page on, in no order (the database
  reads the cheapest index, mostly in the index alone, and stops at the cap); the second
  reads the page's 24 cards in the directory's order through the order's index;
* the count doubles as a text search word's frequency: a common word ("siti") is found by
  walking the order index and probing each worker's terms, a rare one from its terms and
  sorted (``directory_rows``);
* the "next" link carries a cursor (the last card's sort date and id): the next page starts
  there in the index (keyset pagination), so paging on costs what the first page costs; a page
  number typed in reads the ids from the index alone, then the cards by id (``_typed_in_page``);
* the statements are built once per filter set and run with each page's values
  (``workers.directory.plans``); the filters are parsed once per query string, and the filter
  form is built only when its rendering is not kept;
* on PostgreSQL the statements run outside a transaction (``core.reading``): no ``BEGIN``
  before them, no ``ROLLBACK`` after, the same data under READ COMMITTED;
* each card's HTML is kept by the card's content, and a visitor's whole page by everything it
  shows (``visitor_pages``): data seen before is not rendered again, and nothing kept is
  ever stale, since the statements still run.

Statements stay two a page whatever the number of workers (one when the count finds nobody;
a page past the last one counts the workers before it instead).
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from flask import url_for
from markupsafe import Markup
from sqlalchemy import Row
from sqlalchemy.engine import Connection
from werkzeug.datastructures import MultiDict

from core.dates import jakarta_today
from core.identity import OCCUPATION_LABELS, PROVINCES, age_band, first_name_and_initial
from core.lru import Lru
from core.per_app import once_per_app
from core.reading import reading_connection
from i18n import current_locale_name, local_date
from workers.coverage import CoverageStatus, coverage_status
from workers.directory.forms import DirectoryFilterForm
from workers.directory.pagination import DirectoryPagination
from workers.directory.plans import DirectoryPlan, directory_plan
from workers.directory.positions import capped_recently, deepest_anchor, forget_capped, keep_capped
from workers.directory.queries import PAGE_SIZE, DirectoryFilters, max_selection

COUNT_CAP = 500
_SENTINEL = 987654321  # a worker id no URL rule rewrites: replaced by each card's id


@dataclass(frozen=True, slots=True)
class DirectoryCard:
    id: int
    name: str
    occupation: str
    age_band: str
    place: str
    story: str | None
    status: CoverageStatus
    covered_until: str  # formatted; "–" when never covered
    profile_url: str
    photo_url: str


class FragmentCache(Lru[Markup]):
    """Rendered HTML fragments by key, the least recently used dropped past ``size``; ``put``
    answers "" so a template can call it inside ``{% set %}``."""

    def put(self, key: Hashable, html: str) -> str:  # type: ignore[override]
        super().put(key, Markup(html))  # noqa: S704 (rendered by Jinja, escaped there)
        return ""


# The directory's header and filter form, per language and query string. Nothing in it depends
# on who looks (a GET form has no CSRF token, the user's actions are outside it) or on the data.
FORM_CACHE = FragmentCache(512)
_NOT_FORM_ARGS = frozenset({"page", "after"})
# Each card's HTML, keyed by everything it shows: the language, the actions offered (a
# sponsor's checkbox and button, a visitor's sign-in link, nothing: none of them holds anything
# of the viewer; the CSRF token is outside the cards) and the DirectoryCard itself (name, story,
# place, status and cover date as of today, URLs with the photo's version). A worker whose
# cover, story or photo changes gets a new key, so a kept card is never stale; nothing is
# invalidated, the least recently used fall out past the size.
CARD_CACHE = FragmentCache(4096)


def visitor_pages() -> Lru[str]:
    """A visitor's whole pages (nobody signed in, no flash message to show), 256 of them, per
    app (its templates, settings and translations made them), keyed the same way as the cards:
    by everything a page shows (the language; the URL, whose filters and page make every link
    on it; today; how many were counted; the next page's cursor; the cards). The statements
    still run on every request: a kept page only saves rendering what the same data rendered
    before, so it is never stale either."""
    return once_per_app("payung_directory_visitor_pages", lambda _config: Lru(256))


@dataclass(frozen=True, slots=True)
class DirectoryPage:
    args: MultiDict[str, str]
    filters: DirectoryFilters
    cards: list[DirectoryCard]
    pagination: DirectoryPagination
    today: date
    max_selection: int
    form_key: tuple[Any, ...] = ()
    form_cache: FragmentCache = FORM_CACHE
    locale: str = ""
    card_cache: FragmentCache = CARD_CACHE

    @property
    def form(self) -> DirectoryFilterForm:
        """The filter form, built when the template renders it (not kept in FORM_CACHE)."""
        form = DirectoryFilterForm(formdata=self.args)
        form.validate()
        return form

    @property
    def total(self) -> int:
        return self.pagination.total

    def as_visitor_sees_it(self, url: Hashable, render: Callable[[], str]) -> str:
        """The page for a visitor at ``url`` (script root and path with its query string):
        ``render()``'s HTML, or the HTML it gave for the same data at the same URL before."""
        pagination = self.pagination
        cursor = pagination.next_args.get("after")  # the last card's sort date is not on it
        key = (self.locale, url, self.today, pagination.counted, cursor, *self.cards)
        kept = visitor_pages()
        found = kept.get(key)
        if found is None:
            found = render()
            kept.put(key, found)
        return found

    @property
    def total_is_exact(self) -> bool:
        return self.pagination.total_is_exact


@lru_cache(maxsize=8)
def _occupation_labels(locale: str) -> dict[str, str]:
    # The locale argument is the cache key: str() translates in the request's language.
    return {occupation.value: str(label) for occupation, label in OCCUPATION_LABELS.items()}


def _cards(rows: list[Row[Any]], today: date) -> list[DirectoryCard]:
    if not rows:
        return []
    urls = (
        url_for("sponsorship.worker_profile", worker_id=_SENTINEL),
        url_for("sponsorship.worker_photo", worker_id=_SENTINEL, v=_SENTINEL + 1),
        url_for("static", filename="img/avatar.svg"),
    )
    locale = current_locale_name()
    return [_card(row, today, locale, urls) for row in rows]


@lru_cache(maxsize=4096)
def _card(row: Row[Any], today: date, locale: str, urls: tuple[str, str, str]) -> DirectoryCard:
    """One card, kept by everything it is made of: the row's columns (a change of cover,
    story or photo is a new key), today (age band, status) and the language (labels, date)."""
    profile, photo, avatar = urls
    sentinel, version, worker_id = str(_SENTINEL), str(_SENTINEL + 1), str(row.id)
    return DirectoryCard(
        id=row.id,
        name=first_name_and_initial(row.full_name),
        occupation=_occupation_labels(locale).get(row.occupation, row.occupation),
        age_band=str(age_band(row.birth_date, today)),
        place=f"{row.regency}, {PROVINCES.get(row.province_code, row.province_code)}",
        story=row.story,
        status=coverage_status(row, today),  # type: ignore[arg-type]
        covered_until=local_date(row.covered_until),
        profile_url=profile.replace(sentinel, worker_id),
        photo_url=(
            photo.replace(version, str(row.photo_version)).replace(sentinel, worker_id)
            if row.photo_version
            else avatar
        ),
    )


def parse_cursor(text: str | None) -> tuple[date, int] | None:
    """``2026-01-31.4711`` (the previous page's last sort date and id), else None."""
    day, _, worker_id = (text or "").partition(".")
    try:
        return date.fromisoformat(day), int(worker_id)
    except ValueError:
        return None


def directory_rows(
    connection: Connection,
    filters: DirectoryFilters,
    *,
    page: int,
    today: date,
    after: tuple[date, int] | None = None,
    per_page: int = PAGE_SIZE,
) -> tuple[list[Row[Any]], int, str | None]:
    """The page's card columns, how many workers were counted (see DirectoryPagination), and
    the cursor of the next page. Two statements of the filters' plan (``plans``):

    1. How many workers match from this page on, at most COUNT_CAP + 1: a count in no order,
       so the database reads whichever index is cheapest (mostly index-only), and stops early.
    2. The page: ``per_page`` rows of card columns in the directory's order. With ``after``
       (the "next" link's cursor) both start right after the previous page's last worker
       instead of skipping the workers before (keyset pagination: a page reached by "next"
       costs what the first one does); a page number typed in skips index entries.

    The count is also a text search word's frequency, for free. When it stops at its cap the
    word is common (``siti`` matches 10 % of the workers): reading every match from the
    words to sort them would cost thousands of rows for a page of 24, so the page walks the
    directory's order index and probes each worker's own terms instead
    (``search_condition(probe=True)``), finding 24 matches after about 24 ÷ (share matching)
    workers. Otherwise at most COUNT_CAP match past the page, and reading them from the words
    and sorting them is the cheap plan (a walk would read the whole index for a rare word).
    """
    plan, values = directory_plan(filters, today, connection.dialect.name)
    offset = (page - 1) * per_page
    window = max(COUNT_CAP, per_page) + 1
    values.update(offset=offset, window=window, per_page=per_page)
    by_cursor = after is not None and page > 1
    if by_cursor:
        values.update(after_key=after[0], after_id=after[1])  # type: ignore[index]
    if offset and not by_cursor and not filters.query:
        return _typed_in_page(connection, plan, values, offset=offset, per_page=per_page)
    first_page = not offset and not by_cursor
    count_key = (filters, today, connection.dialect.name, window)
    kept_capped = first_page and capped_recently(count_key)
    if not filters.query and not kept_capped:
        # The count rides along with the page, in one statement (``page_counted``).
        kind = "page_after_counted" if by_cursor else "page_counted"
        rows = list(connection.execute(plan.statement(kind), values).fetchall())
        found = rows[0].found if rows else 0
    else:
        found = window
        if not kept_capped:
            found = connection.scalar(
                plan.statement("count_after" if by_cursor else "count"), values
            )
        common = bool(filters.query) and found == window
        kind = ("page_after" if by_cursor else "page") + ("_probe" if common else "")
        # 24 rows as plain tuples: the ORM's row machinery cost more than the statement.
        rows = list(connection.execute(plan.statement(kind), values).fetchall()) if found else []
    if kept_capped and len(rows) < per_page:
        # Far fewer match than when the count was kept: count again, and forget it.
        forget_capped(count_key)
        kept_capped = False
        found = connection.scalar(plan.statement("count"), values) or 0
    if first_page and found == window and not kept_capped:
        keep_capped(count_key)  # counted just now: kept for POSITIONS_TTL from now
    if not found and offset:
        # Past the last page: there are at most ``offset``; say how many.
        return [], connection.scalar(plan.statement("count_before"), values) or 0, None
    cursor = None
    if found > per_page and len(rows) == per_page:
        cursor = f"{rows[-1].sort_key.isoformat()}.{rows[-1].id}"
    return rows, offset + found, cursor


def _typed_in_page(
    connection: Connection,
    plan: DirectoryPlan,
    values: dict[str, Any],
    *,
    offset: int,
    per_page: int,
) -> tuple[list[Row[Any]], int, str | None]:
    """A page number typed in (no cursor): skipping ``offset`` workers must skip index entries
    only. PostgreSQL reads the table row of every entry an OFFSET skips when the statement
    selects more than the index holds (page 2,000: 133 ms), so one pass reads the ids in order
    from the index alone, at most COUNT_CAP + 1 (the page and the count), and a second reads
    the page's cards by id. Deep pages start from the nearest anchor before them
    (``workers.directory.positions``): page 2,000 steps over 216 entries, not 47,976."""
    anchor = deepest_anchor(connection, plan, offset)
    ids_kind, count_kind, skipped = "typed_ids", "count_before", 0
    if anchor is not None:
        skipped, (values["after_key"], values["after_id"]) = anchor
        ids_kind, count_kind = "typed_ids_after", "count_before_after"
        values["offset"] = offset - skipped
    found = connection.scalars(plan.statement(ids_kind), values).all()
    if not found:  # past the last page: there are at most ``offset``; say how many
        return [], skipped + (connection.scalar(plan.statement(count_kind), values) or 0), None
    wanted = list(found[:per_page])
    rows = list(connection.execute(plan.statement("cards_by_id"), {"ids": wanted}).fetchall())
    position = {worker_id: n for n, worker_id in enumerate(wanted)}
    rows.sort(key=lambda row: position[row.id])
    cursor = None
    if len(found) > per_page and len(rows) == per_page:
        cursor = f"{rows[-1].sort_key.isoformat()}.{rows[-1].id}"
    return rows, offset + len(found), cursor


def _filters(args_key: tuple[tuple[str, str], ...]) -> DirectoryFilters:
    """The valid filters of a query string (a wrong value counts as "any"), kept per query
    string: they follow from it alone (the form's choices are fixed)."""
    found = _FILTERS.get(args_key)
    if found is None:
        form = DirectoryFilterForm(formdata=MultiDict(args_key))
        form.validate()
        found = form.filters()
        _FILTERS.put(args_key, found)
    return found


_FILTERS: Lru[DirectoryFilters] = Lru(512)


def directory_page(args: MultiDict[str, str]) -> DirectoryPage:
    """The directory for a query string: filters checked (a wrong value counts as "any"), the
    page of cards, the capped count, the next page's cursor."""
    args_key = tuple(sorted((k, v) for k, v in args.items(multi=True) if k not in _NOT_FORM_ARGS))
    filters = _filters(args_key)
    page = max(args.get("page", 1, type=int) or 1, 1)
    today = jakarta_today()
    with reading_connection() as connection:  # on PostgreSQL: no BEGIN, no ROLLBACK
        rows, counted, cursor = directory_rows(
            connection, filters, page=page, today=today, after=parse_cursor(args.get("after"))
        )
    locale = current_locale_name()
    return DirectoryPage(
        args=args,
        filters=filters,
        cards=_cards(rows, today),
        pagination=DirectoryPagination(
            page=page,
            per_page=PAGE_SIZE,
            counted=counted,
            cap=max(COUNT_CAP, PAGE_SIZE),
            next_args={"after": cursor} if cursor else {},
            base_url=url_for("sponsorship.directory", **filters.as_args()),
        ),
        today=today,
        max_selection=max_selection(),
        locale=locale,
        form_key=(locale, args_key),
    )
