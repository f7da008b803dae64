"""One page of the sponsor directory, read and shaped for its template in a few milliseconds.

Measured first (issue 16, ``bench/page_profile.py``): the page spent most of its time not in
SQL but in Python per card (ORM objects, Babel, ``url_for`` three times a card, nested macros)
and in a count of every matching worker. So here:

* the page reads the card's columns as ``Row`` tuples, not ``Worker`` objects;
* each card's URLs are filled into a URL built once per page, labels come from a table built
  once per language, dates from i18n's formatting cache;
* the count stops at COUNT_CAP workers past the page ("more than 1,000 workers match"): exact
  where it matters (small results, the last pages), bounded everywhere; no cache, so nothing a
  sponsor sees can be stale;
* one statement reads the ids in the directory's order from this page on, up to COUNT_CAP + 1
  of them: the page's ids and the count in one pass, through the order's index and mostly in
  the index alone (a deep page skips 48,000 index entries, not 48,000 table rows); the second
  reads the 24 cards by id.

Statements stay two a page (ids, cards), whatever the number of workers; a page past the last
one counts the workers before it instead (three).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from math import ceil
from typing import Any

from flask import url_for
from sqlalchemy import Row, func, select
from werkzeug.datastructures import MultiDict

from core.dates import jakarta_today
from core.identity import OCCUPATION_LABELS, PROVINCES, age_band, first_name_and_initial
from extensions import db
from i18n import current_locale_name, local_date
from workers.coverage import CoverageStatus, coverage_status
from workers.directory.forms import DirectoryFilterForm
from workers.directory.queries import (
    PAGE_SIZE,
    DirectoryFilters,
    matching_workers,
    max_selection,
)
from workers.models import Worker

COUNT_CAP = 1_000
_SENTINEL = 987654321  # a worker id no URL rule rewrites: replaced by each card's id

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


@dataclass(frozen=True, slots=True)
class DirectoryPagination:
    """What ``_macros.pagination`` reads, for a total that may be a lower bound."""

    page: int
    per_page: int
    counted: int  # min(matching workers, workers before this page + COUNT_CAP + 1)
    cap: int

    @property
    def total_is_exact(self) -> bool:
        return self.counted <= (self.page - 1) * self.per_page + self.cap

    @property
    def total(self) -> int:
        return self.counted if self.total_is_exact else self.counted - 1

    @property
    def pages(self) -> int:
        return max(ceil(self.total / self.per_page), 1) if self.counted else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages or (
            not self.total_is_exact and self.page * self.per_page < self.counted
        )

    @property
    def next_num(self) -> int:
        return self.page + 1

    def iter_pages(
        self, left_edge: int = 2, left_current: int = 2, right_current: int = 4, right_edge: int = 2
    ) -> Iterator[int | None]:
        """Flask-SQLAlchemy's page numbers with gaps; the last page only when the total is
        exact."""
        pages = self.pages
        last = pages if self.total_is_exact else 0
        shown = set(range(1, min(left_edge, pages) + 1))
        shown.update(
            range(max(self.page - left_current, 1), min(self.page + right_current, pages) + 1)
        )
        if last:
            shown.update(range(max(last - right_edge + 1, 1), last + 1))
        previous = 0
        for number in sorted(shown):
            if number - previous > 1:
                yield None
            yield number
            previous = number


@dataclass(frozen=True, slots=True)
class DirectoryPage:
    form: DirectoryFilterForm
    filters: DirectoryFilters
    cards: list[DirectoryCard]
    pagination: DirectoryPagination
    today: date
    max_selection: int

    @property
    def total(self) -> int:
        return self.pagination.total

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
    labels = _occupation_labels(current_locale_name())
    profile = url_for("sponsorship.worker_profile", worker_id=_SENTINEL)
    photo = url_for("sponsorship.worker_photo", worker_id=_SENTINEL, v=_SENTINEL + 1)
    avatar = url_for("static", filename="img/avatar.svg")
    sentinel, version = str(_SENTINEL), str(_SENTINEL + 1)
    cards = []
    for row in rows:
        worker_id = str(row.id)
        cards.append(
            DirectoryCard(
                id=row.id,
                name=first_name_and_initial(row.full_name),
                occupation=labels.get(row.occupation, row.occupation),
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
        )
    return cards


def directory_rows(
    filters: DirectoryFilters, *, page: int, today: date, per_page: int = PAGE_SIZE
) -> tuple[list[Row[Any]], int]:
    """The page's card columns and how many workers were counted (see DirectoryPagination).

    One pass over the matching workers' ids in the directory's order (an index, mostly
    index-only) from this page on, at most COUNT_CAP + 1 of them, gives both the page's ids and
    the count; the second statement reads the cards by id.
    """
    matching = matching_workers(filters, today)
    offset = (page - 1) * per_page
    ids = list(
        db.session.scalars(
            matching.with_only_columns(Worker.id).limit(COUNT_CAP + 1).offset(offset)
        )
    )
    if not ids and offset:  # past the last page: there are at most ``offset``; say how many
        bounded = matching.with_only_columns(Worker.id).order_by(None).limit(offset)
        counted = db.session.scalar(select(func.count()).select_from(bounded.subquery())) or 0
        return [], counted
    wanted = ids[:per_page]
    rows = db.session.execute(select(*CARD_COLUMNS).where(Worker.id.in_(wanted))).all()
    position = {worker_id: n for n, worker_id in enumerate(wanted)}
    rows.sort(key=lambda row: position[row.id])
    return list(rows), offset + len(ids)


def directory_page(args: MultiDict[str, str]) -> DirectoryPage:
    """The directory for a query string: filters checked (a wrong value counts as "any"), the
    page of cards, the capped count."""
    form = DirectoryFilterForm(formdata=args)
    form.validate()
    filters = form.filters()
    page = max(args.get("page", 1, type=int) or 1, 1)
    today = jakarta_today()
    rows, counted = directory_rows(filters, page=page, today=today)
    return DirectoryPage(
        form=form,
        filters=filters,
        cards=_cards(rows, today),
        pagination=DirectoryPagination(
            page=page, per_page=PAGE_SIZE, counted=counted, cap=COUNT_CAP
        ),
        today=today,
        max_selection=max_selection(),
    )
