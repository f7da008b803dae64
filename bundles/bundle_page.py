"""The public bundle page (``/paket/<slug>``): the bundle priced for the visitor's choices,
and what it costs for every other payable duration.

Measured (issue 16, ``bench/page_profile.py``): the page priced the bundle five times (the
chosen duration, then all four again) and loaded the dues tables with three ``count(*)`` first.
Here the dues tables are read once (``load_dues_tables`` seeds only an empty database) and the
bundle is priced once per payable duration, the chosen one among them. Nothing is cached across
requests: an admin's new rates show on the next page view.
"""

from dataclasses import dataclass, field
from datetime import date

from werkzeug.datastructures import MultiDict

from bundles.catalog import bundle_for_sale
from bundles.dues.data import load_dues_tables
from bundles.dues.models import DuesDiscountRule
from bundles.dues.services import PAYABLE_MONTHS, PayerKind
from bundles.models import Bundle
from bundles.pricing import LinePrice, PricingError, default_first_month, quote_bundle

DEFAULT_MONTHS = 12


@dataclass(frozen=True)
class BundlePage:
    bundle: Bundle
    months: int
    first_month: date
    transport: bool
    payer: PayerKind
    line: LinePrice | None
    durations: dict[int, int]  # payable months → total, in rupiah
    pricing_error: object | None
    discounts: tuple[DuesDiscountRule, ...]
    month_choices: list[date] = field(default_factory=list)


def _month_arg(text: str | None, default: date) -> date:
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        chosen = date(year, month, 1)
    except ValueError:
        return default
    return chosen if date(2015, 7, 1) <= chosen <= date(default.year + 2, 12, 1) else default


def _month_choices(start: date) -> list[date]:
    return [
        date(start.year + (start.month - 1 + n) // 12, (start.month - 1 + n) % 12 + 1, 1)
        for n in range(12)
    ]


def bundle_page(slug: str, args: MultiDict[str, str]) -> BundlePage | None:
    """The page for ``slug`` and the query string's choices; None when not for sale."""
    bundle = bundle_for_sale(slug)
    if bundle is None:
        return None
    months = args.get("bulan", DEFAULT_MONTHS, type=int)
    months = months if months in PAYABLE_MONTHS else DEFAULT_MONTHS
    default_month = default_first_month()
    first_month = _month_arg(args.get("mulai"), default_month)
    transport = args.get("pekerja") == "transport"
    payer_arg = args.get("pembayar", PayerKind.PERSON)
    payer = PayerKind(payer_arg) if payer_arg in tuple(PayerKind) else PayerKind.PERSON
    tables = load_dues_tables()
    try:
        quotes = {
            n: quote_bundle(
                bundle,
                months=n,
                first_month=first_month,
                payer_kind=payer,
                is_transport=transport,
                tables=tables,
            )
            for n in PAYABLE_MONTHS
        }
    except PricingError as refused:
        line, durations, error = None, {}, refused.message
    else:
        line, durations, error = quotes[months], {n: q.total_idr for n, q in quotes.items()}, None
    return BundlePage(
        bundle=bundle,
        months=months,
        first_month=first_month,
        transport=transport,
        payer=payer,
        line=line,
        durations=durations,
        pricing_error=error,
        discounts=tables.discount_rules,
        month_choices=_month_choices(default_month),
    )
