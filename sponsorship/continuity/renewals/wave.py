"""Claiming a whole chunk of due plans at once: the nightly run's hot path on a renewal wave.

``claim_periods(plan_ids, today)`` does for a chunk of plans what ``claim_period`` does for one,
with the same outcome per plan, in a fixed number of statements: the plans, their workers'
cover (paid and still being fulfilled), the periods already claimed, who may still be covered
and the bundles are read once; identical lines are priced once (on bundle, parts left out,
months, period, payer kind, transport or not and which parts the worker's number can use);
the periods are claimed with one multi-row ``INSERT … ON CONFLICT (plan_id, period) DO
NOTHING RETURNING`` — a plan whose period another run claimed first gets nothing, exactly as
one by one — and the orders, lines and parts go in with bulk ``INSERT``s. Plans that cannot be
priced are refused one by one (rare; each sends the sponsor a message), as before.

Flushes; the caller commits before charging (no lock is held while Stripe answers).
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import exists, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from accounts.models import User
from bundles.dues.services import due_date
from bundles.models import Bundle, BundlePart, Offer, OfferKind
from bundles.pricing import LinePrice, PricingError, offer_available_for_phone, worker_is_transport
from core.dates import JAKARTA, add_months, month_end
from extensions import db, utcnow
from sponsorship.checkout.cart import coverable_worker_ids
from sponsorship.checkout.cart_check import as_bought, first_month_for, price_for_worker
from sponsorship.checkout.models import Order, OrderLine, OrderLinePart, OrderStatus
from sponsorship.checkout.services import new_reference
from sponsorship.continuity.renewals.models import (
    AttemptStatus,
    PlanStatus,
    RenewalAttempt,
    RenewalPlan,
)
from sponsorship.continuity.renewals.notices import notify_failure
from sponsorship.continuity.renewals.services import NO_LONGER_COVERABLE, charge_day
from workers.models import Coverage, Worker

__all__ = ["CLAIM_CHUNK", "claim_periods"]

CLAIM_CHUNK = 500  # plans per transaction of the run


def claim_periods(plan_ids: Sequence[int], today: date) -> list[int]:
    """Claim the next period of each due plan of ``plan_ids`` and make its order; the ids of
    the attempts this call claimed (to charge), in plan order. Plans not due, not renewable or
    already claimed for the period are left out; plans that cannot be priced get a FAILED
    attempt and their sponsor a message."""
    plans = list(
        db.session.scalars(
            select(RenewalPlan).where(RenewalPlan.id.in_(plan_ids)).order_by(RenewalPlan.id)
        )
    )
    plans = [plan for plan in plans if _is_renewable(plan)]
    workers = {
        worker.id: worker
        for worker in db.session.scalars(
            select(Worker).where(Worker.id.in_([plan.worker_id for plan in plans]))
        )
    }
    pending = _pending_cover_ends(list(workers))
    due: list[tuple[RenewalPlan, date, date | None]] = []
    for plan in plans:
        worker = workers.get(plan.worker_id)
        if worker is None:
            continue
        known = [d for d in (worker.covered_until, pending.get(worker.id)) if d is not None]
        until = max(known) if known else None
        if until is None or charge_day(until) > today:
            continue
        previous = until if until >= today else None  # lapsed: start afresh, as checkout does
        due.append((plan, first_month_for(previous, today), previous))
    if not due:
        return []
    claimed = {
        tuple(row)
        for row in db.session.execute(
            select(RenewalAttempt.plan_id, RenewalAttempt.period).where(
                tuple_(RenewalAttempt.plan_id, RenewalAttempt.period).in_(
                    [(plan.id, period) for plan, period, _previous in due]
                )
            )
        )
    }
    due = [entry for entry in due if (entry[0].id, entry[1]) not in claimed]
    coverable = _coverable(due, workers)
    bundles = _bundles({plan.bundle_id for plan, _period, _previous in due})
    memo: dict[tuple[Any, ...], LinePrice | PricingError] = {}
    priced: list[tuple[RenewalPlan, date, date | None, LinePrice]] = []
    for plan, period, previous in due:
        outcome = _priced(plan, workers[plan.worker_id], period, bundles, memo, coverable)
        if isinstance(outcome, PricingError):
            _refuse(plan, period, today, outcome)
        else:
            priced.append((plan, period, previous, outcome))
    return _claim_and_order(priced, today)


def _is_renewable(plan: RenewalPlan) -> bool:
    if plan.status == PlanStatus.ACTIVE:
        return bool(plan.payment_method_id)
    return plan.status == PlanStatus.NEEDS_CARD and not plan.payment_method_id


def _pending_cover_ends(worker_ids: list[int]) -> dict[int, date]:
    """Last covered day of paid dues lines not yet turned into cover, per worker (the run's
    ``_covered_until`` for many workers)."""
    dues_line = exists(
        select(BundlePart.id)
        .join(Offer, Offer.id == BundlePart.offer_id)
        .where(BundlePart.bundle_id == OrderLine.bundle_id, Offer.kind == OfferKind.INSURANCE_DUES)
    )
    ends: dict[int, date] = {}
    if not worker_ids:
        return ends
    for worker_id, first, months in db.session.execute(
        select(OrderLine.worker_id, OrderLine.first_month, OrderLine.months)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.worker_id.in_(worker_ids),
            Order.status.in_([OrderStatus.PAID, OrderStatus.FULFILLING]),
            ~exists(select(Coverage.id).where(Coverage.order_line_id == OrderLine.id)),
            dues_line,
        )
    ):
        end = month_end(add_months(first, months - 1))
        ends[worker_id] = max(end, ends.get(worker_id, end))
    return ends


def _coverable(
    due: list[tuple[RenewalPlan, date, date | None]], workers: dict[int, Worker]
) -> set[int]:
    """Workers their plan's sponsor may still cover: listed and consenting ones at once; the
    others (invited by a sponsor, or gone) asked per sponsor, as checkout does."""
    found: set[int] = set()
    unlisted: dict[int, list[int]] = defaultdict(list)
    for plan, _period, _previous in due:
        worker = workers[plan.worker_id]
        if worker.insurer_consent_at is None:
            continue
        if worker.is_listed:
            found.add(worker.id)
        else:
            unlisted[plan.sponsor_id].append(worker.id)
    for sponsor_id, worker_ids in unlisted.items():
        found |= coverable_worker_ids(db.session.get(User, sponsor_id), worker_ids)
    return found


def _bundles(bundle_ids: set[int]) -> dict[int, Bundle]:
    return {
        bundle.id: bundle
        for bundle in db.session.scalars(
            select(Bundle)
            .where(Bundle.id.in_(bundle_ids))
            .options(selectinload(Bundle.parts).selectinload(BundlePart.offer))
        )
    }


def _priced(
    plan: RenewalPlan,
    worker: Worker,
    period: date,
    bundles: dict[int, Bundle],
    memo: dict[tuple[Any, ...], LinePrice | PricingError],
    coverable: set[int],
) -> LinePrice | PricingError:
    if worker.id not in coverable:
        return PricingError("unavailable", NO_LONGER_COVERABLE)
    bundle = bundles[plan.bundle_id]
    dropped = tuple(sorted(plan.dropped_offer_ids or ()))
    phone_fits = tuple(
        offer_available_for_phone(part.offer, worker.phone_e164)
        for part in as_bought(bundle, dropped).parts
    )
    key = (
        bundle.id,
        dropped,
        plan.months,
        period,
        str(plan.payer_kind),
        worker_is_transport(worker.occupation),
        phone_fits,
    )
    if key not in memo:
        try:
            memo[key] = price_for_worker(
                bundle,
                worker=worker,
                dropped=dropped,
                months=plan.months,
                first_month=period,
                payer_kind=str(plan.payer_kind),
            )
        except PricingError as refused:
            memo[key] = refused
    return memo[key]


def _insert() -> Any:
    dialect = db.session.get_bind().dialect.name
    return postgresql_insert if dialect == "postgresql" else sqlite_insert


def _refuse(plan: RenewalPlan, period: date, today: date, refused: PricingError) -> None:
    """A FAILED attempt for the period (once) and a message to the sponsor, as one by one."""
    now = utcnow()
    values: dict[str, Any] = {
        "plan_id": plan.id,
        "period": period,
        "status": AttemptStatus.FAILED,
        "tries": 0,
        "first_try_on": today,
        "failure_code": refused.code[:64],
        "failure_message": failure_text(refused),
        "created_at": now,
        "updated_at": now,
    }
    inserted = db.session.execute(
        _insert()(RenewalAttempt.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["plan_id", "period"])
        .returning(RenewalAttempt.__table__.c.id)
    ).scalar_one_or_none()
    if inserted is not None:
        notify_failure(plan, period=period, order=None, reason=refused.message)


def failure_text(refused: PricingError) -> str:
    """Kept for the renewals page, in Payung's default language (jobs have no request)."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return str(refused.message)[:200]


