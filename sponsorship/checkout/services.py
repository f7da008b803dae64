"""Checkout: the cart page and the sponsor's answers to its issues, a checked cart becoming
an order, and an order becoming paid exactly once.

An order for thousands of workers is written with a few bulk INSERTs. Marking it paid is one
guarded UPDATE (``claim_order_transition``), after a row lock on PostgreSQL, in the same
transaction that hands the order to fulfillment: however many webhooks and return pages arrive,
in whatever order, one of them wins and fulfillment starts once.
"""

import logging
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import delete, insert, select, true

from accounts.models import User
from bundles.codes.reservations import extend_reserved_codes, reserve_codes
from bundles.dues.services import due_date
from bundles.models import BundlePart, FulfillmentMethod
from core.dates import JAKARTA, jakarta_today
from core.errors import DomainError
from extensions import db, utcnow
from sponsorship.checkout.cart import (
    CHUNK,
    CartError,
    CartGroup,
    cart_for,
    cart_groups,
    cart_page,
    coverable_worker_ids,
    drop_part,
    existing_cart,
    remove_lines,
    replace_bundle,
)
from sponsorship.checkout.cart_check import CartCheck, check_cart
from sponsorship.checkout.cart_issues import IssueKind, offer_name
from sponsorship.checkout.models import (
    Cart,
    CartLine,
    Order,
    OrderLine,
    OrderLinePart,
    OrderStatus,
)

log = logging.getLogger(__name__)

DEFAULT_ORDER_HOLD_HOURS = 72
# A pay page opened just before the order expires may still pay for this long
# (``payments.CONFIRM_GRACE``); the order's pool codes stay held until then.
PAYMENT_GRACE = timedelta(hours=1)
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


class CheckoutError(DomainError):
    pass


class CartNotReady(CheckoutError):
    """The cart has issues to settle first; ``check`` lists them."""

    def __init__(self, check: CartCheck) -> None:
        super().__init__(_l("Please settle the points below before ordering."))
        self.check = check


def new_reference() -> str:
    return "PY-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def order_expiry(first_months: list[date], now: datetime) -> datetime:
    """Prices hold until the end of the due date of the earliest month bought (a later
    purchase could no longer pay that month on time), and at most ORDER_HOLD_HOURS."""
    hold = timedelta(
        hours=current_app.config.get("CHECKOUT_ORDER_HOLD_HOURS", DEFAULT_ORDER_HOLD_HOURS)
    )
    return min(now + hold, latest_payment(first_months))


def latest_payment(first_months: list[date]) -> datetime:
    """The end of the due day of the earliest month bought: no order can be paid later."""
    return datetime.combine(due_date(min(first_months)), time.max, tzinfo=JAKARTA)


def extend_hold(order: Order, until: datetime) -> None:
    """An unpaid order holds its prices and its pool codes until ``until`` (it was invoiced),
    never past its earliest month's due day; the caller holds the order's row lock."""
    first_months = list(
        db.session.scalars(select(OrderLine.first_month).where(OrderLine.order_id == order.id))
    )
    until = min(until, latest_payment(first_months))
    if order.expires_at is None or until <= order.expires_at:
        return
    order.expires_at = until
    extend_reserved_codes(order.id, until + PAYMENT_GRACE)


