"""Issuing every part of every paid order line, exactly once.

``start_fulfillment`` runs inside the transaction that marks the order paid: one item per part,
each with its idempotency key; after the commit the items go to chunk jobs
(``fulfillment.batches``). An attempt re-reads and locks its item, lets the issuer for its
method work, and records the outcome — issued, waiting for the partner, retry later (with
backoff), or failed (then refunded). A settled line gets its claim code; a settled order is
fulfilled. Services flush; jobs commit.
"""

import json
import logging
import random
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, insert, select

from bundles.models import Offer
from core.locking import lock_row
from extensions import db
from fulfillment import clock
from fulfillment.enqueueing import enqueue_together
from fulfillment.issuers import (
    AwaitingPartner,
    CannotIssue,
    IssueContext,
    Issued,
    RetryLater,
    issuer_for,
)
from fulfillment.issuers.partner_client import backoff_delay
from fulfillment.models import (
    IN_PROGRESS,
    UNSETTLED,
    ClaimCode,
    EventKind,
    FulfillmentEvent,
    FulfillmentItem,
    ItemStatus,
)
from fulfillment.progress import OrderProgress, order_progress
from fulfillment.settling import settle_lines
from jobs import enqueue_after_commit, task
from sponsorship.checkout.models import Order, OrderLine, OrderLinePart, OrderStatus
from vault import encrypt
from workers.models import Worker

log = logging.getLogger(__name__)

DUE_TOLERANCE = timedelta(seconds=1)
CHUNK_SIZE = 200  # items per chunk job (fulfillment.batches)
SCHEDULED_IN_CHUNK = "payung_scheduled_in_chunk"


__all__ = ["OrderProgress", "order_progress", "start_fulfillment"]