def _claim_and_order(
    priced: list[tuple[RenewalPlan, date, date | None, LinePrice]], today: date
) -> list[int]:
    if not priced:
        return []
    now = utcnow()
    won: dict[int, int] = dict(
        tuple(row)
        for row in db.session.execute(
            _insert()(RenewalAttempt.__table__)
            .values(
                [
                    {
                        "plan_id": plan.id,
                        "period": period,
                        "status": AttemptStatus.CHARGING,
                        "tries": 1,
                        "first_try_on": today,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for plan, period, _previous, _price in priced
                ]
            )
            .on_conflict_do_nothing(index_elements=["plan_id", "period"])
            .returning(RenewalAttempt.__table__.c.plan_id, RenewalAttempt.__table__.c.id)
        )
    )
    priced = [entry for entry in priced if entry[0].id in won]
    if not priced:
        return []
    order_ids = list(
        db.session.scalars(
            insert(Order).returning(Order.id, sort_by_parameter_order=True),
            [
                {
                    "reference": new_reference(),
                    "sponsor_id": plan.sponsor_id,
                    "payer_kind": plan.payer_kind,
                    "status": OrderStatus.AWAITING_PAYMENT,
                    "total_idr": price.total_idr,
                    "worker_count": 1,
                    "expires_at": _expiry(period),
                    "created_at": now,
                }
                for plan, period, _previous, price in priced
            ],
        )
    )
    line_ids = list(
        db.session.scalars(
            insert(OrderLine).returning(OrderLine.id, sort_by_parameter_order=True),
            [
                {
                    "order_id": order_id,
                    "worker_id": plan.worker_id,
                    "bundle_id": plan.bundle_id,
                    "months": plan.months,
                    "first_month": period,
                    "total_idr": price.total_idr,
                    "platform_fee_idr": price.platform_fee_idr,
                    "previous_covered_until": previous,
                }
                for order_id, (plan, period, previous, price) in zip(order_ids, priced, strict=True)
            ],
        )
    )
    db.session.execute(
        insert(OrderLinePart),
        [
            {
                "line_id": line_id,
                "offer_id": part.offer_id,
                "quantity": part.units,
                "amount_idr": part.amount_idr,
                "price_snapshot": part.snapshot,
            }
            for line_id, (_plan, _period, _previous, price) in zip(line_ids, priced, strict=True)
            for part in price.parts
        ],
    )
    attempt_ids = [won[plan.id] for plan, _period, _previous, _price in priced]
    db.session.execute(
        update(RenewalAttempt),
        [
            {"id": attempt_id, "order_id": order_id}
            for attempt_id, order_id in zip(attempt_ids, order_ids, strict=True)
        ],
    )
    return attempt_ids


def _expiry(period: date) -> datetime:
    """The order's prices hold until the period's due date (the end of that day in Jakarta)."""
    return datetime.combine(due_date(period), time.max, tzinfo=JAKARTA)