def place_order(sponsor: User, *, today: date | None = None, now: datetime | None = None) -> Order:
    """Turn the sponsor's cart into an order awaiting payment and empty the cart.

    Every code-pool part is reserved with the order (see ``bundles.codes.reservations``), so
    what cannot be delivered is never sold: of many sponsors ordering the last codes at once,
    those who come too late are refused here, before any payment.

    Raises CheckoutError for an empty cart (or one emptied meanwhile by another tab) or a
    code pool that ran out meanwhile, and CartNotReady when lines need the sponsor's decision
    first. When it raises, the caller rolls back (the cart may be emptied already).
    """
    now = now or utcnow()
    cart = existing_cart(sponsor)
    if cart is None:
        raise CheckoutError(_l("Your cart is empty."))
    check = check_cart(cart, sponsor=sponsor, today=today or jakarta_today(), now=now)
    if not check.plans:
        raise CheckoutError(_l("Your cart is empty."))
    if not check.is_ready:
        raise CartNotReady(check)
    # Taking the lines out first makes two tabs ordering the same cart at once harmless:
    # the second deletes nothing and gives up.
    taken = db.session.execute(delete(CartLine).where(CartLine.cart_id == cart.id)).rowcount
    if taken != len(check.plans):
        raise CheckoutError(_l("Your cart changed while you were ordering. Please check it again."))
    order = Order(
        reference=new_reference(),
        sponsor_id=sponsor.id,
        payer_kind=check.payer_kind,
        status=OrderStatus.AWAITING_PAYMENT,
        total_idr=check.total_idr,
        worker_count=check.worker_count,
        expires_at=order_expiry([plan.first_month for plan in check.plans], now),
        created_at=now,
    )
    db.session.add(order)
    db.session.flush()
    _reserve_pool_codes(order, check)
    _insert_lines(order, check)
    return order


def _reserve_pool_codes(order: Order, check: CartCheck) -> None:
    """Hold the codes every code-pool part of the order needs until the order can no longer
    be paid; raise CheckoutError when a pool has fewer left (another order took them)."""
    pooled = {
        part.offer_id: part.offer
        for bundle in check.bundles.values()
        for part in bundle.parts
        if part.offer.fulfillment_method == FulfillmentMethod.CODE_POOL
    }
    needed: dict[int, int] = defaultdict(int)
    for price in check.prices.values():
        for part in price.parts:
            if part.offer_id in pooled:
                needed[part.offer_id] += part.units
    assert order.expires_at is not None
    for offer_id, count in sorted(needed.items()):
        held = reserve_codes(
            offer_id, count, order_id=order.id, until=order.expires_at + PAYMENT_GRACE
        )
        if held < count:
            raise CheckoutError(
                _l(
                    "Only %(available)s of %(offer)s are left, and your cart needs "
                    "%(needed)s. Leave that part out, or cover fewer workers or months.",
                    available=held,
                    offer=offer_name(pooled[offer_id]),
                    needed=count,
                )
            )


def _insert_lines(order: Order, check: CartCheck) -> None:
    """Bulk INSERT the lines, read their ids back in one SELECT (a worker has one line per
    bundle, as in the cart), then bulk INSERT the parts."""
    line_rows = []
    for plan in check.plans:
        price = check.prices[plan.line_id]
        line_rows.append(
            {
                "order_id": order.id,
                "worker_id": plan.worker_id,
                "bundle_id": plan.bundle_id,
                "months": plan.months,
                "first_month": plan.first_month,
                "total_idr": price.total_idr,
                "platform_fee_idr": price.platform_fee_idr,
                "previous_covered_until": plan.previous_covered_until,
            }
        )
    for start in range(0, len(line_rows), CHUNK):
        db.session.execute(insert(OrderLine.__table__), line_rows[start : start + CHUNK])
    line_ids = {
        (worker_id, bundle_id): line_id
        for line_id, worker_id, bundle_id in db.session.execute(
            select(OrderLine.id, OrderLine.worker_id, OrderLine.bundle_id).where(
                OrderLine.order_id == order.id
            )
        )
    }
    part_rows = [
        {
            "line_id": line_ids[(plan.worker_id, plan.bundle_id)],
            "offer_id": part.offer_id,
            "quantity": part.units,
            "amount_idr": part.amount_idr,
            "price_snapshot": part.snapshot,
        }
        for plan in check.plans
        for part in check.prices[plan.line_id].parts
    ]
    for start in range(0, len(part_rows), CHUNK):
        db.session.execute(insert(OrderLinePart.__table__), part_rows[start : start + CHUNK])
    db.session.flush()


