"""Charging the attempts a nightly run just claimed, a group at a time (the run's hot path on
a renewal wave): the same charges, keys and outcomes as ``charge.charge`` one by one, with the
group read in three queries, its Stripe calls made a few at a time (``RENEWAL_CHARGE_THREADS``,
each with its own key; no database work in those threads) and every answer recorded in one
transaction.

Exactly once as before: each try was claimed and committed before Stripe is called, each call
sends the try's own idempotency key, and no transaction is open while Stripe answers.
"""

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from extensions import db, utcnow
from sponsorship.checkout.models import OrderStatus, Payment, StripeCustomer
from sponsorship.continuity.renewals.charge import (
    RunSummary,
    charge,
    idempotency_key,
    record_declined,
    record_paid,
)
from sponsorship.continuity.renewals.models import AttemptStatus, RenewalAttempt
from sponsorship.payments.gateway_types import (
    PaymentDeclined,
    PaymentGatewayError,
    PaymentIntentInfo,
)
from sponsorship.payments.stripe_gateway import StripeGateway, gateway_from_config

__all__ = ["CHARGE_GROUP", "charge_claimed"]

log = logging.getLogger(__name__)

CHARGE_GROUP = 50  # fresh claims charged, then recorded in one transaction
CHARGE_THREADS = 4  # Stripe calls of a group in flight at once (RENEWAL_CHARGE_THREADS)

Answer = tuple[int, PaymentIntentInfo | PaymentDeclined]  # (attempt id, what Stripe said)


def charge_claimed(attempt_ids: list[int], today: date, summary: RunSummary) -> None:
    """Charge the attempts this run just claimed, ``CHARGE_GROUP`` at a time: read the group
    (three queries), end that read transaction, call Stripe for each (its own idempotency key,
    as ``charge``; the calls run while the group before is recorded), then record every answer
    in one transaction. A crash before that commit
    leaves the group CHARGING: resumed later with the same keys, Stripe replays its answers.
    An attempt whose order is no longer simply waiting for this charge (paid or cancelled, a
    payment started on its page, expired, no saved card or no customer yet) takes ``charge``."""
    gateway = gateway_from_config()
    threads = max(1, int(current_app.config.get("RENEWAL_CHARGE_THREADS", CHARGE_THREADS)))
    with ThreadPoolExecutor(threads, thread_name_prefix="renewal-charge") as pool:
        previous: tuple[list[Future[Answer | None]], list[int]] | None = None
        for start in range(0, len(attempt_ids), CHARGE_GROUP):
            fresh, others = _fresh_claims(attempt_ids[start : start + CHARGE_GROUP])
            db.session.commit()  # no transaction open while Stripe answers
            calls = [pool.submit(_charge_saved_card, gateway, *claim) for claim in fresh]
            if previous is not None:  # recorded while this group's calls are in flight
                _finish(*previous, today, summary)
            previous = calls, others
        if previous is not None:
            _finish(*previous, today, summary)


def _finish(
    calls: list[Future[Answer | None]], others: list[int], today: date, summary: RunSummary
) -> None:
    """Record a group's answers in one transaction, then charge its other attempts alone."""
    answers = [answer for call in calls if (answer := call.result()) is not None]
    _record_answers(answers, today, summary)
    db.session.commit()
    for attempt_id in others:
        charge(attempt_id, today, summary)


def _fresh_claims(
    attempt_ids: list[int],
) -> tuple[list[tuple[int, str, dict]], list[int]]:
    attempts = list(
        db.session.scalars(
            select(RenewalAttempt)
            .where(RenewalAttempt.id.in_(attempt_ids))
            .options(joinedload(RenewalAttempt.plan), joinedload(RenewalAttempt.order))
            .order_by(RenewalAttempt.id)
            .execution_options(populate_existing=True)
        ).unique()
    )
    with_payment = set(
        db.session.scalars(
            select(Payment.order_id).where(
                Payment.order_id.in_([a.order_id for a in attempts if a.order_id])
            )
        )
    )
    customers = dict(
        db.session.execute(
            select(StripeCustomer.user_id, StripeCustomer.customer_id).where(
                StripeCustomer.user_id.in_({a.plan.sponsor_id for a in attempts})
            )
        ).all()
    )
    fresh, others = [], []
    for attempt in attempts:
        order, plan = attempt.order, attempt.plan
        if (
            attempt.status != AttemptStatus.CHARGING
            or order is None
            or order.status != OrderStatus.AWAITING_PAYMENT
            or order.id in with_payment
            or (order.expires_at is not None and utcnow() > order.expires_at)
            or not plan.payment_method_id
            or plan.sponsor_id not in customers
        ):
            others.append(attempt.id)
            continue
        params = {
            "customer_id": customers[plan.sponsor_id],
            "payment_method_id": plan.payment_method_id,
            "amount_idr": order.total_idr,
            "metadata": {
                "order_reference": order.reference,
                "order_id": str(order.id),
                "renewal_plan": str(plan.id),
            },
        }
        fresh.append((attempt.id, idempotency_key(attempt), params))
    return fresh, others


def _charge_saved_card(
    gateway: StripeGateway, attempt_id: int, key: str, params: dict
) -> Answer | None:
    """One off-session charge (no database here: it runs in the charging threads); None when
    Stripe could not be reached (the try stays CHARGING and is resumed with the same key)."""
    try:
        return attempt_id, gateway.charge_off_session(idempotency_key=key, **params)
    except PaymentDeclined as declined:
        return attempt_id, declined
    except PaymentGatewayError as error:
        log.warning("renewal %s: Stripe unavailable, resumed later: %s", attempt_id, error)
        return None


def _record_answers(
    answers: list[Answer],
    today: date,
    summary: RunSummary,
) -> None:
    if not answers:
        return
    attempts = {
        attempt.id: attempt
        for attempt in db.session.scalars(
            select(RenewalAttempt)
            .where(RenewalAttempt.id.in_([attempt_id for attempt_id, _answer in answers]))
            .options(joinedload(RenewalAttempt.order))
            .execution_options(populate_existing=True)
        ).unique()
    }
    for attempt_id, answer in answers:
        attempt = attempts[attempt_id]
        if isinstance(answer, PaymentDeclined):
            record_declined(attempt, attempt.order, answer, today)
            summary.declined += 1
        elif record_paid(attempt, attempt.order, answer):
            summary.charged += 1
