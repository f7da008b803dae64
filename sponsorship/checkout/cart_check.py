"""Checking a cart before it becomes an order: whom each line covers from which month, what it
costs, and what stands in the way (a worker no longer listed, a Telkomsel-only part for a number
on another network, a code pool running short, a bundle taken off sale).

Months follow existing cover: a worker covered until the end of March gets months from April,
never March again. An uncovered or lapsed worker starts with the first month whose dues can
still be paid on time (this month until its due date, the 15th; else next month). Lines of paid
orders that fulfillment has not yet turned into cover count as cover too.

A check costs a fixed number of statements whatever the size of the cart; identical lines
(same bundle, months, first month, occupation group, parts) are priced once.
"""

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from accounts.models import User
from bundles.dues.data import load_dues_tables
from bundles.models import Bundle, BundlePart, Offer, OfferKind
from bundles.pricing import (
    LinePrice,
    PricingError,
    default_first_month,
    offer_available_for_phone,
    price_line,
    quote_bundle,
    worker_is_transport,
)
from core.dates import add_months, first_of_month, month_end
from extensions import db, utcnow
from i18n import rupiah
from sponsorship.checkout.cart import payer_kind_for
from sponsorship.checkout.cart_issues import (
    CartIssue,
    IssueKind,
    operator_issues,
    stock_issues,
    unpaid_order_warnings,
)
from sponsorship.checkout.models import (
    Cart,
    CartLine,
    Order,
    OrderLine,
    OrderLinePart,
    OrderStatus,
    PayerKind,
)
from workers.enrolment.invitations import invited_worker_ids
from workers.models import Coverage, Worker

# Stripe takes IDR amounts of up to twelve digits in sen; Payung keeps well inside.
DEFAULT_MAX_TOTAL_IDR = 9_999_999_999


@dataclass(frozen=True, slots=True)
class LinePlan:
    """One cart line, ready to become an order line."""

    line_id: int
    worker_id: int
    bundle_id: int
    months: int
    first_month: date
    previous_covered_until: date | None
    is_transport: bool
    dropped: tuple[int, ...]
    # The months follow cover that was paid for (not another line of this cart, which is
    # not paid yet and so never counts as cover in what the sponsor is told).
    follows_paid_cover: bool = False

    @property
    def last_month(self) -> date:
        return add_months(self.first_month, self.months - 1)


@dataclass
class CartCheck:
    payer_kind: PayerKind
    plans: list[LinePlan] = field(default_factory=list)
    prices: dict[int, LinePrice] = field(default_factory=dict)  # by cart line id
    issues: list[CartIssue] = field(default_factory=list)
    warnings: list[CartIssue] = field(default_factory=list)
    bundles: dict[int, Bundle] = field(default_factory=dict)
    _plans_by_line: dict[int, LinePlan] | None = field(default=None, repr=False)

    @property
    def total_idr(self) -> int:
        return sum(price.total_idr for price in self.prices.values())

    @property
    def worker_count(self) -> int:
        return len({plan.worker_id for plan in self.plans})

    @property
    def months_funded(self) -> int:
        return sum(plan.months for plan in self.plans)

    @property
    def appended_count(self) -> int:
        """Workers whose new months follow cover already paid for."""
        return len({plan.worker_id for plan in self.plans if plan.follows_paid_cover})

    @property
    def is_ready(self) -> bool:
        return bool(self.plans) and not self.issues and len(self.prices) == len(self.plans)

    def price_of(self, line_id: int) -> LinePrice | None:
        return self.prices.get(line_id)

    def plan_of(self, line_id: int) -> LinePlan | None:
        if self._plans_by_line is None:
            self._plans_by_line = {plan.line_id: plan for plan in self.plans}
        return self._plans_by_line.get(line_id)

    def flagged(self, line_id: int) -> list[CartIssue]:
        return [issue for issue in self.issues if line_id in issue.line_ids]


@dataclass(frozen=True)
class _BundleAsBought:
    """A bundle without the parts the sponsor left out, for ``quote_bundle``."""

    id: int
    parts: list[BundlePart]
    platform_fee_idr: int
    is_published: bool


