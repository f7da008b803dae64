"""What one order line costs: a bundle for one worker, some months, from a first month.

``price_line`` is what checkout calls; ``quote_bundle`` is the same computation without a
worker (the public bundle page shows it for "a transport worker" or "any other worker").

Pricing rules:

* a dues part (``insurance_dues``) is priced by the dues engine month by month, at the offer's
  income band (the lowest band in force when the offer names none), with JHT when the offer
  includes it, the rates and the discount in force for each month;
* a monthly part costs unit price × quantity × months; a one-off part unit price × quantity;
* the bundle's platform fee is added once per line.

Every amount is whole rupiah; the snapshot is plain JSON (str, int, bool, list, dict).
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from bundles.dues.data import DuesTables, load_dues_tables
from bundles.dues.services import (
    PAYABLE_MONTHS,
    DuesQuote,
    InvalidDuesRequest,
    MonthLine,
    NoRatesInForce,
    PayerKind,
    due_date,
    quote_dues,
)
from bundles.models import Bundle, BundlePart, Offer, OfferKind, Operator
from core.dates import jakarta_today
from core.errors import DomainError
from core.identity import InvalidPhone, Occupation, is_telkomsel, is_transport
from extensions import utcnow

SNAPSHOT_VERSION = 1


class PricingError(DomainError):
    """A line that cannot be priced or sold; ``code`` is stable, ``message`` is for people.

    Codes: ``bundle_unavailable``, ``part_unavailable``, ``operator``, ``no_rates`` and the dues
    engine's ``months``, ``first_month``, ``payer_kind``, ``income``, ``income_band``.
    """

    def __init__(self, code: str, message: LazyString | str) -> None:
        # the lazy message renders in the caller's language
        super().__init__(message, code=code, summary=code)


@dataclass(frozen=True, slots=True)
class PartPrice:
    """The price of one bundle part in one line. ``units`` is how many units the partner
    delivers (quantity × months for a monthly part, quantity for a one-off part, 1 for dues)."""

    bundle_part_id: int
    offer_id: int
    offer_kind: OfferKind
    quantity: int
    units: int
    amount_idr: int
    snapshot: dict[str, Any]
    dues: DuesQuote | None = None


@dataclass(frozen=True, slots=True)
class MonthRow:
    """One contribution month of a line: its dues and the monthly parts' price."""

    month: date
    dues: MonthLine | None
    monthly_parts_idr: int

    @property
    def total_idr(self) -> int:
        return (self.dues.total if self.dues else 0) + self.monthly_parts_idr


@dataclass(frozen=True, slots=True)
class LinePrice:
    bundle_id: int
    months: int
    first_month: date
    payer_kind: PayerKind
    is_transport: bool
    parts: tuple[PartPrice, ...]
    platform_fee_idr: int
    priced_at: datetime

    @property
    def parts_total_idr(self) -> int:
        return sum(part.amount_idr for part in self.parts)

    @property
    def total_idr(self) -> int:
        return self.parts_total_idr + self.platform_fee_idr

    @property
    def dues_quote(self) -> DuesQuote | None:
        return next((part.dues for part in self.parts if part.dues is not None), None)

    @property
    def once_parts(self) -> tuple[PartPrice, ...]:
        return tuple(p for p in self.parts if p.snapshot.get("pricing") == "once")

    def month_rows(self) -> list[MonthRow]:
        """The line month by month (one-off parts and the platform fee come on top)."""
        monthly = sum(
            part.amount_idr // self.months
            for part in self.parts
            if part.snapshot.get("pricing") == "monthly"
        )
        dues = self.dues_quote
        months = [line.month for line in dues.lines] if dues else _months_from(self)
        lines = list(dues.lines) if dues else [None] * len(months)
        return [
            MonthRow(month=month, dues=line, monthly_parts_idr=monthly)
            for month, line in zip(months, lines, strict=True)
        ]

    @property
    def snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "bundle_id": self.bundle_id,
            "months": self.months,
            "first_month": self.first_month.isoformat(),
            "payer_kind": str(self.payer_kind),
            "is_transport": self.is_transport,
            "parts": [part.snapshot for part in self.parts],
            "parts_total_idr": self.parts_total_idr,
            "platform_fee_idr": self.platform_fee_idr,
            "total_idr": self.total_idr,
            "priced_at": self.priced_at.isoformat(),
        }


