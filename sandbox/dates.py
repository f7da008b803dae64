"""Calendar arithmetic the partners need: month ends, calendar months ahead, UTC timestamps."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now_iso() -> str:
    return iso_utc(utc_now())


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(moment: datetime, months: int) -> datetime:
    """Same day and time ``months`` later, clamped to a shorter month's end (31 Jan → 28 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, month_end(year, month).day))
