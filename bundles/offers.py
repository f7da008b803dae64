"""Offers: what a partner lists, its terms by kind, and how it is delivered.

``create_offer`` and ``update_offer`` take plain values (from the HTML form or the JSON API),
check every rule at once and raise ``OfferInvalid`` with the problems per field, so nothing is
saved unless everything is right.
"""

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from bundles.dues.data import load_dues_tables
from bundles.models import (
    FulfillmentMethod,
    Offer,
    OfferBilling,
    OfferKind,
    Operator,
    Partner,
    PartnerKind,
)
from bundles.pricing import default_first_month
from extensions import db
from vault import encrypt

MAX_UNIT_PRICE_IDR = 100_000_000
EDITABLE_FIELDS = (
    "name_id",
    "name_en",
    "description_id",
    "description_en",
    "unit_price_idr",
    "billing",
    "fulfillment_method",
    "income_idr",
    "include_jht",
    "premium_days",
    "quota_mb",
    "validity_days",
    "operator",
    "terms_id",
    "terms_en",
    "api_endpoint_url",
    "low_stock_threshold",
    "is_active",
)
# Terms that belong to one kind only; other kinds store None.
KIND_TERMS = {
    OfferKind.INSURANCE_DUES: {"income_idr"},
    OfferKind.HEALTH_APP: {"premium_days"},
    OfferKind.DATA_QUOTA: {"quota_mb", "validity_days", "operator"},
    OfferKind.OTHER: {"operator"},
}


# What a partner most likely lists, by the kind of partner it is: the new-offer form starts there
# (a health app is not offered BPJS dues first).
_OFFER_KIND_FOR_PARTNER = {
    PartnerKind.INSURER: OfferKind.INSURANCE_DUES,
    PartnerKind.HEALTH_APP: OfferKind.HEALTH_APP,
    PartnerKind.TELCO: OfferKind.DATA_QUOTA,
}


def default_offer_choices(partner_kind: str) -> tuple[OfferKind, FulfillmentMethod]:
    """The kind of offer and the delivery the new-offer form starts with for ``partner_kind``."""
    kind = _OFFER_KIND_FOR_PARTNER.get(PartnerKind(partner_kind), OfferKind.OTHER)
    if kind == OfferKind.INSURANCE_DUES:
        return kind, FulfillmentMethod.DUES_REMITTANCE
    return kind, FulfillmentMethod.CODE_POOL


class OfferInvalid(Exception):
    """``errors`` maps a field name (or ``""`` for the whole offer) to messages."""

    def __init__(self, errors: dict[str, list[LazyString]]) -> None:
        super().__init__(", ".join(errors) or "offer")
        self.errors = errors


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[LazyString]] = {}

    def add(self, field: str, message: LazyString) -> None:
        self.by_field.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise OfferInvalid(self.by_field)


def _int_between(values: dict, errors: _Errors, name: str, low: int, high: int) -> None:
    value = values.get(name)
    if value is None:
        errors.add(name, _l("This field is required."))
    elif not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors.add(
            name,
            _l("Enter a whole number from %(low)s to %(high)s.", low=f"{low:,}", high=f"{high:,}"),
        )


