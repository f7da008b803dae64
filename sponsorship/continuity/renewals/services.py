"""Automatic renewal, the sponsor's side: turn it on for a worker they covered, save the card,
pause, resume, stop, and see each plan's next charge and last result.

The card is saved the way the pay page takes one (``payments.customer_for`` and a SetupIntent
confirmed by Stripe.js), set up for off-session use. The nightly charge lives in
``renewal_run``. Services flush; the view commits.
"""

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from accounts.models import User
from bundles.dues.services import PAYABLE_MONTHS
from bundles.models import Bundle, BundlePart, Offer, OfferKind
from core.errors import DomainError
from extensions import db, utcnow
from sponsorship.checkout.cart import coverable_worker_ids
from sponsorship.checkout.models import (
    PAID_ORDER_STATUSES,
    Order,
    OrderLine,
    OrderLinePart,
    OrderStatus,
)
from sponsorship.continuity import ledger
from sponsorship.continuity.renewals.models import (
    LIVE_PLAN_STATUSES,
    OPEN_ATTEMPT_STATUSES,
    AttemptStatus,
    PlanStatus,
    RenewalAttempt,
    RenewalPlan,
)
from sponsorship.payments.gateway_types import (
    CardSetupInfo,
    IntentStatus,
    PaymentGatewayError,
)
from sponsorship.payments.services import customer_for
from sponsorship.payments.stripe_gateway import (
    gateway_from_config,
)
from workers.coverage import mark_needs_sponsor
from workers.models import Worker

log = logging.getLogger(__name__)

DEFAULT_DAYS_BEFORE_LAPSE = 7
UNAVAILABLE = _l("The payment service is not available. Please try again.")
NO_LONGER_COVERABLE = _l(
    "This worker can no longer be covered: they left the directory or withdrew consent."
)


class RenewalError(DomainError):
    """The sponsor's request cannot be done; ``message`` is for them. Nothing changed."""


def days_before_lapse() -> int:
    return int(current_app.config.get("RENEWAL_DAYS_BEFORE_LAPSE", DEFAULT_DAYS_BEFORE_LAPSE))


def charge_day(covered_until: date) -> date:
    """The day the saved card is charged for the months after ``covered_until``."""
    return ledger.lapses_on(covered_until) - timedelta(days=days_before_lapse())


# --- turning it on ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RenewalOffer:
    """What the "turn on" page proposes: repeat the sponsor's latest purchase for the worker."""

    worker: Worker
    bundle: Bundle
    months: int
    line: OrderLine
    existing: RenewalPlan | None


def renewal_offer(sponsor: User, worker_id: int, bundle_id: int | None = None) -> RenewalOffer:
    """Raises RenewalError unless the sponsor paid for this worker (and bundle) before."""
    line = _latest_paid_line(sponsor, worker_id, bundle_id)
    if line is None:
        raise RenewalError(
            _l("Automatic renewal is for workers you have covered. Cover this worker first.")
        )
    bundle = db.session.get(Bundle, line.bundle_id)
    worker = db.session.get(Worker, worker_id)
    if bundle is None or worker is None or not _has_dues(bundle):
        raise RenewalError(_l("Automatic renewal is only for bundles with BPJS dues."))
    existing = db.session.scalar(
        select(RenewalPlan).where(
            RenewalPlan.sponsor_id == sponsor.id,
            RenewalPlan.worker_id == worker_id,
            RenewalPlan.bundle_id == bundle.id,
        )
    )
    months = existing.months if existing else line.months
    return RenewalOffer(worker=worker, bundle=bundle, months=months, line=line, existing=existing)


def _latest_paid_line(sponsor: User, worker_id: int, bundle_id: int | None) -> OrderLine | None:
    query = (
        select(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.sponsor_id == sponsor.id,
            OrderLine.worker_id == worker_id,
            Order.status.in_(PAID_ORDER_STATUSES - {OrderStatus.REFUNDED}),
        )
        .order_by(OrderLine.first_month.desc(), OrderLine.id.desc())
        .limit(1)
    )
    if bundle_id is not None:
        query = query.where(OrderLine.bundle_id == bundle_id)
    return db.session.scalar(query)


def _has_dues(bundle: Bundle) -> bool:
    return any(part.offer.kind == OfferKind.INSURANCE_DUES for part in bundle.parts)