def as_bought(bundle: Bundle, dropped: Collection[int]) -> Bundle:
    """The bundle as the sponsor buys it: without the offers in ``dropped``."""
    return _BundleAsBought(  # type: ignore[return-value]
        id=bundle.id,
        parts=[part for part in bundle.parts if part.offer_id not in dropped],
        platform_fee_idr=bundle.platform_fee_idr,
        is_published=bundle.is_published,
    )


def price_for_worker(
    bundle: Bundle,
    *,
    worker: Worker,
    dropped: Collection[int],
    months: int,
    first_month: date,
    payer_kind: PayerKind | str,
) -> LinePrice:
    """Checkout's price of one line for one worker (renewals price each period with it): the
    bundle as bought, refused (``PricingError``) when a part does not suit the worker's number
    (Telkomsel-only quota) or the dues engine refuses."""
    return price_line(
        as_bought(bundle, dropped),
        worker=worker,
        months=months,
        first_month=first_month,
        payer_kind=payer_kind,
    )


def max_total_idr() -> int:
    return int(current_app.config.get("CHECKOUT_MAX_TOTAL_IDR", DEFAULT_MAX_TOTAL_IDR))


def first_month_for(covered_until: date | None, today: date) -> date:
    """The first contribution month to buy for a worker covered until ``covered_until``."""
    earliest = default_first_month(today)
    if covered_until is None:
        return earliest
    return max(earliest, add_months(first_of_month(covered_until), 1))


def check_cart(cart: Cart, *, sponsor: User, today: date, now: datetime | None = None) -> CartCheck:
    """Plan, price and check every line of ``cart`` for its payer kind (``payer_kind_for``)."""
    check = CartCheck(payer_kind=payer_kind_for(sponsor, cart.payer_kind))
    rows = db.session.execute(
        select(
            CartLine.id,
            CartLine.worker_id,
            CartLine.bundle_id,
            CartLine.months,
            CartLine.dropped_offer_ids,
            Worker.phone_e164,
            Worker.occupation,
            Worker.covered_until,
            Worker.is_listed,
            Worker.insurer_consent_at,
        )
        .join(Worker, Worker.id == CartLine.worker_id)
        .where(CartLine.cart_id == cart.id)
        .order_by(CartLine.id)
    ).all()
    if not rows:
        return check
    check.bundles = _bundles(cart)
    dues_bundles = {
        bundle_id
        for bundle_id, bundle in check.bundles.items()
        if any(part.offer.kind == OfferKind.INSURANCE_DUES for part in bundle.parts)
    }
    unlisted = [row.worker_id for row in rows if not row.is_listed]
    invited = invited_worker_ids(sponsor, unlisted) if unlisted else set()
    pending = _pending_cover_ends(cart)
    unavailable: list[int] = []
    operator: dict[tuple[int, int], list[int]] = defaultdict(list)
    running_end: dict[int, date | None] = {}
    for row in rows:
        bundle = check.bundles.get(row.bundle_id)
        if row.insurer_consent_at is None or not (row.is_listed or row.worker_id in invited):
            unavailable.append(row.id)
            continue
        dropped = tuple(sorted(row.dropped_offer_ids or ()))
        if bundle is not None:
            for part in bundle.parts:
                kept = part.offer_id not in dropped
                if kept and not offer_available_for_phone(part.offer, row.phone_e164):
                    operator[(row.bundle_id, part.offer_id)].append(row.id)
        previous = None
        paid_cover = False
        if row.bundle_id in dues_bundles:
            if row.worker_id not in running_end:
                known = [d for d in (row.covered_until, pending.get(row.worker_id)) if d]
                running_end[row.worker_id] = max(known) if known else None
                paid_cover = True  # the first dues line follows paid cover, if any
            previous = running_end[row.worker_id]
            if previous is not None and previous < today:
                previous = None  # lapsed: start afresh
        first = first_month_for(previous, today)
        if row.bundle_id in dues_bundles:
            running_end[row.worker_id] = month_end(add_months(first, row.months - 1))
        check.plans.append(
            LinePlan(
                line_id=row.id,
                worker_id=row.worker_id,
                bundle_id=row.bundle_id,
                months=row.months,
                first_month=first,
                previous_covered_until=previous,
                is_transport=worker_is_transport(row.occupation),
                dropped=dropped,
                follows_paid_cover=paid_cover and previous is not None,
            )
        )
    if unavailable:
        check.issues.append(
            CartIssue(
                kind=IssueKind.UNAVAILABLE_WORKERS,
                message=_l(
                    "%(count)s worker(s) in your cart can no longer be covered: they left the "
                    "directory or withdrew their consent.",
                    count=len(unavailable),
                ),
                line_ids=tuple(unavailable),
            )
        )
    check.issues.extend(operator_issues(check.bundles, operator))
    _price(check)
    check.issues.extend(stock_issues(check.bundles, check.prices))
    if check.total_idr > max_total_idr():
        check.issues.append(
            CartIssue(
                kind=IssueKind.TOO_LARGE,
                message=_l(
                    "One card payment can be at most %(limit)s. Split your cart into smaller "
                    "orders.",
                    limit=rupiah(max_total_idr()),
                ),
            )
        )
    check.warnings.extend(unpaid_order_warnings(cart, sponsor, now or utcnow()))
    return check


