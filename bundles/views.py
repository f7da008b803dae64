"""Catalog pages for sponsors and the partner's home (dashboard)."""

from datetime import date

from flask import Blueprint, abort, render_template, request

from accounts.access import public
from bundles import catalog as bundle_catalog
from bundles.dues.data import load_dues_tables
from bundles.dues.services import PAYABLE_MONTHS, PayerKind
from bundles.pricing import PricingError, default_first_month, quote_bundle

bp = Blueprint("bundles", __name__)


@bp.route("/paket")
@public
def catalog() -> str:
    return render_template("bundles/catalog.html", bundles=bundle_catalog.catalog_bundles())


def _month_arg(text: str | None, default: date) -> date:
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        chosen = date(year, month, 1)
    except ValueError:
        return default
    return chosen if date(2015, 7, 1) <= chosen <= date(default.year + 2, 12, 1) else default


@bp.route("/paket/<slug>")
@public
def bundle_detail(slug: str) -> str:
    bundle = bundle_catalog.bundle_for_sale(slug)
    if bundle is None:
        abort(404)
    months = request.args.get("bulan", 12, type=int)
    months = months if months in PAYABLE_MONTHS else 12
    first_month = _month_arg(request.args.get("mulai"), default_first_month())
    transport = request.args.get("pekerja") == "transport"
    payer = request.args.get("pembayar", PayerKind.PERSON)
    payer = PayerKind(payer) if payer in tuple(PayerKind) else PayerKind.PERSON
    tables = load_dues_tables()
    try:
        line = quote_bundle(
            bundle,
            months=months,
            first_month=first_month,
            payer_kind=payer,
            is_transport=transport,
            tables=tables,
        )
        durations = {
            n: quote_bundle(
                bundle,
                months=n,
                first_month=first_month,
                payer_kind=payer,
                is_transport=transport,
                tables=tables,
            ).total_idr
            for n in PAYABLE_MONTHS
        }
        error = None
    except PricingError as refused:
        line, durations, error = None, {}, refused.message
    return render_template(
        "bundles/detail.html",
        bundle=bundle,
        line=line,
        durations=durations,
        pricing_error=error,
        months=months,
        first_month=first_month,
        transport=transport,
        payer=payer,
        discounts=tables.discount_rules,
        month_choices=_month_choices(default_first_month()),
    )


def _month_choices(start: date) -> list[date]:
    return [
        date(start.year + (start.month - 1 + n) // 12, (start.month - 1 + n) % 12 + 1, 1)
        for n in range(12)
    ]
