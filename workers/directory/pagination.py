"""The directory's pagination: what ``_macros.pagination`` reads, for a total that may be a
lower bound (the count stops at a cap, ``workers.directory.page``), with every link filled
into one URL built once a page."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from math import ceil
from urllib.parse import urlencode


@dataclass(frozen=True, slots=True)
class DirectoryPagination:
    """What ``_macros.pagination`` reads, for a total that may be a lower bound."""

    page: int
    per_page: int
    counted: int  # min(matching workers, workers before this page + COUNT_CAP + 1)
    cap: int
    next_args: dict[str, str] = field(default_factory=dict)  # the "next" link's cursor
    base_url: str = ""  # the directory's URL with the filters, built once a page

    def link(self, number: int, **extra: str) -> str:
        """The URL of page ``number``: what ``url_for`` builds for the filters, the page and
        ``extra``, without a ``url_for`` per link (``_macros.pagination``; tested)."""
        separator = "&" if "?" in self.base_url else "?"
        return f"{self.base_url}{separator}{urlencode({'page': number, **extra})}"

    @property
    def total_is_exact(self) -> bool:
        return self.counted <= (self.page - 1) * self.per_page + self.cap

    @property
    def total(self) -> int:
        return self.counted if self.total_is_exact else self.counted - 1

    @property
    def pages(self) -> int:
        """How many pages there are; when the total is a lower bound, how many at least."""
        if not self.counted:
            return 0
        if self.total_is_exact:
            return max(ceil(self.total / self.per_page), 1)
        return ceil(self.counted / self.per_page)  # counted = total + 1 workers at least

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