def endpoint_problem(url: str) -> LazyString | None:
    """Why Payung must not call ``url``, or None. Production calls only HTTPS endpoints on public
    addresses (no SSRF into our own network); development allows the sandbox on 127.0.0.1."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        return _l("Enter a full web address, e.g. https://api.example.co.id/payung.")
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        return _l("Enter a full web address, e.g. https://api.example.co.id/payung.")
    if current_app.config["PARTNER_API_ALLOW_INSECURE"]:
        return None
    if parts.scheme != "https":
        return _l("The endpoint must use HTTPS.")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith((".local", ".internal", ".localhost")):
            return _l("The endpoint must be reachable on the internet.")
        return None
    if not address.is_global:
        return _l("The endpoint must be reachable on the internet.")
    return None


def _validate(partner: Partner, values: dict[str, Any], *, has_secret: bool) -> None:
    errors = _Errors()
    if not partner.is_approved:
        errors.add("", _l("Your partner account must be approved before you list offers."))
        errors.raise_if_any()
    kind = values["kind"]
    for name in ("name_id", "name_en"):
        text = (values.get(name) or "").strip()
        if not 2 <= len(text) <= 120:
            errors.add(name, _l("Enter a name of 2 to 120 characters."))
    for name in ("description_id", "description_en", "terms_id", "terms_en"):
        if len(values.get(name) or "") > 2000:
            errors.add(name, _l("Keep this under 2,000 characters."))
    method = values.get("fulfillment_method")
    if kind == OfferKind.INSURANCE_DUES:
        if partner.kind != PartnerKind.INSURER:
            errors.add("kind", _l("Only insurer partners can list dues."))
        if method != FulfillmentMethod.DUES_REMITTANCE:
            errors.add("fulfillment_method", _l("Dues are delivered by remittance to the insurer."))
        _int_between(values, errors, "income_idr", 1, 1_000_000_000)
        income = values.get("income_idr")
        if isinstance(income, int) and "income_idr" not in errors.by_field:
            bands = load_dues_tables().bands_for(default_first_month())
            if income not in bands:
                errors.add("income_idr", _l("Choose one of the listed income bands."))
    else:
        if method not in (FulfillmentMethod.CODE_POOL, FulfillmentMethod.PARTNER_API):
            errors.add(
                "fulfillment_method",
                _l("Choose a code pool or your API: remittance is only for dues."),
            )
        _int_between(values, errors, "unit_price_idr", 0, MAX_UNIT_PRICE_IDR)
        if values.get("billing") not in tuple(OfferBilling):
            errors.add("billing", _l("Choose whether the price is per month or once."))
    if kind == OfferKind.HEALTH_APP:
        _int_between(values, errors, "premium_days", 1, 1095)
    if kind == OfferKind.DATA_QUOTA:
        _int_between(values, errors, "quota_mb", 1, 1_000_000)
        _int_between(values, errors, "validity_days", 1, 365)
    if kind == OfferKind.OTHER and not (values.get("terms_id") or values.get("terms_en")):
        errors.add("terms_id", _l("Describe what the worker gets."))
    if values.get("operator") not in (None, *Operator):
        errors.add("operator", _l("Choose an operator from the list."))
    if method == FulfillmentMethod.PARTNER_API:
        url = (values.get("api_endpoint_url") or "").strip()
        problem = endpoint_problem(url) if url else _l("Enter your API's address.")
        if problem:
            errors.add("api_endpoint_url", problem)
        secret = values.get("api_secret")
        if secret is None and not has_secret:
            errors.add("api_secret", _l("Enter the signing secret you share with Payung."))
    secret = values.get("api_secret")
    if secret is not None and not 16 <= len(secret) <= 200:
        errors.add("api_secret", _l("A signing secret has 16 to 200 characters."))
    _int_between(values, errors, "low_stock_threshold", 0, 1_000_000)
    errors.raise_if_any()


def _normalised(values: dict[str, Any]) -> dict[str, Any]:
    kind = OfferKind(values["kind"])
    for text in ("name_id", "name_en", "description_id", "description_en", "terms_id", "terms_en"):
        values[text] = (values.get(text) or "").strip()
    if kind == OfferKind.INSURANCE_DUES:
        values["billing"] = OfferBilling.MONTHLY
        values["unit_price_idr"] = 0
    for kind_name, names in KIND_TERMS.items():
        if kind_name != kind:
            for name in names - KIND_TERMS[kind]:
                values[name] = None
    if kind != OfferKind.INSURANCE_DUES:
        values["include_jht"] = False
    if values.get("fulfillment_method") != FulfillmentMethod.PARTNER_API:
        values["api_endpoint_url"] = None
    elif values.get("api_endpoint_url"):
        values["api_endpoint_url"] = values["api_endpoint_url"].strip()
    return values


def _defaults(kind: OfferKind) -> dict[str, Any]:
    return {
        "kind": kind,
        "description_id": "",
        "description_en": "",
        "terms_id": "",
        "terms_en": "",
        "unit_price_idr": 0 if kind == OfferKind.INSURANCE_DUES else None,
        "billing": OfferBilling.MONTHLY if kind == OfferKind.INSURANCE_DUES else None,
        "include_jht": False,
        "operator": None,
        "low_stock_threshold": 100,
        "is_active": True,
        "fulfillment_method": (
            FulfillmentMethod.DUES_REMITTANCE if kind == OfferKind.INSURANCE_DUES else None
        ),
    }


def offer_values(offer: Offer) -> dict[str, Any]:
    values = {name: getattr(offer, name) for name in EDITABLE_FIELDS}
    values["kind"] = OfferKind(offer.kind)
    return values


def create_offer(partner: Partner, values: dict[str, Any]) -> Offer:
    """``values`` holds ``kind`` and the editable fields; ``api_secret`` (plain) is optional."""
    try:
        kind = OfferKind(values.get("kind"))
    except ValueError:
        raise OfferInvalid({"kind": [_l("Choose a kind of offer.")]}) from None
    merged = _defaults(kind) | {k: v for k, v in values.items() if v is not None or k == "operator"}
    _validate(partner, merged, has_secret=False)
    merged = _normalised(merged)
    offer = Offer(partner_id=partner.id)
    _store(offer, merged)
    db.session.add(offer)
    db.session.flush()
    return offer


def update_offer(offer: Offer, changes: dict[str, Any]) -> Offer:
    """Apply ``changes`` (a subset of the editable fields, ``api_secret`` to replace the
    secret). The kind of an offer never changes: sponsors bought it as that kind."""
    if "kind" in changes and OfferKind(changes["kind"]) != offer.kind:
        raise OfferInvalid({"kind": [_l("The kind of an offer cannot change.")]})
    merged = offer_values(offer) | {k: v for k, v in changes.items() if k != "kind"}
    _validate(offer.partner, merged, has_secret=offer.api_secret_encrypted is not None)
    _store(offer, _normalised(merged))
    db.session.flush()
    return offer


def _store(offer: Offer, values: dict[str, Any]) -> None:
    offer.kind = values["kind"]
    for name in EDITABLE_FIELDS:
        if name in values:
            setattr(offer, name, values[name])
    secret = values.get("api_secret")
    if secret:
        offer.api_secret_encrypted = encrypt(secret)
        offer.api_check_ok = None
        offer.api_checked_at = None
    if offer.fulfillment_method != FulfillmentMethod.PARTNER_API:
        offer.api_secret_encrypted = None
        offer.api_check_ok = None
        offer.api_checked_at = None


def own_offer(partner: Partner, offer_id: int) -> Offer | None:
    """The partner's own offer; another partner's reads as none (a 404, never a 403)."""
    offer = db.session.get(Offer, offer_id)
    if offer is None or offer.partner_id != partner.id:
        return None
    return offer