def _months_from(line: "LinePrice") -> list[date]:
    first = line.first_month
    return [
        date(first.year + (first.month - 1 + n) // 12, (first.month - 1 + n) % 12 + 1, 1)
        for n in range(line.months)
    ]


def worker_is_transport(occupation: str) -> bool:
    try:
        return is_transport(Occupation(occupation))
    except ValueError:
        return False


def offer_available_for_phone(offer: Offer, phone_e164: str) -> bool:
    """Whether the worker with this number can use the offer (Telkomsel-only quota checks the
    number's prefix; numbers move between operators, so this is a best guess)."""
    if offer.operator is None:
        return True
    if offer.operator == Operator.TELKOMSEL:
        try:
            return is_telkomsel(phone_e164)
        except InvalidPhone:
            return False
    return False


def bundle_available_for_phone(bundle: Bundle, phone_e164: str) -> bool:
    return all(offer_available_for_phone(part.offer, phone_e164) for part in bundle.parts)


def default_first_month(today: date | None = None) -> date:
    """The first contribution month a purchase today can still pay on time: this month until
    its due date (the 15th, or the Monday after), else next month."""
    today = today or jakarta_today()
    this_month = today.replace(day=1)
    if today <= due_date(this_month):
        return this_month
    return date(today.year + today.month // 12, today.month % 12 + 1, 1)


def price_line(
    bundle: Bundle, *, worker: Any, months: int, first_month: date, payer_kind: PayerKind | str
) -> LinePrice:
    """Price ``bundle`` for ``worker`` (a ``workers.models.Worker``) for ``months``
    contribution months from ``first_month`` paid by a ``payer_kind`` payer.

    Raises ``PricingError`` when the bundle is not for sale, a part does not suit the worker's
    number (e.g. Telkomsel-only quota), or the dues engine refuses the request.
    """
    for part in bundle.parts:
        if not offer_available_for_phone(part.offer, worker.phone_e164):
            raise PricingError(
                "operator",
                _l(
                    "%(offer)s works only on Telkomsel numbers, and this worker's number is "
                    "not Telkomsel.",
                    offer=part.offer.name_en,
                ),
            )
    return quote_bundle(
        bundle,
        months=months,
        first_month=first_month,
        payer_kind=payer_kind,
        is_transport=worker_is_transport(worker.occupation),
    )


def quote_bundle(
    bundle: Bundle,
    *,
    months: int,
    first_month: date,
    payer_kind: PayerKind | str,
    is_transport: bool,
    tables: DuesTables | None = None,
    require_available: bool = True,
) -> LinePrice:
    if require_available:
        _require_for_sale(bundle)
    if months not in PAYABLE_MONTHS or isinstance(months, bool):
        raise PricingError("months", _l("Dues can be paid for 1, 3, 6 or 12 months."))
    try:
        payer = PayerKind(str(payer_kind))
    except ValueError:
        raise PricingError("payer_kind", _l("Choose who pays the dues.")) from None
    parts = []
    for part in bundle.parts:
        if part.offer.is_dues:
            tables = tables or load_dues_tables()
            parts.append(_dues_part(part, months, first_month, payer, is_transport, tables))
        else:
            parts.append(_unit_part(part, months))
    return LinePrice(
        bundle_id=bundle.id,
        months=months,
        first_month=first_month,
        payer_kind=payer,
        is_transport=is_transport,
        parts=tuple(parts),
        platform_fee_idr=bundle.platform_fee_idr,
        priced_at=utcnow(),
    )


def _require_for_sale(bundle: Bundle) -> None:
    if not bundle.is_published or not bundle.parts:
        raise PricingError("bundle_unavailable", _l("This bundle is not for sale at the moment."))
    for part in bundle.parts:
        if not part.offer.is_listed:
            raise PricingError(
                "part_unavailable",
                _l("A part of this bundle is not available at the moment."),
            )


def _offer_snapshot(part: BundlePart) -> dict[str, Any]:
    offer = part.offer
    return {
        "bundle_part_id": part.id,
        "offer_id": offer.id,
        "partner_id": offer.partner_id,
        "kind": str(offer.kind),
        "name_id": offer.name_id,
        "name_en": offer.name_en,
    }


def _dues_part(
    part: BundlePart,
    months: int,
    first_month: date,
    payer_kind: PayerKind,
    is_transport: bool,
    tables: DuesTables,
) -> PartPrice:
    offer = part.offer
    bands = tables.bands_for(first_month) if isinstance(first_month, date) else ()
    if isinstance(first_month, date) and first_month.day == 1 and not bands:
        raise PricingError(
            "no_rates",
            _l("Dues rates for %(month)s are not set yet.", month=f"{first_month:%m/%Y}"),
        )
    income = offer.income_idr or (bands[0] if bands else 0)
    try:
        quote = quote_dues(
            income_idr=income,
            first_month=first_month,
            months=months,
            include_jht=offer.include_jht,
            is_transport=is_transport,
            payer_kind=payer_kind,
            rate_history=tables.rate_history,
            discounts=tables.discounts,
            bands=bands,
        )
    except InvalidDuesRequest as refused:
        raise PricingError(refused.code, refused.message) from None
    except NoRatesInForce as missing:
        raise PricingError(
            "no_rates",
            _l("Dues rates for %(month)s are not set yet.", month=f"{missing.month:%m/%Y}"),
        ) from None
    month_lines = []
    for line in quote.lines:
        rule = (
            tables.discount_rule_for(line.discount_name, line.month) if line.discount_name else None
        )
        month_lines.append(
            {
                "month": line.month.isoformat(),
                "jkk": line.jkk,
                "jkm": line.jkm,
                "jht": line.jht,
                "discount": line.discount,
                "total": line.total,
                "discount_name": line.discount_name,
                "discount_id": rule.id if rule else None,
                "rate_version_id": tables.rate_version_for(line.month).id,
            }
        )
    snapshot = _offer_snapshot(part) | {
        "pricing": "dues",
        "income_idr": income,
        "include_jht": offer.include_jht,
        "is_transport": is_transport,
        "payer_kind": str(payer_kind),
        "months": month_lines,
        "rate_version_ids": sorted({m["rate_version_id"] for m in month_lines}),
        "discount_names": sorted({m["discount_name"] for m in month_lines if m["discount_name"]}),
        "quantity": 1,
        "units": 1,
        "amount_idr": quote.total_idr,
    }
    return PartPrice(
        bundle_part_id=part.id,
        offer_id=offer.id,
        offer_kind=OfferKind(offer.kind),
        quantity=1,
        units=1,
        amount_idr=quote.total_idr,
        snapshot=snapshot,
        dues=quote,
    )


def _unit_part(part: BundlePart, months: int) -> PartPrice:
    offer = part.offer
    units = part.quantity * months if offer.is_monthly else part.quantity
    amount = offer.unit_price_idr * units
    snapshot = _offer_snapshot(part) | {
        "pricing": "monthly" if offer.is_monthly else "once",
        "unit_price_idr": offer.unit_price_idr,
        "quantity": part.quantity,
        "months": months,
        "units": units,
        "amount_idr": amount,
        "terms": offer_terms(offer),
    }
    return PartPrice(
        bundle_part_id=part.id,
        offer_id=offer.id,
        offer_kind=OfferKind(offer.kind),
        quantity=part.quantity,
        units=units,
        amount_idr=amount,
        snapshot=snapshot,
    )


def offer_terms(offer: Offer) -> dict[str, Any]:
    """The terms that decide what the worker gets, as plain JSON."""
    terms: dict[str, Any] = {"billing": str(offer.billing)}
    if offer.is_dues:
        return {"income_idr": offer.income_idr, "include_jht": offer.include_jht}
    for name in ("premium_days", "quota_mb", "validity_days"):
        value = getattr(offer, name)
        if value is not None:
            terms[name] = value
    if offer.operator:
        terms["operator"] = str(offer.operator)
    return terms
