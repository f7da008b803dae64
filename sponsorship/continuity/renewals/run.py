"""The nightly renewal run: charge saved cards a few days before cover would lapse.

Exactly once per period: a plan's period is claimed by INSERT … ON CONFLICT DO NOTHING on the
unique (plan, period) of RenewalAttempt, in the transaction that makes the period's normal
Order; the claim commits before Stripe is called (``renewal_charge`` charges it, with one
idempotency key per try). Paying goes through checkout's ``apply_intent`` →
``mark_order_paid`` → fulfillment → ``extend_coverage``, like any order.

This is a job, not a service: it commits after each step (no lock is held while Stripe
answers; a crash loses at most one step).
"""

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import ColumnElement, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from accounts.models import User
from bundles.dues.services import due_date
from bundles.models import Bundle, BundlePart, Offer, OfferKind
from bundles.pricing import (
    LinePrice,
    PricingError,
)
from core.dates import JAKARTA, add_months, jakarta_today, month_end
from extensions import db, utcnow
from sponsorship.checkout.cart import coverable_worker_ids
from sponsorship.checkout.cart_check import first_month_for, price_for_worker
from sponsorship.checkout.models import Order, OrderLine, OrderLinePart, OrderStatus
from sponsorship.checkout.services import new_reference
from sponsorship.continuity import ledger
from sponsorship.continuity.renewals.charge import (
    RunSummary,
    charge,
    claim_retry,
    claim_stuck,
    note_paid_orders,
    retry_ids,
    stuck_ids,
)
from sponsorship.continuity.renewals.charge_group import charge_claimed
from sponsorship.continuity.renewals.models import (
    AttemptStatus,
    PlanStatus,
    RenewalAttempt,
    RenewalPlan,
)
from sponsorship.continuity.renewals.notices import notify_failure
from sponsorship.continuity.renewals.services import (
    NO_LONGER_COVERABLE,
    charge_day,
    days_before_lapse,
    release_if_uncovered,
)
from sponsorship.continuity.renewals.wave import CLAIM_CHUNK, claim_periods
from workers.models import Coverage, Worker

__all__ = ["RunSummary", "claim_period", "due_plan_ids", "run_renewals"]


def run_renewals(*, today: date | None = None) -> RunSummary:
    """Charge every plan that is due on ``today`` (Jakarta), retry declines whose day has come,
    resume tries a crash left behind, note on-session payments, and put workers of stopped
    plans whose cover ended back in the directory. Safe to run twice or concurrently."""
    today = today or jakarta_today()
    summary = RunSummary()
    due = due_plan_ids(today)
    for start in range(0, len(due), CLAIM_CHUNK):
        attempt_ids = claim_periods(due[start : start + CLAIM_CHUNK], today)
        db.session.commit()
        summary.claimed += len(attempt_ids)
        charge_claimed(attempt_ids, today, summary)
    for attempt_id in retry_ids(today):
        if claim_retry(attempt_id, today):
            db.session.commit()
            charge(attempt_id, today, summary)
    for attempt_id in stuck_ids():
        if claim_stuck(attempt_id):
            db.session.commit()
            charge(attempt_id, today, summary)
    note_paid_orders()
    db.session.commit()
    for plan in db.session.scalars(
        select(RenewalPlan).where(
            RenewalPlan.status == PlanStatus.STOPPED, RenewalPlan.released_at.is_(None)
        )
    ).all():
        if release_if_uncovered(plan, today=today):
            summary.released += 1
        db.session.commit()
    return summary


# --- which plans are due ---------------------------------------------------------------------


def due_plan_ids(today: date) -> list[int]:
    """Plans whose worker's cover lapses within the charge window: active ones (with a saved
    card) and those still without a card, which are renewed by a pay-link reminder."""
    latest_due = today + timedelta(days=days_before_lapse() - 1)
    return list(
        db.session.scalars(
            select(RenewalPlan.id)
            .join(Worker, Worker.id == RenewalPlan.worker_id)
            .where(
                _renewable(),
                Worker.covered_until.is_not(None),
                Worker.covered_until <= latest_due,
            )
            .order_by(RenewalPlan.id)
        )
    )


def _renewable() -> ColumnElement[bool]:
    return or_(
        (RenewalPlan.status == PlanStatus.ACTIVE) & RenewalPlan.payment_method_id.is_not(None),
        (RenewalPlan.status == PlanStatus.NEEDS_CARD) & RenewalPlan.payment_method_id.is_(None),
    )


def _is_renewable(plan: RenewalPlan) -> bool:
    if plan.status == PlanStatus.ACTIVE:
        return bool(plan.payment_method_id)
    return plan.status == PlanStatus.NEEDS_CARD and not plan.payment_method_id


