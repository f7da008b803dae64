"""BPJS Ketenagakerjaan BPU dues pricing: rates, income bands and discounts in, a quote out.

Pure: no Flask app, no database. Rates, bands and discounts are data with effective dates that the
admin edits, so every function takes them as arguments; the ``DEFAULT_*`` values only seed them.
Every amount is a whole number of rupiah.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TypeGuard

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

PAYABLE_MONTHS = (1, 3, 6, 12)


class Programme(StrEnum):
    JKK = "JKK"  # work accident, compulsory
    JKM = "JKM"  # death, compulsory
    JHT = "JHT"  # old-age savings, optional


class PayerKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"
    GOVERNMENT = "government"  # dues paid from a state or regional budget (APBN/APBD)


class DuesError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


class InvalidDuesRequest(DuesError, ValueError):
    """A quote request the engine refuses; ``code`` names the rule, ``message`` is for people."""

    @property
    def message(self) -> LazyString:
        return _REFUSALS[self.code]


class InvalidDuesData(DuesError, ValueError):
    """Rates or discounts that cannot be priced with (negative, fractional, inverted dates)."""


class NoRatesInForce(DuesError, LookupError):
    def __init__(self, month: date) -> None:
        super().__init__("no_rates", f"no dues rates in force for {month:%Y-%m}")
        self.month = month


_REFUSALS = {
    "months": _l("Dues can be paid for 1, 3, 6 or 12 months."),
    "income": _l("The reported income must be a whole number of rupiah above zero."),
    "income_band": _l("Choose one of the listed income bands."),
    "first_month": _l("Dues are paid for whole months, starting on the first day of a month."),
    "payer_kind": _l("Choose who pays the dues."),
}


def _is_whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _require_whole(value: object, name: str) -> None:
    if not _is_whole(value) or value < 0:
        raise InvalidDuesData(name, f"{name} must be a whole number ≥ 0, not {value!r}")


def _is_month(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime) and value.day == 1


@dataclass(frozen=True, slots=True)
class DuesRates:
    """One version of the BPU rates, in force for contribution months from ``effective_from``."""

    effective_from: date
    jkk_rate_bp: int  # basis points of the income band: 100 bp = 1 %
    jkm_flat_idr: int
    jht_rate_bp: int

    def __post_init__(self) -> None:
        for name in ("jkk_rate_bp", "jkm_flat_idr", "jht_rate_bp"):
            _require_whole(getattr(self, name), name)


@dataclass(frozen=True, slots=True)
class DuesDiscount:
    """A percentage off some programmes for contribution months ``first_month``–``last_month``."""

    name: str
    percent: int
    programmes: frozenset[str]
    first_month: date  # both ends are first-of-month dates and both are included
    last_month: date
    transport_only: bool
    excludes_government_payers: bool

    def __post_init__(self) -> None:
        _require_whole(self.percent, "percent")
        if self.percent > 100:
            raise InvalidDuesData("percent", f"{self.name}: {self.percent} % is more than 100 %")
        unknown = set(self.programmes) - set(Programme)
        if unknown or not self.programmes:
            raise InvalidDuesData("programmes", f"{self.name}: programmes {sorted(unknown)}")
        object.__setattr__(self, "programmes", frozenset(Programme(p) for p in self.programmes))
        if not (_is_month(self.first_month) and _is_month(self.last_month)):
            raise InvalidDuesData("months", f"{self.name}: months must be first-of-month dates")
        if self.last_month < self.first_month:
            raise InvalidDuesData("months", f"{self.name}: last month is before first month")

    def applies_to(self, month: date, *, is_transport: bool, payer_kind: PayerKind) -> bool:
        return (
            self.first_month <= month <= self.last_month
            and (is_transport or not self.transport_only)
            and not (self.excludes_government_payers and payer_kind == PayerKind.GOVERNMENT)
        )


@dataclass(frozen=True, slots=True)
class MonthLine:
    """The dues for one contribution month; ``total`` = jkk + jkm + jht − discount."""

    month: date
    jkk: int
    jkm: int
    jht: int
    discount: int
    total: int
    discount_name: str | None = None


@dataclass(frozen=True, slots=True)
class DuesQuote:
    lines: tuple[MonthLine, ...]
    total_idr: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_idr", sum(line.total for line in self.lines))

    @property
    def first_month(self) -> date:
        return self.lines[0].month

    @property
    def last_month(self) -> date:
        return self.lines[-1].month


# Rates from PP 44/2015 (in force from July 2015) as the domain notes record them today.
DEFAULT_RATE_HISTORY: tuple[DuesRates, ...] = (
    DuesRates(
        effective_from=date(2015, 7, 1), jkk_rate_bp=100, jkm_flat_idr=6_800, jht_rate_bp=200
    ),
)

DEFAULT_DISCOUNTS: tuple[DuesDiscount, ...] = (
    DuesDiscount(
        name="PP 50/2025",
        percent=50,
        programmes=frozenset({Programme.JKK, Programme.JKM}),
        first_month=date(2026, 1, 1),
        last_month=date(2027, 3, 1),
        transport_only=True,
        excludes_government_payers=True,
    ),
)

# Only the minimum (Rp1,000,000) and a top of about Rp20,700,000 (highest JKK Rp207,000) are
# sourced; the official list in between was not found, so these steps are a plausible example
# for the admin to replace.
DEFAULT_INCOME_BANDS: tuple[int, ...] = (
    *range(1_000_000, 5_000_001, 500_000),
    *range(6_000_000, 10_000_001, 1_000_000),
    12_500_000,
    15_000_000,
    17_500_000,
    20_000_000,
    20_700_000,
)


def rates_for(month: date, history: Sequence[DuesRates]) -> DuesRates:
    """The rates version with the latest ``effective_from`` on or before ``month``.

    Raises ``NoRatesInForce`` when none has started yet, ``InvalidDuesData`` when two versions
    start on the same day (which one applies would be a guess).
    """
    started = [rates for rates in history if rates.effective_from <= month]
    if not started:
        raise NoRatesInForce(month)
    latest = max(started, key=lambda rates: rates.effective_from)
    if sum(rates.effective_from == latest.effective_from for rates in started) > 1:
        raise InvalidDuesData("duplicate_rates", f"two rate versions from {latest.effective_from}")
    return latest


def quote_dues(
    *,
    income_idr: int,
    first_month: date,
    months: int,
    include_jht: bool,
    is_transport: bool,
    payer_kind: PayerKind,
    rate_history: Sequence[DuesRates],
    discounts: Sequence[DuesDiscount],
    bands: Sequence[int] | None = None,
) -> DuesQuote:
    """Price ``months`` contribution months from ``first_month``, each at the rates and discounts
    in force for that month. Discounts never stack: the largest one that applies wins.

    Raises ``InvalidDuesRequest`` for a refused request and ``NoRatesInForce`` when a month has no
    rates.
    """
    if not _is_whole(months) or months not in PAYABLE_MONTHS:
        raise InvalidDuesRequest("months", f"{months!r} months")
    if not _is_whole(income_idr) or income_idr <= 0:
        raise InvalidDuesRequest("income", f"income {income_idr!r}")
    if bands is not None and income_idr not in bands:
        raise InvalidDuesRequest("income_band", f"income {income_idr} is not a band")
    if not _is_month(first_month):
        raise InvalidDuesRequest("first_month", f"{first_month!r} is not a first-of-month date")
    try:
        payer_kind = PayerKind(payer_kind)
    except ValueError:
        raise InvalidDuesRequest("payer_kind", f"payer kind {payer_kind!r}") from None

    lines = []
    for offset in range(months):
        month = _add_months(first_month, offset)
        rates = rates_for(month, rate_history)
        amounts = {
            Programme.JKK: _share(income_idr, rates.jkk_rate_bp),
            Programme.JKM: rates.jkm_flat_idr,
            Programme.JHT: _share(income_idr, rates.jht_rate_bp) if include_jht else 0,
        }
        discount, discount_name = 0, None
        for rule in discounts:
            if rule.applies_to(month, is_transport=is_transport, payer_kind=payer_kind):
                amount = _share(sum(amounts[p] for p in rule.programmes), rule.percent * 100)
                if amount > discount:
                    discount, discount_name = amount, rule.name
        lines.append(
            MonthLine(
                month=month,
                jkk=amounts[Programme.JKK],
                jkm=amounts[Programme.JKM],
                jht=amounts[Programme.JHT],
                discount=discount,
                total=sum(amounts.values()) - discount,
                discount_name=discount_name,
            )
        )
    return DuesQuote(lines=tuple(lines))


def due_date(month: date) -> date:
    """The 15th of the contribution month, moved to the Monday after when it is a weekend.

    BPJS also moves it past public holidays; those are not modelled, so the date can be early.
    """
    fifteenth = date(month.year, month.month, 15)
    if fifteenth.weekday() >= 5:  # Saturday or Sunday
        return fifteenth + timedelta(days=7 - fifteenth.weekday())
    return fifteenth


def _share(amount_idr: int, basis_points: int) -> int:
    # Bills are whole rupiah. Round half up, the rule a sponsor checks by hand, in integer
    # arithmetic: round() rounds half to even and floats drift on large amounts.
    return (amount_idr * basis_points + 5_000) // 10_000


def _add_months(month: date, count: int) -> date:
    years, month_index = divmod(month.month - 1 + count, 12)
    return date(month.year + years, month_index + 1, 1)