def start_plan(sponsor: User, *, worker_id: int, bundle_id: int, months: int) -> RenewalPlan:
    """Turn automatic renewal on (or back on) for one worker and bundle; the plan then waits
    for its card. Raises RenewalError when the sponsor may not, and changes nothing."""
    if months not in PAYABLE_MONTHS:
        raise RenewalError(_l("Dues can be paid for 1, 3, 6 or 12 months."))
    offer = renewal_offer(sponsor, worker_id, bundle_id)
    if not coverable_worker_ids(sponsor, [worker_id]):
        raise RenewalError(NO_LONGER_COVERABLE)
    other = db.session.scalar(
        select(RenewalPlan.id).where(
            RenewalPlan.worker_id == worker_id,
            RenewalPlan.sponsor_id != sponsor.id,
            RenewalPlan.status.in_([PlanStatus.ACTIVE, PlanStatus.PAUSED]),
        )
    )
    if other is not None:
        raise RenewalError(_l("Another sponsor already renews this worker's cover automatically."))
    plan = offer.existing
    if plan is None:
        plan = RenewalPlan(
            sponsor_id=sponsor.id,
            worker_id=worker_id,
            bundle_id=offer.bundle.id,
            status=PlanStatus.NEEDS_CARD,
            card_setups=0,
        )
        db.session.add(plan)
    elif plan.status == PlanStatus.STOPPED:
        plan.transition(PlanStatus.NEEDS_CARD)
    plan.months = months
    plan.payer_kind = db.session.get(Order, offer.line.order_id).payer_kind
    plan.dropped_offer_ids = _dropped_offers(offer.line)
    db.session.flush()
    return plan


def _dropped_offers(line: OrderLine) -> list[int]:
    bought = set(
        db.session.scalars(select(OrderLinePart.offer_id).where(OrderLinePart.line_id == line.id))
    )
    offered = db.session.scalars(
        select(BundlePart.offer_id)
        .join(Offer, Offer.id == BundlePart.offer_id)
        .where(BundlePart.bundle_id == line.bundle_id)
    )
    return sorted(set(offered) - bought)


# --- the card ----------------------------------------------------------------------------------


def card_setup(plan: RenewalPlan, sponsor: User) -> CardSetupInfo:
    """The SetupIntent for the card page: the one still waiting for a card, or a new one."""
    if plan.status == PlanStatus.STOPPED:
        raise RenewalError(_l("This automatic renewal is stopped. Turn it on again first."))
    gateway = gateway_from_config()
    if plan.card_setup_id:
        try:
            setup = gateway.retrieve_card_setup(plan.card_setup_id)
        except PaymentGatewayError:
            setup = None
        if setup is not None and setup.status is IntentStatus.REQUIRES_PAYMENT_METHOD:
            return setup
    try:
        customer_id = customer_for(sponsor)
        attempt = db.session.execute(
            update(RenewalPlan)
            .where(RenewalPlan.id == plan.id)
            .values(card_setups=RenewalPlan.card_setups + 1)
            .returning(RenewalPlan.card_setups)
        ).scalar_one()
        setup = gateway.create_card_setup(
            customer_id=customer_id,
            idempotency_key=f"renewal-card-{plan.id}-{attempt}",
            save_card=True,
        )
    except PaymentGatewayError as error:
        log.warning("card setup for renewal plan %s refused: %s", plan.id, error)
        raise RenewalError(UNAVAILABLE) from None
    db.session.refresh(plan, ["card_setups"])
    plan.card_setup_id = setup.id
    db.session.flush()
    return setup


def save_card(plan: RenewalPlan, sponsor: User, setup_intent_id: str) -> None:
    """Keep the card the browser just gave the plan's SetupIntent; the plan becomes active."""
    if plan.status == PlanStatus.STOPPED:
        raise RenewalError(_l("This automatic renewal is stopped. Turn it on again first."))
    if plan.card_setup_id != setup_intent_id:
        raise RenewalError(_l("This card form is out of date. Please reload the page."))
    try:
        setup = gateway_from_config().retrieve_card_setup(setup_intent_id)
        customer_id = customer_for(sponsor)
    except PaymentGatewayError:
        raise RenewalError(UNAVAILABLE) from None
    if (
        setup.customer_id != customer_id
        or setup.status is not IntentStatus.SUCCEEDED
        or not setup.payment_method_id
    ):
        raise RenewalError(_l("The card was not accepted. Please check it and try again."))
    plan.payment_method_id = setup.payment_method_id
    plan.card_setup_id = None
    if plan.status == PlanStatus.NEEDS_CARD:
        plan.transition(PlanStatus.ACTIVE)
    db.session.flush()


# --- pause, resume, stop -------------------------------------------------------------------------


