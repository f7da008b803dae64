"""Charging a claimed renewal attempt with the saved card, off-session, and what follows: paid
(through checkout's ``apply_intent``), declined (retried on a schedule, the sponsor told), or
the bank wanting the cardholder (the sponsor gets a link to the order's pay page).

A plan without a saved card (most Indonesians have none) is renewed by a reminder instead: a
fresh QRIS code for the renewal order, valid while its prices hold, and a link to its page
(which also offers the VAs and e-wallets); the attempt waits as ACTION_REQUIRED until the
order is paid (``note_paid_orders``).

Every try is claimed by a guarded UPDATE that counts it, and sends Stripe its own idempotency
key ``renewal-<plan>-<period>-<try>``: a run that died during the call resumes the try with the
same key, and Stripe replays its answer instead of charging twice. Called by ``renewal_run``;
commits after each outcome (a job step), never while Stripe answers.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select, update

from accounts.models import User
from extensions import db, utcnow
from sponsorship.checkout.models import (
    PAID_ORDER_STATUSES,
    Order,
    OrderStatus,
)
from sponsorship.checkout.orders import latest_payment
from sponsorship.continuity.renewals.models import (
    OPEN_ATTEMPT_STATUSES,
    AttemptStatus,
    PlanStatus,
    RenewalAttempt,
    RenewalPlan,
    attempt_may_move,
)
from sponsorship.continuity.renewals.notices import notify_failure, notify_pay_link
from sponsorship.payments.declines import decline_text
from sponsorship.payments.gateway_types import (
    PaymentDeclined,
    PaymentGatewayError,
    PaymentIntentInfo,
    PayMethod,
)
from sponsorship.payments.gateways import STRIPE, XENDIT, record_payment
from sponsorship.payments.local import start_local_payment, sync_local_payments
from sponsorship.payments.services import Outcome, PaymentError, apply_intent, customer_for, settle
from sponsorship.payments.stripe_gateway import (
    gateway_from_config,
)

log = logging.getLogger(__name__)

DEFAULT_RETRY_DAYS = (1, 3)  # after the first try; then the run gives up
DEFAULT_STUCK_MINUTES = 10  # a try left "charging" this long is resumed (same key)


@dataclass
class RunSummary:
    claimed: int = 0
    charged: int = 0
    declined: int = 0
    released: int = 0


def _sponsor(plan: RenewalPlan) -> User:
    return db.session.get(User, plan.sponsor_id)


def retry_days() -> tuple[int, ...]:
    return tuple(current_app.config.get("RENEWAL_RETRY_DAYS", DEFAULT_RETRY_DAYS))


def retry_ids(today: date) -> list[int]:
    return list(
        db.session.scalars(
            select(RenewalAttempt.id)
            .join(RenewalPlan, RenewalPlan.id == RenewalAttempt.plan_id)
            .where(
                RenewalAttempt.status.in_([AttemptStatus.RETRYING, AttemptStatus.ACTION_REQUIRED]),
                RenewalAttempt.next_try_on <= today,
                RenewalPlan.status == PlanStatus.ACTIVE,
            )
            .order_by(RenewalAttempt.id)
        )
    )


def claim_retry(attempt_id: int, today: date) -> bool:
    """Take the next try of a declined attempt; of two runs, one gets True."""
    claimed = db.session.execute(
        update(RenewalAttempt)
        .where(
            RenewalAttempt.id == attempt_id,
            RenewalAttempt.status.in_([AttemptStatus.RETRYING, AttemptStatus.ACTION_REQUIRED]),
            RenewalAttempt.next_try_on <= today,
        )
        .values(
            status=AttemptStatus.CHARGING,
            tries=RenewalAttempt.tries + 1,
            next_try_on=None,
            updated_at=utcnow(),
        )
        .returning(RenewalAttempt.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return claimed is not None


def _stuck_cutoff() -> datetime:
    minutes = current_app.config.get("RENEWAL_STUCK_MINUTES", DEFAULT_STUCK_MINUTES)
    return utcnow() - timedelta(minutes=minutes)


def stuck_ids() -> list[int]:
    return list(
        db.session.scalars(
            select(RenewalAttempt.id).where(
                RenewalAttempt.status == AttemptStatus.CHARGING,
                RenewalAttempt.updated_at < _stuck_cutoff(),
            )
        )
    )


def claim_stuck(attempt_id: int) -> bool:
    claimed = db.session.execute(
        update(RenewalAttempt)
        .where(
            RenewalAttempt.id == attempt_id,
            RenewalAttempt.status == AttemptStatus.CHARGING,
            RenewalAttempt.updated_at < _stuck_cutoff(),
        )
        .values(updated_at=utcnow())
        .returning(RenewalAttempt.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return claimed is not None


def charge(attempt_id: int, today: date, summary: RunSummary) -> None:
    """Charge the saved card for a claimed attempt (status CHARGING) and commit the outcome.
    A gateway error leaves it CHARGING: it is resumed later with the same idempotency key."""
    attempt = db.session.get(RenewalAttempt, attempt_id, populate_existing=True)
    order = db.session.get(Order, attempt.order_id, populate_existing=True)
    plan = attempt.plan
    if _settled_elsewhere(attempt, order, today):
        db.session.commit()
        return
    if not plan.payment_method_id:
        _send_pay_link(attempt, order)
        return
    try:
        intent = gateway_from_config().charge_off_session(
            customer_id=customer_for(_sponsor(plan)),
            payment_method_id=plan.payment_method_id,
            amount_idr=order.total_idr,
            idempotency_key=idempotency_key(attempt),
            metadata={
                "order_reference": order.reference,
                "order_id": str(order.id),
                "renewal_plan": str(plan.id),
            },
        )
    except PaymentDeclined as declined:
        record_declined(attempt, order, declined, today)
        summary.declined += 1
        db.session.commit()
        return
    except PaymentGatewayError as error:
        log.warning("renewal %s: Stripe unavailable, resumed later: %s", attempt.id, error)
        db.session.rollback()
        return
    if record_paid(attempt, order, intent):
        summary.charged += 1
    db.session.commit()


def idempotency_key(attempt: RenewalAttempt) -> str:
    return f"renewal-{attempt.plan_id}-{attempt.period:%Y-%m}-{attempt.tries}"


def record_paid(attempt: RenewalAttempt, order: Order, intent: PaymentIntentInfo) -> bool:
    payment = record_payment(
        order.id,
        gateway=STRIPE,
        provider_payment_id=intent.id,
        amount_idr=intent.amount_idr,
        attempts=1,
    )
    result = apply_intent(order, payment, intent)
    attempt.payment_intent_id = intent.id
    if result.outcome is Outcome.SUCCEEDED:
        _move(attempt, AttemptStatus.SUCCEEDED)
        return True
    return False


def _settled_elsewhere(attempt: RenewalAttempt, order: Order, today: date) -> bool:
    """True when no off-session charge may be made: the order was paid or cancelled, its
    prices expired, or the sponsor opened its pay page (they pay it on-session now)."""
    if order.is_paid:
        _move(attempt, AttemptStatus.SUCCEEDED)
        return True
    if order.status == OrderStatus.CANCELLED:
        _move(attempt, AttemptStatus.CANCELLED)
        return True
    if order.expires_at is not None and utcnow() > order.expires_at:
        _move(attempt, AttemptStatus.FAILED)
        return True
    payment = latest_payment(order)
    if payment is None:
        return False
    try:
        if payment.gateway == XENDIT:  # a pay link was sent, or the sponsor chose QRIS/VA
            outcome = sync_local_payments(order)
        else:
            outcome = settle(order, payment).outcome
    except PaymentError:
        outcome = Outcome.UNPAID
    if outcome is Outcome.SUCCEEDED:
        _move(attempt, AttemptStatus.SUCCEEDED)
    else:
        _move(attempt, AttemptStatus.ACTION_REQUIRED)
    return True


def _send_pay_link(attempt: RenewalAttempt, order: Order) -> None:
    """No saved card: a QRIS code for the order, lasting while its prices hold, and a message
    with the link to it. Xendit unavailable: the attempt stays claimed and is resumed later
    (the same idempotency key gives the same code)."""
    try:
        payment = start_local_payment(order, PayMethod.QRIS, "QRIS", expires_at=order.expires_at)
    except PaymentError as refused:
        log.warning("renewal %s: no pay link, resumed later: %s", attempt.id, refused)
        db.session.rollback()
        return
    _move(attempt, AttemptStatus.ACTION_REQUIRED)
    notify_pay_link(attempt.plan, period=attempt.period, order=order, payment_id=payment.id)
    db.session.commit()


def record_declined(
    attempt: RenewalAttempt, order: Order, declined: PaymentDeclined, today: date
) -> None:
    schedule = retry_days()
    authenticate = declined.decline_code == "authentication_required"
    attempt.failure_code = (declined.decline_code or "")[:64] or None
    # Our words, never Stripe's; kept in Payung's default language (jobs have no request).
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        attempt.failure_message = str(decline_text(declined.decline_code))[:200]
    attempt.payment_intent_id = declined.payment_intent_id
    if attempt.tries <= len(schedule):
        _move(attempt, AttemptStatus.ACTION_REQUIRED if authenticate else AttemptStatus.RETRYING)
        attempt.next_try_on = max(
            attempt.first_try_on + timedelta(days=schedule[attempt.tries - 1]),
            today + timedelta(days=1),
        )
    else:
        _move(attempt, AttemptStatus.FAILED)
    if authenticate and declined.payment_intent_id:
        # The intent waits for an absent cardholder: close it, so that only the pay page's
        # intent (or the next try) can ever take the money.
        try:
            gateway_from_config().cancel_payment_intent(declined.payment_intent_id)
        except PaymentGatewayError as error:
            log.info("renewal %s: intent not cancelled: %s", attempt.id, error)
    notify_failure(
        attempt.plan,
        period=attempt.period,
        order=order,
        reason=decline_text(declined.decline_code),  # in the sponsor's language
        authenticate=authenticate,
        next_try_on=attempt.next_try_on,
    )


def _move(attempt: RenewalAttempt, wanted: AttemptStatus) -> None:
    if attempt.status == wanted or not attempt_may_move(attempt.status, wanted):
        return
    attempt.status = wanted
    if wanted not in OPEN_ATTEMPT_STATUSES:
        attempt.next_try_on = None
    attempt.updated_at = utcnow()
    db.session.flush()


def note_paid_orders() -> None:
    """Attempts whose order the sponsor paid on the pay page count as succeeded."""
    db.session.execute(
        update(RenewalAttempt)
        .where(
            RenewalAttempt.status.in_(OPEN_ATTEMPT_STATUSES | {AttemptStatus.CANCELLED}),
            RenewalAttempt.order_id.in_(
                select(Order.id).where(Order.status.in_(PAID_ORDER_STATUSES))
            ),
        )
        .values(status=AttemptStatus.SUCCEEDED, next_try_on=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
