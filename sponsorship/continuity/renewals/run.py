"""The nightly renewal run: charge saved cards a few days before cover would lapse.

Exactly once per period: a plan's period is claimed by INSERT … ON CONFLICT DO NOTHING on the
unique (plan, period) of RenewalAttempt, in the transaction that makes the period's normal
Order; the claim commits before Stripe is called (``renewal_charge`` charges it, with one
idempotency key per try). Paying goes through checkout's ``apply_intent`` →
``mark_order_paid`` → fulfillment → ``extend_coverage``, like any order.

This is a job, not a service: it commits after each step (no lock is held while Stripe
answers; a crash loses at most one step).
"""

from datetime import date, timedelta

from sqlalchemy import ColumnElement, or_, select

from core.dates import jakarta_today
from extensions import db
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
    PlanStatus,
    RenewalPlan,
)
from sponsorship.continuity.renewals.services import (
    days_before_lapse,
    release_if_uncovered,
)
from sponsorship.continuity.renewals.wave import CLAIM_CHUNK, claim_periods
from workers.models import Worker

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


def claim_period(plan_id: int, today: date) -> int | None:
    """Claim one plan's next period and make its order (``claim_periods`` for a chunk of one);
    the attempt id, or None when the plan is not due or this period was claimed already (by
    this run, an earlier one, or one running right now). Flushes; the caller commits."""
    claimed = claim_periods([plan_id], today)
    return claimed[0] if claimed else None
