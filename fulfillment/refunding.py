"""Giving the sponsor back a part that failed or was voided.

The refund job locks the item and refunds exactly that part (``sponsorship.payments.refunds``, which
never refunds a part twice). A payment provider that cannot be reached is retried with backoff;
anything else (no payment to refund, more than was paid) waits for an admin.
"""

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from core.locking import lock_row
from extensions import db
from fulfillment import clock
from fulfillment.issuers.partner_client import backoff_delay
from fulfillment.models import (
    NEEDS_REFUND,
    EventKind,
    FulfillmentEvent,
    FulfillmentItem,
    ItemStatus,
)
from fulfillment.services import (
    DUE_TOLERANCE,
    AttemptResult,
    close_refunded,
    finish_attempt,
    order_refunded,
)
from jobs import enqueue_after_commit
from sponsorship.checkout.models import OrderLinePart
from sponsorship.payments.refunds import RefundError, refund_order_line_part

log = logging.getLogger(__name__)


def _initiator(item: FulfillmentItem) -> int | None:
    """Whoever voided the item (an admin) is the refund's author; None for the system."""
    if item.status != ItemStatus.VOIDED:
        return None
    return db.session.scalar(
        select(FulfillmentEvent.actor_id)
        .where(FulfillmentEvent.item_id == item.id, FulfillmentEvent.kind == EventKind.VOIDED)
        .order_by(FulfillmentEvent.id.desc())
        .limit(1)
    )


def refund_item(item_id: int, *, force: bool = False) -> AttemptResult | None:
    item = lock_row(FulfillmentItem, item_id)
    if item is None or item.status not in NEEDS_REFUND:
        return None
    now = clock.now()
    due = item.next_attempt_at is not None and item.next_attempt_at <= now + DUE_TOLERANCE
    if not (due or force):
        return None
    if order_refunded(item):
        close_refunded(item, now=now)
        return finish_attempt(item, now)
    part = db.session.get(OrderLinePart, item.order_line_part_id)
    assert part is not None
    reason = f"Part not delivered ({item.status}): {item.last_error or 'voided'}"
    refund = None
    if part.amount_idr > 0:
        try:
            refund = refund_order_line_part(part, reason=reason, actor_id=_initiator(item))
        except RefundError as error:
            _refund_failed(item, error, now)
            return finish_attempt(item, now)
    item.next_attempt_at = None
    item.settled_at = now
    item.transition(
        ItemStatus.REFUNDED,
        EventKind.REFUNDED,
        reason=reason,
        data={
            "refund_id": refund.id if refund else None,
            "amount_idr": refund.amount_idr if refund else 0,
            "provider_refund_id": refund.provider_refund_id if refund else None,
        },
    )
    return finish_attempt(item, now)


def _refund_failed(item: FulfillmentItem, error: RefundError, now: datetime) -> None:
    config = current_app.config
    item.refund_attempts += 1
    retry = (
        error.code == "gateway" and item.refund_attempts < config["FULFILLMENT_REFUND_MAX_ATTEMPTS"]
    )
    if retry:
        delay = backoff_delay(
            item.refund_attempts,
            base=float(config["FULFILLMENT_RETRY_BASE_S"]),
            cap=float(config["FULFILLMENT_RETRY_CAP_S"]),
        )
        item.next_attempt_at = now + timedelta(seconds=delay)
        if not current_app.config["CELERY"].get("task_always_eager"):
            enqueue_after_commit("fulfillment.refund_item", item.id, countdown=delay)
    else:
        item.next_attempt_at = None  # an admin must look: retry, substitute or void
    log.warning("refund of item %s failed: %s", item.id, error.code)
    item.record(
        EventKind.REFUND_FAILED,
        reason=str(error),
        data={"code": error.code, "refund_attempt": item.refund_attempts, "will_retry": retry},
    )


def record_refund_crash(item_id: int, error: RefundError) -> None:
    item = lock_row(FulfillmentItem, item_id)
    if item is None or item.status not in NEEDS_REFUND:
        return
    _refund_failed(item, error, clock.now())
    db.session.flush()
