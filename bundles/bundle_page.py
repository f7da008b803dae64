"""The public bundle page (``/paket/<slug>``): the bundle priced for the visitor's choices,
and what it costs for every other payable duration.

Measured (issue 16, ``bench/page_profile.py``): the page priced the bundle five times (the
chosen duration, then all four again) and loaded the dues tables with three ``count(*)`` first.
Here the dues tables are read once (``load_dues_tables`` seeds only an empty database) and the
bundle is priced once per payable duration, the chosen one among them. Nothing is cached across
requests: an admin's new rates show on the next page view.

Rendering the page (its own part, not the layout) is kept per process, keyed by the visitor's
choices, the language, the default first month (today's) and the catalogue's stamp
(``bundles.catalog_stamp``): any edit to a bundle, an offer, a partner or the dues tables
changes the stamp in the edit's own transaction, and the next view in every process renders
again. Nothing of a visitor is in it. A page from the cache costs one statement (the stamp).
"""

from dataclasses import dataclass, field
from datetime import date

from flask import render_template, request
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from bundles.catalog import bundle_for_sale, catalog_bundles
from bundles.catalog_stamp import StampedCache, catalog_stamp
from bundles.dues.data import load_dues_tables
from bundles.dues.models import DuesDiscountRule
from bundles.dues.services import PAYABLE_MONTHS, PayerKind
from bundles.models import Bundle
from bundles.pricing import LinePrice, PricingError, default_first_month, quote_bundle
from i18n import current_locale_name

DEFAULT_MONTHS = 12
# Choices a query string can make: 4 durations × 12 months × 2 kinds of work × 3 payers, per
# bundle and language; a rendering is 10–15 KB.
_rendered = StampedCache(size=512)


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


@dataclass(frozen=True)
class Choices:
    """What the query string chose, made valid (anything else falls back to the default)."""

    months: int
    first_month: date
    transport: bool
    payer: PayerKind
    default_month: date


def page_choices(args: MultiDict[str, str]) -> Choices:
    months = args.get("bulan", DEFAULT_MONTHS, type=int)
    default_month = default_first_month()
    payer_arg = args.get("pembayar", PayerKind.PERSON)
    return Choices(
        months=months if months in PAYABLE_MONTHS else DEFAULT_MONTHS,
        first_month=_month_arg(args.get("mulai"), default_month),
        transport=args.get("pekerja") == "transport",
        payer=PayerKind(payer_arg) if payer_arg in tuple(PayerKind) else PayerKind.PERSON,
        default_month=default_month,
    )


@dataclass(frozen=True)
class RenderedPage:
    title: str
    content: Markup


def bundle_page_content(slug: str, args: MultiDict[str, str]) -> RenderedPage | None:
    """The bundle page's own part for ``slug`` and the query string, rendered; None when the
    bundle is not for sale. Kept per catalogue stamp (see the module's docstring)."""
    choices = page_choices(args)
    key = ("bundle", slug, choices, current_locale_name(), request.script_root)
    return _rendered.get_or_make(catalog_stamp, key, lambda: _render_bundle(slug, choices))


def catalog_content() -> Markup:
    """The catalogue's own part (``/paket``), rendered; kept per catalogue stamp."""
    key = ("catalog", current_locale_name(), request.script_root)
    return _rendered.get_or_make(catalog_stamp, key, _render_catalog)


def _render_bundle(slug: str, choices: Choices) -> RenderedPage | None:
    page = bundle_page(slug, choices)
    if page is None:
        return None
    html = render_template("bundles/_detail_content.html", page=page)
    content = Markup(html)  # noqa: S704 (Jinja's output, autoescaped)
    return RenderedPage(title=page.bundle.name, content=content)


def _render_catalog() -> Markup:
    bundles = catalog_bundles()
    html = render_template("bundles/_catalog_content.html", bundles=bundles)
    return Markup(html)  # noqa: S704 (Jinja's output, autoescaped)


def bundle_page(slug: str, choices: Choices) -> BundlePage | None:
    """The page for ``slug`` and the visitor's choices; None when not for sale."""
    bundle = bundle_for_sale(slug)
    if bundle is None:
        return None
    months, first_month = choices.months, choices.first_month
    transport, payer = choices.transport, choices.payer
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
        month_choices=_month_choices(choices.default_month),
    )
