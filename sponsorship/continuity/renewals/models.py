"""Automatic renewal: a sponsor's standing order to pay a worker's next months with a saved card.

A ``RenewalPlan`` is one sponsor × one worker × one bundle, repeated ``months`` at a time. Each
period it pays for (the first month of the months bought) gets one ``RenewalAttempt`` — unique
on (plan, period), so however often or concurrently the nightly run goes, a period is claimed
once. The attempt makes a normal Order; paying it goes through checkout's exactly-once path.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.errors import IllegalTransition
from extensions import UtcDateTime, db, utcnow
from sponsorship.checkout.models import PayerKind


class PlanStatus(StrEnum):
    NEEDS_CARD = "needs_card"  # turned on, waiting for the card to be saved
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


PLAN_TRANSITIONS: dict[PlanStatus, frozenset[PlanStatus]] = {
    PlanStatus.NEEDS_CARD: frozenset({PlanStatus.ACTIVE, PlanStatus.STOPPED}),
    PlanStatus.ACTIVE: frozenset({PlanStatus.PAUSED, PlanStatus.STOPPED}),
    PlanStatus.PAUSED: frozenset({PlanStatus.ACTIVE, PlanStatus.STOPPED}),
    PlanStatus.STOPPED: frozenset({PlanStatus.NEEDS_CARD}),
}
LIVE_PLAN_STATUSES = frozenset({PlanStatus.NEEDS_CARD, PlanStatus.ACTIVE, PlanStatus.PAUSED})


class AttemptStatus(StrEnum):
    CHARGING = "charging"  # claimed; the card is being (or was about to be) charged
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"  # declined; tried again on ``next_try_on``
    ACTION_REQUIRED = "action_required"  # the bank wants the sponsor: pay link sent
    FAILED = "failed"  # no more tries; the sponsor can still pay the order on-session
    CANCELLED = "cancelled"  # the plan stopped or the order was cancelled


ATTEMPT_TRANSITIONS: dict[AttemptStatus, frozenset[AttemptStatus]] = {
    AttemptStatus.CHARGING: frozenset(
        {
            AttemptStatus.SUCCEEDED,
            AttemptStatus.RETRYING,
            AttemptStatus.ACTION_REQUIRED,
            AttemptStatus.FAILED,
        }
    ),
    AttemptStatus.RETRYING: frozenset(
        {
            AttemptStatus.CHARGING,
            AttemptStatus.SUCCEEDED,
            AttemptStatus.FAILED,
            AttemptStatus.CANCELLED,
        }
    ),
    AttemptStatus.ACTION_REQUIRED: frozenset(
        {
            AttemptStatus.CHARGING,
            AttemptStatus.SUCCEEDED,
            AttemptStatus.FAILED,
            AttemptStatus.CANCELLED,
        }
    ),
    AttemptStatus.FAILED: frozenset({AttemptStatus.SUCCEEDED, AttemptStatus.CANCELLED}),
    AttemptStatus.CANCELLED: frozenset({AttemptStatus.SUCCEEDED}),
    AttemptStatus.SUCCEEDED: frozenset(),
}
OPEN_ATTEMPT_STATUSES = frozenset(
    {AttemptStatus.RETRYING, AttemptStatus.ACTION_REQUIRED, AttemptStatus.FAILED}
)


class RenewalPlan(db.Model):
    __tablename__ = "renewal_plans"
    __table_args__ = (
        UniqueConstraint("sponsor_id", "worker_id", "bundle_id", name="uq_renewal_plan"),
        CheckConstraint("months > 0", name="months_positive"),
        Index("ix_renewal_plans_status_worker", "status", "worker_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"))
    months: Mapped[int]
    payer_kind: Mapped[PayerKind] = mapped_column(String(16), default=PayerKind.PERSON)
    # Parts of the bundle the sponsor left out when buying (kept out of every renewal).
    dropped_offer_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[PlanStatus] = mapped_column(String(16), default=PlanStatus.NEEDS_CARD)
    # The saved card (a Stripe PaymentMethod on the sponsor's StripeCustomer) and the
    # SetupIntent the card page hands to Stripe.js, with a counter for its idempotency key.
    payment_method_id: Mapped[str | None] = mapped_column(String(64))
    card_setup_id: Mapped[str | None] = mapped_column(String(64))
    card_setups: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # When the worker went back to the directory as "needs a sponsor" after a stop.
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    worker: Mapped["Worker"] = relationship()  # noqa: F821 (workers.models.Worker)
    bundle: Mapped["Bundle"] = relationship()  # noqa: F821 (bundles.models.Bundle)

    def transition(self, wanted: PlanStatus) -> None:
        """The only way a plan's status changes; raises IllegalTransition otherwise."""
        current = PlanStatus(self.status)
        if wanted not in PLAN_TRANSITIONS[current]:
            raise IllegalTransition("renewal plan", current, wanted)
        self.status = wanted
        if wanted == PlanStatus.STOPPED:
            self.stopped_at = utcnow()
        elif wanted == PlanStatus.NEEDS_CARD:
            self.stopped_at = self.released_at = None
            self.payment_method_id = None


class RenewalAttempt(db.Model):
    """One period of one plan: its order, and every try to charge the saved card for it."""

    __tablename__ = "renewal_attempts"
    __table_args__ = (
        UniqueConstraint("plan_id", "period", name="uq_renewal_attempt_period"),
        Index("ix_renewal_attempts_status_next", "status", "next_try_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("renewal_plans.id"))
    period: Mapped[date] = mapped_column(Date)  # first month bought
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[AttemptStatus] = mapped_column(String(20), default=AttemptStatus.CHARGING)
    tries: Mapped[int] = mapped_column(default=0)
    first_try_on: Mapped[date] = mapped_column(Date)
    next_try_on: Mapped[date | None] = mapped_column(Date)
    payment_intent_id: Mapped[str | None] = mapped_column(String(64))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    plan: Mapped[RenewalPlan] = relationship()
    order: Mapped["Order | None"] = relationship()  # noqa: F821 (checkout_models.Order)


def attempt_may_move(current: AttemptStatus | str, wanted: AttemptStatus) -> bool:
    return wanted in ATTEMPT_TRANSITIONS[AttemptStatus(current)]
