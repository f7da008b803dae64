"""The safety net: find what should have happened and did not, and make it happen.

Run by Celery beat (``fulfillment.sweep``) and by ``flask fulfillment sweep`` for cron. It
re-enqueues items overdue by more than ``FULFILLMENT_STUCK_AFTER_S`` (a job lost with its
worker, a retry whose queued task vanished), refunds that are due, claim codes and order
completions a crash skipped, messages never delivered, and sends the failure digests. With
eager jobs (no broker) the grace is 0: the sweeper is then what runs retries.
"""

from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

from extensions import db
from fulfillment import clock, notices
from fulfillment.models import (
    IN_PROGRESS,
    NEEDS_REFUND,
    UNSETTLED,
    ClaimCode,
    FulfillmentItem,
    ItemStatus,
)
from fulfillment.services import chunk_size, complete_order_if_settled
from fulfillment.settling import settle_lines
from jobs import on_commit, task
from messaging.delivery import ONE_TIME_CODE_PURPOSES
from messaging.models import Message, MessageStatus
from sponsorship.checkout.models import Order, OrderStatus

MESSAGE_GRACE = timedelta(seconds=60)
# A one-time code works for OTP_TTL_SECONDS (5 minutes): its SMS, lost at the publish (the
# broker down), is worth sending only within them (after them delivery drops it), so it waits
# only MESSAGE_GRACE, not the items' grace (messaging.delivery.ONE_TIME_CODE_PURPOSES). Enqueued
# twice at worst (a slow queue): the delivery job sends a message once.


@dataclass
class SweepReport:
    items_enqueued: int = 0
    refunds_enqueued: int = 0
    claim_codes_sent: int = 0
    orders_completed: int = 0
    messages_enqueued: int = 0
    notices_sent: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def grace() -> timedelta:
    if current_app.config["CELERY"].get("task_always_eager"):
        return timedelta(0)
    return timedelta(seconds=float(current_app.config["FULFILLMENT_STUCK_AFTER_S"]))


def sweep(*, now: datetime | None = None, limit: int | None = None) -> SweepReport:
    now = now or clock.now()
    limit = limit or int(current_app.config["FULFILLMENT_SWEEP_LIMIT"])
    deadline = now - grace()
    report = SweepReport()

    item_ids = _overdue(IN_PROGRESS, deadline, limit)
    refund_ids = _overdue(NEEDS_REFUND, deadline, limit)
    message_ids = _undelivered(now - max(grace(), MESSAGE_GRACE), limit, urgent=now - MESSAGE_GRACE)
    report.items_enqueued, report.refunds_enqueued = len(item_ids), len(refund_ids)
    report.messages_enqueued = len(message_ids)

    # Together: one INSERT of messages, one of codes, one delivery job.
    report.claim_codes_sent = len(settle_lines(_lines_missing_claim_code(limit), now=now))
    for order_id in _orders_all_settled(limit):
        if complete_order_if_settled(order_id):
            report.orders_completed += 1
    report.notices_sent = notices.send_failure_notices(now=now)

    def enqueue() -> None:
        size = chunk_size()
        for start in range(0, len(item_ids), size):  # on as chunks
            task("fulfillment.issue_chunk").delay(item_ids[start : start + size])
        for item_id in refund_ids:
            task("fulfillment.refund_item").delay(item_id)
        for message_id in message_ids:
            task("fulfillment.deliver_message").delay(message_id)

    on_commit(enqueue)
    db.session.flush()
    return report


def _overdue(statuses: frozenset[ItemStatus], deadline: datetime, limit: int) -> list[int]:
    return list(
        db.session.scalars(
            select(FulfillmentItem.id)
            .where(
                FulfillmentItem.status.in_(statuses),
                FulfillmentItem.next_attempt_at <= deadline,
            )
            .order_by(FulfillmentItem.next_attempt_at)
            .limit(limit)
        )
    )


def _undelivered(before: datetime, limit: int, *, urgent: datetime | None = None) -> list[int]:
    """Queued messages made before ``before``; one-time codes' made before ``urgent``."""
    due = Message.created_at <= before
    if urgent is not None:
        due = due | (Message.purpose.in_(ONE_TIME_CODE_PURPOSES) & (Message.created_at <= urgent))
    return list(
        db.session.scalars(
            select(Message.id)
            .where(
                due,
                # Failed is final now: provider errors that may pass stay queued, with a
                # backoff (messaging.delivery), so a failed or opted-out row is never re-sent.
                Message.status == MessageStatus.QUEUED,
            )
            .order_by(Message.id)
            .limit(limit)
        )
    )


def _lines_missing_claim_code(limit: int) -> list[int]:
    sibling = aliased(FulfillmentItem)
    return list(
        db.session.scalars(
            select(FulfillmentItem.order_line_id)
            .join(Order, Order.id == FulfillmentItem.order_id)
            .where(
                Order.status == OrderStatus.FULFILLING,
                FulfillmentItem.status == ItemStatus.ISSUED,
                ~exists().where(ClaimCode.order_line_id == FulfillmentItem.order_line_id),
                ~exists().where(
                    and_(
                        sibling.order_line_id == FulfillmentItem.order_line_id,
                        sibling.status.in_(IN_PROGRESS),
                    )
                ),
            )
            .distinct()
            .limit(limit)
        )
    )


def _orders_all_settled(limit: int) -> list[int]:
    return list(
        db.session.scalars(
            select(Order.id)
            .where(
                Order.status == OrderStatus.FULFILLING,
                ~exists().where(
                    FulfillmentItem.order_id == Order.id, FulfillmentItem.status.in_(UNSETTLED)
                ),
            )
            .limit(limit)
        )
    )
