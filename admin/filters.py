"""Reading the admin list pages' search boxes: dates typed as YYYY-MM-DD (Jakarta days), a
page number, short free text. A bad value gives a message for the page and no filter."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import ColumnElement

from core.dates import JAKARTA

MAX_PAGE = 100_000


@dataclass
class DateRange:
    """``start``/``end`` are UTC moments: from the first Jakarta day's midnight up to (not
    including) the midnight after the last day."""

    first: date | None = None
    last: date | None = None
    errors: list[LazyString] = field(default_factory=list)

    @property
    def start(self) -> datetime | None:
        return _midnight(self.first) if self.first else None

    @property
    def end(self) -> datetime | None:
        return _midnight(self.last + timedelta(days=1)) if self.last else None

    def within(self, column: Any) -> list[ColumnElement[bool]]:
        """The conditions keeping ``column`` (a UTC moment) inside the range."""
        conditions = []
        if self.start:
            conditions.append(column >= self.start)
        if self.end:
            conditions.append(column < self.end)
        return conditions

    def args(self) -> dict[str, str]:
        """For links (pagination) keeping the range."""
        shown = {"from": self.first, "to": self.last}
        return {key: value.isoformat() for key, value in shown.items() if value}


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=JAKARTA).astimezone(UTC)


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def date_range(args: Mapping[str, str]) -> DateRange:
    found = DateRange()
    raw_first = (args.get("from") or "").strip()[:20]
    raw_last = (args.get("to") or "").strip()[:20]
    first = _date(raw_first) if raw_first else None
    last = _date(raw_last) if raw_last else None
    if (raw_first and first is None) or (raw_last and last is None):
        found.errors.append(_l("Write dates as YYYY-MM-DD, for example 2026-01-31."))
        return found
    if first and last and first > last:
        found.errors.append(_l("The first date must not be after the last date."))
        return found
    found.first, found.last = first, last
    return found


def page_number(args: Mapping[str, str]) -> int:
    raw = args.get("page", "1")
    return min(max(int(raw), 1), MAX_PAGE) if raw.isdigit() and len(raw) < 7 else 1


def text(args: Mapping[str, str], name: str, max_length: int = 120) -> str:
    return " ".join((args.get(name) or "").split())[:max_length]
