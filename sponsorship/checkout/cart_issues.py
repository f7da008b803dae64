"""What can stand between a cart and an order, each with what the sponsor can do about it:
a part that only works on Telkomsel numbers, a code pool running short, a worker who was
also put in another unpaid order."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask import has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import func, select

from accounts.models import User
from bundles.catalog import catalog_bundles
from bundles.codes.pools import stock_for
from bundles.models import Bundle, FulfillmentMethod, Offer
from bundles.pricing import LinePrice
from extensions import db
from sponsorship.checkout.models import Cart, CartLine, Order, OrderLine, OrderStatus


class IssueKind(StrEnum):
    UNAVAILABLE_WORKERS = "unavailable_workers"
    BUNDLE_UNAVAILABLE = "bundle_unavailable"
    OPERATOR = "operator"
    STOCK = "stock"
    PRICING = "pricing"
    TOO_LARGE = "too_large"
    IN_UNPAID_ORDER = "in_unpaid_order"  # a warning: it does not stop the order


@dataclass(frozen=True)
class CartIssue:
    """Something the sponsor must settle before ordering (or, for warnings, should know)."""

    kind: IssueKind
    message: LazyString
    line_ids: tuple[int, ...] = ()
    bundle_id: int | None = None
    offer_id: int | None = None
    alternatives: tuple[Bundle, ...] = ()  # bundles that could replace the flagged one
    reference: str | None = None  # the other order, for IN_UNPAID_ORDER


def _locale() -> str:
    return str(get_locale() or "id") if has_request_context() else "id"


def offer_name(offer: Offer) -> str:
    """The offer's name in the sponsor's language."""
    return offer.name_in(_locale())


def operator_issues(
    bundles: Mapping[int, Bundle], flagged: Mapping[tuple[int, int], list[int]]
) -> list[CartIssue]:
    """One issue per (bundle, Telkomsel-only offer) with the lines whose number is on another
    network; the alternatives are bundles for sale without any operator-bound part."""
    if not flagged:
        return []
    replacements = tuple(
        bundle
        for bundle in catalog_bundles()
        if all(part.offer.operator is None for part in bundle.parts)
    )
    issues = []
    for (bundle_id, offer_id), line_ids in flagged.items():
        bundle = bundles[bundle_id]
        offer = next(part.offer for part in bundle.parts if part.offer_id == offer_id)
        issues.append(
            CartIssue(
                kind=IssueKind.OPERATOR,
                message=_l(
                    "%(offer)s in %(bundle)s works only on Telkomsel numbers, and %(count)s "
                    "worker(s) use another network. Leave that part out for them, or give them "
                    "another bundle.",
                    offer=offer.name_in(_locale()),
                    bundle=bundle.name,
                    count=len(line_ids),
                ),
                line_ids=tuple(line_ids),
                bundle_id=bundle_id,
                offer_id=offer_id,
                alternatives=tuple(b for b in replacements if b.id != bundle_id),
            )
        )
    return issues


def stock_issues(bundles: Mapping[int, Bundle], prices: Mapping[int, LinePrice]) -> list[CartIssue]:
    """One issue per code-pool offer whose available codes are fewer than the cart needs."""
    pooled: dict[int, Offer] = {
        part.offer_id: part.offer
        for bundle in bundles.values()
        for part in bundle.parts
        if part.offer.fulfillment_method == FulfillmentMethod.CODE_POOL
    }
    if not pooled:
        return []
    needed: dict[int, int] = defaultdict(int)
    users: dict[int, list[int]] = defaultdict(list)
    for line_id, price in prices.items():
        for part in price.parts:
            if part.offer_id in pooled:
                needed[part.offer_id] += part.units
                users[part.offer_id].append(line_id)
    stock = stock_for(needed.keys())
    issues = []
    for offer_id, count in needed.items():
        available = stock[offer_id].available
        if count > available:
            issues.append(
                CartIssue(
                    kind=IssueKind.STOCK,
                    message=_l(
                        "Only %(available)s of %(offer)s are left, and your cart needs "
                        "%(needed)s. Leave that part out, or cover fewer workers or months.",
                        available=available,
                        offer=pooled[offer_id].name_in(_locale()),
                        needed=count,
                    ),
                    line_ids=tuple(users[offer_id]),
                    offer_id=offer_id,
                )
            )
    return issues


def unpaid_order_warnings(cart: Cart, sponsor: User, now: datetime) -> Iterable[CartIssue]:
    """Workers of the cart who are also in one of the sponsor's unpaid, unexpired orders."""
    rows = db.session.execute(
        select(Order.reference, func.count(func.distinct(OrderLine.worker_id)))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            Order.sponsor_id == sponsor.id,
            Order.status == OrderStatus.AWAITING_PAYMENT,
            Order.expires_at > now,
            OrderLine.worker_id.in_(select(CartLine.worker_id).where(CartLine.cart_id == cart.id)),
        )
        .group_by(Order.reference)
        .order_by(Order.reference)
    )
    for reference, count in rows:
        yield CartIssue(
            kind=IssueKind.IN_UNPAID_ORDER,
            message=_l(
                "%(count)s worker(s) in your cart are also in your unpaid order %(reference)s. "
                "Paying both would pay for them twice: cancel that order if it is not needed.",
                count=count,
                reference=reference,
            ),
            reference=reference,
        )