def pause_plan(plan: RenewalPlan) -> None:
    if plan.status != PlanStatus.ACTIVE:
        raise RenewalError(_l("Only an active automatic renewal can be paused."))
    plan.transition(PlanStatus.PAUSED)
    db.session.flush()


def resume_plan(plan: RenewalPlan) -> None:
    if plan.status != PlanStatus.PAUSED or not plan.payment_method_id:
        raise RenewalError(_l("Only a paused automatic renewal can be resumed."))
    plan.transition(PlanStatus.ACTIVE)
    db.session.flush()


def stop_plan(plan: RenewalPlan, *, today: date) -> None:
    """Stop for good: no more charges (open retries are cancelled). Once the worker's paid
    cover ends, they go back to the directory as "needs a sponsor" unless someone else covers
    them (``release_if_uncovered``, also run nightly)."""
    if plan.status not in LIVE_PLAN_STATUSES:
        raise RenewalError(_l("This automatic renewal is already stopped."))
    plan.transition(PlanStatus.STOPPED)
    db.session.execute(
        update(RenewalAttempt)
        .where(
            RenewalAttempt.plan_id == plan.id,
            RenewalAttempt.status.in_(OPEN_ATTEMPT_STATUSES - {AttemptStatus.FAILED}),
        )
        .values(status=AttemptStatus.CANCELLED, next_try_on=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    release_if_uncovered(plan, today=today)


def release_if_uncovered(plan: RenewalPlan, *, today: date) -> bool:
    """Put the worker of a stopped plan back in the directory as "needs a sponsor" once their
    paid cover has ended, unless another sponsor renews them. True when it did."""
    if plan.status != PlanStatus.STOPPED or plan.released_at is not None:
        return False
    until = ledger.covered_until(plan.worker_id)
    if until is not None and until >= today:
        return False
    renewed_by_other = db.session.scalar(
        select(RenewalPlan.id).where(
            RenewalPlan.worker_id == plan.worker_id,
            RenewalPlan.id != plan.id,
            RenewalPlan.status.in_([PlanStatus.ACTIVE, PlanStatus.PAUSED]),
        )
    )
    plan.released_at = utcnow()
    if renewed_by_other is None:
        mark_needs_sponsor(db.session.get(Worker, plan.worker_id))
    db.session.flush()
    return True


# --- reading plans back --------------------------------------------------------------------------


def plan_for(sponsor: User, plan_id: int) -> RenewalPlan | None:
    """The sponsor's own plan; another sponsor's plan is as good as missing."""
    plan = db.session.get(RenewalPlan, plan_id)
    if plan is None or plan.sponsor_id != sponsor.id:
        return None
    return plan


@dataclass(frozen=True)
class PlanRow:
    plan: RenewalPlan
    covered_until: date | None
    next_charge_on: date | None
    last_attempt: RenewalAttempt | None


def sponsor_plans(sponsor: User, *, today: date) -> list[PlanRow]:
    """Every plan of the sponsor with its next charge date and last result (three queries)."""
    plans = list(
        db.session.scalars(
            select(RenewalPlan)
            .where(RenewalPlan.sponsor_id == sponsor.id)
            .options(joinedload(RenewalPlan.worker), joinedload(RenewalPlan.bundle))
            .order_by(RenewalPlan.status, RenewalPlan.created_at.desc())
        )
    )
    if not plans:
        return []
    until = ledger.covered_until_by_worker([plan.worker_id for plan in plans])
    latest: dict[int, RenewalAttempt] = {}
    for attempt in db.session.scalars(
        select(RenewalAttempt)
        .where(RenewalAttempt.plan_id.in_([plan.id for plan in plans]))
        .options(joinedload(RenewalAttempt.order))
        .order_by(RenewalAttempt.period, RenewalAttempt.id)
    ):
        latest[attempt.plan_id] = attempt
    rows = []
    for plan in plans:
        last = latest.get(plan.id)
        rows.append(
            PlanRow(
                plan=plan,
                covered_until=until.get(plan.worker_id),
                next_charge_on=_next_charge(plan, until.get(plan.worker_id), last, today),
                last_attempt=last,
            )
        )
    return rows


def _next_charge(
    plan: RenewalPlan, covered_until: date | None, last: RenewalAttempt | None, today: date
) -> date | None:
    if plan.status != PlanStatus.ACTIVE:
        return None
    if last is not None and last.next_try_on is not None and last.status in OPEN_ATTEMPT_STATUSES:
        return last.next_try_on
    if covered_until is None or covered_until < today:
        return today
    return max(charge_day(covered_until), today)