class FulfillmentError(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


@dataclass(frozen=True)
class AttemptResult:
    item_id: int
    order_id: int
    status: ItemStatus
    next_attempt_at: datetime | None

    @property
    def is_settled(self) -> bool:
        return self.status not in UNSETTLED


def new_item_key() -> str:
    return f"pyg_{secrets.token_hex(12)}"


# --- start --------------------------------------------------------------------------------


def start_fulfillment(order: Order) -> list[FulfillmentItem]:
    """Create one item per part of the paid ``order`` (none twice: ``order_line_part_id`` is
    unique) and move the order to FULFILLING; the jobs are enqueued after the commit.

    Idempotent: a second call creates nothing and returns the existing items. Raises
    FulfillmentError("order_not_paid") for an order that is not paid.
    """
    if order.status not in (OrderStatus.PAID, OrderStatus.FULFILLING, OrderStatus.FULFILLED):
        raise FulfillmentError("order_not_paid", f"order {order.id} is {order.status}")
    now = clock.now()
    missing = db.session.execute(
        select(
            OrderLinePart.id,
            OrderLinePart.line_id,
            OrderLinePart.offer_id,
            Offer.fulfillment_method,
        )
        .join(OrderLine, OrderLine.id == OrderLinePart.line_id)
        .join(Offer, Offer.id == OrderLinePart.offer_id)
        .where(
            OrderLine.order_id == order.id,
            ~exists().where(FulfillmentItem.order_line_part_id == OrderLinePart.id),
        )
        .order_by(OrderLinePart.id)
    ).all()
    created: list[FulfillmentItem] = []
    if missing:
        rows = [
            {
                "order_id": order.id,
                "order_line_id": line_id,
                "order_line_part_id": part_id,
                "offer_id": offer_id,
                "method": str(method),
                "status": ItemStatus.PENDING,
                "idempotency_key": new_item_key(),
                "next_attempt_at": now,
                "delivery": {},
                "created_at": now,
                "updated_at": now,
            }
            for part_id, line_id, offer_id, method in missing
        ]
        created = list(db.session.scalars(insert(FulfillmentItem).returning(FulfillmentItem), rows))
        db.session.execute(
            insert(FulfillmentEvent),
            [
                {
                    "item_id": item.id,
                    "kind": EventKind.CREATED,
                    "from_status": ItemStatus.PENDING,
                    "to_status": ItemStatus.PENDING,
                    "reason": "order paid",
                    "data": {},
                    "created_at": now,
                }
                for item in created
            ],
        )
    if order.status == OrderStatus.PAID:
        order.transition(OrderStatus.FULFILLING)
    db.session.flush()
    if created:
        enqueue_together([item.id for item in created], enqueue_items)
    else:
        complete_order_if_settled(order.id)
    return list(
        db.session.scalars(
            select(FulfillmentItem)
            .where(FulfillmentItem.order_id == order.id)
            .order_by(FulfillmentItem.id)
        )
    )


def enqueue_items(item_ids: list[int], *, countdown: float | None = None) -> None:
    """One chunk job (``fulfillment.issue_chunk``) per ``chunk_size()`` items."""
    size = chunk_size()
    for chunk in (item_ids[i : i + size] for i in range(0, len(item_ids), size)):
        task("fulfillment.issue_chunk").apply_async((chunk,), countdown=countdown)


def chunk_size() -> int:
    return int(current_app.config.get("FULFILLMENT_CHUNK_SIZE") or CHUNK_SIZE)


def schedule_attempt(item_id: int, at: datetime) -> None:
    """Run the item's job at ``at`` (after the commit). With eager jobs nothing waits in a
    queue, so the sweeper (``flask fulfillment sweep``) runs due retries instead."""
    if current_app.config["CELERY"].get("task_always_eager"):
        return
    collected = db.session.info.get(SCHEDULED_IN_CHUNK)
    if collected is not None:
        collected.append((item_id, at))  # a chunk enqueues its next attempts together
        return
    delay = max(0.0, (at - clock.now()).total_seconds())
    enqueue_after_commit("fulfillment.issue_item", item_id, countdown=delay)


def schedule_refund(item_id: int) -> None:
    enqueue_after_commit("fulfillment.refund_item", item_id)


# --- one attempt --------------------------------------------------------------------------


def attempt_item(
    item_id: int, *, force: bool = False, reconcile: bool | None = None
) -> AttemptResult | None:
    """Lock the item and, if it is due, make one attempt; None when there was nothing to do
    (already settled, not due yet, or another job holds it). ``reconcile`` (default: whether
    an earlier call's note is on the item) makes the issuer ask the partner first."""
    item = lock_row(FulfillmentItem, item_id, skip_locked=True)
    if item is None or item.status not in IN_PROGRESS:
        return None
    now = clock.now()
    if not force and item.next_attempt_at and item.next_attempt_at > now + DUE_TOLERANCE:
        return None
    context, order_status = _context(item, now)
    if reconcile is None:
        reconcile = item.partner_call_started_at is not None
    context = replace(context, reconcile=reconcile)
    return attempt_locked(context, order_status, now)


def attempt_locked(
    context: IssueContext, order_status: str, now: datetime, *, settle: bool = True
) -> AttemptResult:
    """One attempt at the locked ``context.item``, its issuer in a savepoint. A chunk passes
    ``settle=False`` and settles its lines once for all its parts."""
    item = context.item
    if order_status == OrderStatus.REFUNDED:
        close_refunded(item, now=now)
        return finish_attempt(item, now, settle=settle)
    item.last_attempt_at = now
    try:
        # A savepoint: whatever the issuer wrote is undone if it raises.
        with db.session.begin_nested():
            outcome = issuer_for(item.method).issue(context)
    except RetryLater as later:
        retry_later(item, later, now)
    except CannotIssue as never:
        fail_item(item, never.code, never.reason, now=now)
    else:
        apply_outcome(item, outcome, now=now)
    return finish_attempt(item, now, settle=settle)


def order_refunded(item: FulfillmentItem) -> bool:
    status = db.session.scalar(select(Order.status).where(Order.id == item.order_id))
    return status == OrderStatus.REFUNDED


def close_refunded(item: FulfillmentItem, *, now: datetime) -> None:
    """The whole order was refunded: this part is closed without being issued (its money
    went back with the order's refund)."""
    item.next_attempt_at = None
    item.settled_at = now
    item.partner_call_started_at = None
    item.transition(ItemStatus.REFUNDED, EventKind.REFUNDED, reason="the whole order was refunded")


def _context(item: FulfillmentItem, now: datetime) -> tuple[IssueContext, str]:
    """Everything the issuer reads, and the order's status, in one query."""
    part, line, offer, worker, order_status = db.session.execute(
        select(OrderLinePart, OrderLine, Offer, Worker, Order.status)
        .join(OrderLine, OrderLine.id == OrderLinePart.line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Worker, Worker.id == OrderLine.worker_id)
        .join(Offer, Offer.id == item.offer_id)
        .where(OrderLinePart.id == item.order_line_part_id)
    ).one()
    context = IssueContext(item=item, part=part, line=line, offer=offer, worker=worker, now=now)
    return context, order_status


def apply_outcome(
    item: FulfillmentItem, outcome: Issued | AwaitingPartner, *, now: datetime
) -> None:
    item.partner_call_started_at = None  # the partner's answer is recorded now
    if isinstance(outcome, Issued):
        _issued(item, outcome, now)
    else:
        _awaiting(item, outcome, now)


def _issued(item: FulfillmentItem, outcome: Issued, now: datetime) -> None:
    item.total_attempts += 1
    item.partner_reference = outcome.partner_reference or item.partner_reference
    item.delivery = outcome.delivery
    item.delivery_encrypted = encrypt(json.dumps(outcome.secret)) if outcome.secret else None
    item.issued_at = item.settled_at = now
    item.next_attempt_at = None
    item.last_error = None
    item.transition(
        ItemStatus.ISSUED,
        EventKind.ISSUED,
        data={"partner_reference": item.partner_reference, **outcome.event_data},
    )


def _awaiting(item: FulfillmentItem, outcome: AwaitingPartner, now: datetime) -> None:
    config = current_app.config
    item.partner_reference = outcome.partner_reference
    if item.status != ItemStatus.AWAITING_PARTNER:
        item.total_attempts += 1
        item.awaiting_since = item.awaiting_since or now
        item.transition(
            ItemStatus.AWAITING_PARTNER,
            EventKind.AWAITING_PARTNER,
            data={"partner_reference": outcome.partner_reference, **outcome.event_data},
        )
    if outcome.batch_id:
        item.partner_batch_id = outcome.batch_id
    waited = (now - (item.awaiting_since or now)).total_seconds()
    if waited > config["FULFILLMENT_PENDING_MAX_S"]:
        fail_item(item, "partner_pending_too_long", f"still pending after {waited:.0f}s", now=now)
        return
    if outcome.poll_after_s is not None:
        # The batch's callback is expected: one fallback poll for the whole batch, at the
        # same second for all its parts (no jitter), so a chunk job polls them together.
        item.next_attempt_at = now + timedelta(seconds=outcome.poll_after_s)
    else:
        interval = float(config["FULFILLMENT_POLL_INTERVAL_S"])
        jitter = random.uniform(1.0, 1.2)  # noqa: S311
        item.next_attempt_at = now + timedelta(seconds=interval * jitter)
    schedule_attempt(item.id, item.next_attempt_at)


def retry_later(item: FulfillmentItem, later: RetryLater, now: datetime) -> None:
    config = current_app.config
    item.attempts += 1
    item.total_attempts += 1
    item.last_error = f"{later.code}: {later.reason}"[:300]
    if item.attempts >= config["FULFILLMENT_MAX_ATTEMPTS"]:
        fail_item(
            item, later.code, f"gave up after {item.attempts} attempts: {later.reason}", now=now
        )
        return
    delay = backoff_delay(
        item.attempts,
        base=float(config["FULFILLMENT_RETRY_BASE_S"]),
        cap=float(config["FULFILLMENT_RETRY_CAP_S"]),
    )
    delay = max(delay, later.retry_after or 0.0)
    item.next_attempt_at = now + timedelta(seconds=delay)
    item.transition(
        ItemStatus.RETRYING,
        EventKind.RETRY_SCHEDULED,
        reason=later.reason,
        data={"code": later.code, "attempt": item.attempts, "retry_in_s": round(delay, 1)},
    )
    schedule_attempt(item.id, item.next_attempt_at)


def fail_item(item: FulfillmentItem, code: str, reason: str, *, now: datetime) -> None:
    """The part cannot be issued: it fails, and its refund is due at once."""
    item.last_error = f"{code}: {reason}"[:300]
    item.next_attempt_at = now
    item.partner_call_started_at = None
    item.settled_at = None
    item.failed_at = now
    item.admin_notified_at = None
    item.transition(ItemStatus.FAILED, EventKind.FAILED, reason=reason, data={"code": code})
    schedule_refund(item.id)


def finish_attempt(item: FulfillmentItem, now: datetime, *, settle: bool = True) -> AttemptResult:
    if settle:
        if item.status not in IN_PROGRESS:
            settle_line(item.order_line_id, now=now)
        db.session.flush()
    return AttemptResult(item.id, item.order_id, ItemStatus(item.status), item.next_attempt_at)


def record_crash(item_id: int, error: BaseException) -> None:
    """An attempt died on something unexpected (a bug, the database): count it like a
    transient failure so the item is retried and, in the end, fails and is refunded."""
    item = lock_row(FulfillmentItem, item_id)
    if item is None or item.status not in IN_PROGRESS:
        return
    retry_later(item, RetryLater("internal_error", type(error).__name__), clock.now())
    finish_attempt(item, clock.now())


# --- lines and orders ---------------------------------------------------------------------


def settle_line(line_id: int, *, now: datetime) -> ClaimCode | None:
    """Once no part of the line is in progress and at least one was issued, make the line's
    claim code (once) and send it after the commit: ``settle_lines`` for one line, so the
    single path writes codes and messages as the batches do (one delivery job)."""
    made = settle_lines([line_id], now=now)
    return made[0] if made else None


def complete_order_if_settled(order_id: int) -> bool:
    """Move a FULFILLING order to FULFILLED when every item is issued or refunded. Called after
    an item's commit, so of two items finishing together the later one sees both."""
    unsettled = db.session.scalar(
        select(
            exists().where(
                FulfillmentItem.order_id == order_id, FulfillmentItem.status.in_(UNSETTLED)
            )
        )
    )
    if unsettled:
        return False
    order = lock_row(Order, order_id)
    if order is None or order.status != OrderStatus.FULFILLING:
        return False
    order.transition(OrderStatus.FULFILLED)
    db.session.flush()
    return True