def _covered_until(worker_id: int) -> date | None:
    """The ledger's covered-until, or later when a paid order is still being fulfilled."""
    until = ledger.covered_until(worker_id)
    dues_line = exists(
        select(BundlePart.id)
        .join(Offer, Offer.id == BundlePart.offer_id)
        .where(BundlePart.bundle_id == OrderLine.bundle_id, Offer.kind == OfferKind.INSURANCE_DUES)
    )
    for first, months in db.session.execute(
        select(OrderLine.first_month, OrderLine.months)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.worker_id == worker_id,
            Order.status.in_([OrderStatus.PAID, OrderStatus.FULFILLING]),
            ~exists(select(Coverage.id).where(Coverage.order_line_id == OrderLine.id)),
            dues_line,
        )
    ):
        end = month_end(add_months(first, months - 1))
        until = end if until is None else max(until, end)
    return until


def claim_period(plan_id: int, today: date) -> int | None:
    """Claim the plan's next period and make its order; the attempt id, or None when the plan
    is not due or this period was claimed already (by this run, an earlier one, or one running
    right now). Flushes; the caller commits before charging."""
    plan = db.session.get(RenewalPlan, plan_id)
    if plan is None or not _is_renewable(plan):
        return None
    until = _covered_until(plan.worker_id)
    if until is None or charge_day(until) > today:
        return None
    previous = until if until >= today else None  # lapsed: start afresh, as checkout does
    period = first_month_for(previous, today)
    if db.session.scalar(
        select(RenewalAttempt.id).where(
            RenewalAttempt.plan_id == plan.id, RenewalAttempt.period == period
        )
    ):
        return None
    worker = db.session.get(Worker, plan.worker_id)
    try:
        if not coverable_worker_ids(_sponsor(plan), [worker.id]):
            raise PricingError("unavailable", NO_LONGER_COVERABLE)
        price = _price(plan, worker, period)
    except PricingError as refused:
        if _insert_attempt(plan, period, today, status=AttemptStatus.FAILED, failure=refused):
            notify_failure(plan, period=period, order=None, reason=refused.message)
        return None
    attempt_id = _insert_attempt(plan, period, today, status=AttemptStatus.CHARGING)
    if attempt_id is None:
        return None
    order = _renewal_order(plan, price, period, previous)
    db.session.execute(
        update(RenewalAttempt).where(RenewalAttempt.id == attempt_id).values(order_id=order.id)
    )
    db.session.flush()
    return attempt_id


def _sponsor(plan: RenewalPlan) -> User:
    return db.session.get(User, plan.sponsor_id)


def _insert_attempt(
    plan: RenewalPlan,
    period: date,
    today: date,
    *,
    status: AttemptStatus,
    failure: PricingError | None = None,
) -> int | None:
    """INSERT … ON CONFLICT (plan_id, period) DO NOTHING: of two runs, one gets the id."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    values: dict[str, Any] = {
        "plan_id": plan.id,
        "period": period,
        "status": status,
        "tries": 1 if status == AttemptStatus.CHARGING else 0,
        "first_try_on": today,
        "created_at": now,
        "updated_at": now,
    }
    if failure is not None:
        values["failure_code"] = failure.code[:64]
        # Kept for the renewals page, in Payung's default language (jobs have no request).
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            values["failure_message"] = str(failure.message)[:200]
    return db.session.execute(
        insert(RenewalAttempt.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["plan_id", "period"])
        .returning(RenewalAttempt.__table__.c.id)
    ).scalar_one_or_none()


def _price(plan: RenewalPlan, worker: Worker, period: date) -> LinePrice:
    """Checkout's price for the period: the bundle without the parts the sponsor left out."""
    return price_for_worker(
        db.session.get(Bundle, plan.bundle_id),
        worker=worker,
        dropped=plan.dropped_offer_ids or [],
        months=plan.months,
        first_month=period,
        payer_kind=str(plan.payer_kind),
    )


def _renewal_order(
    plan: RenewalPlan, price: LinePrice, period: date, previous: date | None
) -> Order:
    """A normal order for the period. Its prices hold until the period's due date (the end of
    that day in Jakarta): the retries and the sponsor's on-session payment fit before it."""
    order = Order(
        reference=new_reference(),
        sponsor_id=plan.sponsor_id,
        payer_kind=plan.payer_kind,
        status=OrderStatus.AWAITING_PAYMENT,
        total_idr=price.total_idr,
        worker_count=1,
        expires_at=datetime.combine(due_date(period), time.max, tzinfo=JAKARTA),
        created_at=utcnow(),
    )
    line = OrderLine(
        worker_id=plan.worker_id,
        bundle_id=plan.bundle_id,
        months=plan.months,
        first_month=period,
        total_idr=price.total_idr,
        platform_fee_idr=price.platform_fee_idr,
        previous_covered_until=previous,
    )
    line.parts = [
        OrderLinePart(
            offer_id=part.offer_id,
            quantity=part.units,
            amount_idr=part.amount_idr,
            price_snapshot=part.snapshot,
        )
        for part in price.parts
    ]
    order.lines = [line]
    db.session.add(order)
    db.session.flush()
    return order