def _bundles(cart: Cart) -> dict[int, Bundle]:
    bundle_ids = select(CartLine.bundle_id).where(CartLine.cart_id == cart.id).distinct()
    bundles = db.session.scalars(
        select(Bundle)
        .where(Bundle.id.in_(bundle_ids))
        .options(
            selectinload(Bundle.parts).selectinload(BundlePart.offer).selectinload(Offer.partner)
        )
    )
    return {bundle.id: bundle for bundle in bundles}


def _pending_cover_ends(cart: Cart) -> dict[int, date]:
    """Last covered day of paid order lines not yet turned into cover, per worker."""
    dues_part = (
        select(OrderLinePart.id)
        .join(Offer, Offer.id == OrderLinePart.offer_id)
        .where(OrderLinePart.line_id == OrderLine.id, Offer.kind == OfferKind.INSURANCE_DUES)
    )
    rows = db.session.execute(
        select(OrderLine.worker_id, OrderLine.first_month, OrderLine.months)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.status.in_([OrderStatus.PAID, OrderStatus.FULFILLING]),
            OrderLine.worker_id.in_(select(CartLine.worker_id).where(CartLine.cart_id == cart.id)),
            ~exists(select(Coverage.id).where(Coverage.order_line_id == OrderLine.id)),
            exists(dues_part),
        )
    )
    ends: dict[int, date] = {}
    for worker_id, first, months in rows:
        end = month_end(add_months(first, months - 1))
        ends[worker_id] = max(end, ends.get(worker_id, end))
    return ends


def _price(check: CartCheck) -> None:
    tables = load_dues_tables()
    memo: dict[tuple[Any, ...], LinePrice | PricingError] = {}
    refused: dict[tuple[int, str], list[int]] = defaultdict(list)
    errors: dict[tuple[int, str], PricingError] = {}
    for plan in check.plans:
        bundle = check.bundles.get(plan.bundle_id)
        key = (plan.bundle_id, plan.months, plan.first_month, plan.is_transport, plan.dropped)
        if key not in memo:
            memo[key] = _quote(bundle, plan, check.payer_kind, tables)
        outcome = memo[key]
        if isinstance(outcome, PricingError):
            refused[(plan.bundle_id, outcome.code)].append(plan.line_id)
            errors[(plan.bundle_id, outcome.code)] = outcome
            continue
        check.prices[plan.line_id] = outcome
    for (bundle_id, code), line_ids in refused.items():
        bundle = check.bundles.get(bundle_id)
        unavailable = code in ("bundle_unavailable", "part_unavailable")
        check.issues.append(
            CartIssue(
                kind=IssueKind.BUNDLE_UNAVAILABLE if unavailable else IssueKind.PRICING,
                message=_l(
                    "%(bundle)s: %(problem)s",
                    bundle=bundle.name if bundle else "?",
                    problem=errors[(bundle_id, code)].message,
                ),
                line_ids=tuple(line_ids),
                bundle_id=bundle_id,
            )
        )


def _quote(
    bundle: Bundle | None, plan: LinePlan, payer_kind: PayerKind, tables: Any
) -> LinePrice | PricingError:
    if bundle is None:
        return PricingError("bundle_unavailable", _l("This bundle is not for sale at the moment."))
    try:
        return quote_bundle(
            as_bought(bundle, plan.dropped),
            months=plan.months,
            first_month=plan.first_month,
            payer_kind=str(payer_kind),
            is_transport=plan.is_transport,
            tables=tables,
        )
    except PricingError as refused:
        return refused
