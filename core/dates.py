"""Calendar helpers for cover: Payung's day is Jakarta's day, and cover runs in whole months."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")


def jakarta_today() -> date:
    return datetime.now(JAKARTA).date()


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(first_day: date, months: int) -> date:
    """The first day of the month ``months`` after ``first_day``'s month."""
    index = first_day.year * 12 + first_day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    return add_months(first_of_month(day), 1) - timedelta(days=1)


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)