def restore_cart(order: Order, sponsor: User, *, line_ids: Sequence[int] | None = None) -> int:
    """Put the workers of an unpaid order back in the cart, with the same bundles, months and
    parts left out, to be priced again. Returns how many could go back (a worker who left
    the directory cannot). ``line_ids``: only these lines of the order (a renewal link)."""
    only = OrderLine.id.in_(line_ids) if line_ids is not None else true()
    lines = db.session.execute(
        select(OrderLine.id, OrderLine.worker_id, OrderLine.bundle_id, OrderLine.months).where(
            OrderLine.order_id == order.id, only
        )
    ).all()
    kept_offers: dict[int, set[int]] = defaultdict(set)
    for line_id, offer_id in db.session.execute(
        select(OrderLinePart.line_id, OrderLinePart.offer_id)
        .join(OrderLine, OrderLine.id == OrderLinePart.line_id)
        .where(OrderLine.order_id == order.id, only)
    ):
        kept_offers[line_id].add(offer_id)
    bundle_offers: dict[int, set[int]] = defaultdict(set)
    for bundle_id, offer_id in db.session.execute(
        select(BundlePart.bundle_id, BundlePart.offer_id).where(
            BundlePart.bundle_id.in_({line.bundle_id for line in lines})
        )
    ):
        bundle_offers[bundle_id].add(offer_id)
    coverable = coverable_worker_ids(sponsor, [line.worker_id for line in lines])
    cart = cart_for(sponsor)
    in_cart = set(
        db.session.execute(
            select(CartLine.worker_id, CartLine.bundle_id).where(CartLine.cart_id == cart.id)
        ).all()
    )
    now = utcnow()
    rows = [
        {
            "cart_id": cart.id,
            "worker_id": line.worker_id,
            "bundle_id": line.bundle_id,
            "months": line.months,
            "dropped_offer_ids": sorted(bundle_offers[line.bundle_id] - kept_offers[line.id]),
            "created_at": now,
        }
        for line in lines
        if line.worker_id in coverable and (line.worker_id, line.bundle_id) not in in_cart
    ]
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(CartLine.__table__), rows[start : start + CHUNK])
    cart.payer_kind = order.payer_kind
    db.session.flush()
    return len(rows)


# --- the cart page and its issues ----------------------------------------------------------


@dataclass
class CartOverview:
    """Everything the cart page shows."""

    cart: Cart | None
    check: CartCheck | None = None
    page: Pagination | None = None
    groups: list[CartGroup] = field(default_factory=list)


def cart_overview(sponsor: User, *, page: int, today: date) -> CartOverview:
    cart = existing_cart(sponsor)
    if cart is None:
        return CartOverview(cart=None)
    return CartOverview(
        cart=cart,
        check=check_cart(cart, sponsor=sponsor, today=today),
        page=cart_page(cart, page=page),
        groups=cart_groups(cart),
    )


def resolve_issue(
    cart: Cart,
    *,
    sponsor: User,
    today: date,
    kind: IssueKind,
    bundle_id: int | None,
    offer_id: int | None,
    action: str,
    replacement: int | None = None,
) -> int:
    """Apply the sponsor's answer to one issue of the cart, found again by what it is about
    (kind, bundle, offer): "remove" its lines, "drop" the part from them, or "replace" their
    bundle with one of the alternatives offered. Returns how many lines changed.

    Raises CartError when the issue is gone or the answer does not fit it.
    """
    check = check_cart(cart, sponsor=sponsor, today=today)
    issue = next(
        (
            found
            for found in check.issues
            if found.kind == kind and found.bundle_id == bundle_id and found.offer_id == offer_id
        ),
        None,
    )
    if issue is None or not issue.line_ids:
        raise CartError(_l("This point is already settled. Please check your cart again."))
    if action == "remove":
        return remove_lines(cart, issue.line_ids)
    if action == "drop" and issue.offer_id and kind in (IssueKind.OPERATOR, IssueKind.STOCK):
        return drop_part(cart, issue.line_ids, issue.offer_id)
    if action == "replace" and kind == IssueKind.OPERATOR:
        if replacement not in {bundle.id for bundle in issue.alternatives}:
            raise CartError(_l("Choose one of the bundles offered."))
        return replace_bundle(cart, issue.line_ids, bundle_id=replacement)
    raise CartError(_l("This answer does not fit this point."))
