"""Claiming a chunk of items, noting its partner calls, and issuing it in one transaction.

``note_chunk`` runs first and commits on its own: the partner calls the chunk is about to make
are noted on their items (``partner_call_started_at``, one UPDATE), so a worker killed during
the calls leaves the notes and the next attempt asks the partner before calling again (see
``fulfillment.partners.reconcile``). ``run_chunk`` then issues the chunk: code-pool parts together
(``pool``), the others each in a savepoint (``services.attempt_locked``), and settles the lines
once. Items another worker holds are skipped; that worker issues them.
"""

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select, update

from bundles.models import FulfillmentMethod, Offer
from core.locking import begin_write, is_sqlite
from extensions import db
from fulfillment import clock, services
from fulfillment.batches.dues import issue_dues
from fulfillment.batches.outcomes import Outcome, takes_batches
from fulfillment.batches.pool import issue_pool_parts
from fulfillment.batches.telco import issue_topups
from fulfillment.issuers import CannotIssue, IssueContext, RetryLater
from fulfillment.issuers.endpoints import api_for
from fulfillment.models import IN_PROGRESS, FulfillmentItem
from fulfillment.partners.reconcile import PARTNER_METHODS
from fulfillment.settling import settle_lines
from sponsorship.checkout.models import Order, OrderLine, OrderLinePart, OrderStatus
from workers.models import Worker


@dataclass
class ChunkResult:
    attempted: int = 0
    settled_orders: set[int] = field(default_factory=set)
    next_attempts: list[tuple[int, datetime]] = field(default_factory=list)


def claim_chunk(item_ids: Sequence[int], now: datetime) -> list[FulfillmentItem]:
    """The chunk's items that are in progress and due, re-read and locked until the commit:
    ``FOR NO KEY UPDATE SKIP LOCKED`` on PostgreSQL (another worker's items are left to it);
    on SQLite the transaction takes the write lock first."""
    statement = (
        select(FulfillmentItem)
        .where(
            FulfillmentItem.id.in_(list(item_ids)),
            FulfillmentItem.status.in_(IN_PROGRESS),
            or_(
                FulfillmentItem.next_attempt_at.is_(None),
                FulfillmentItem.next_attempt_at <= now + services.DUE_TOLERANCE,
            ),
        )
        .order_by(FulfillmentItem.id)
        .execution_options(populate_existing=True)
    )
    if is_sqlite():
        begin_write()
    else:
        statement = statement.with_for_update(skip_locked=True, key_share=True)
    return list(db.session.scalars(statement))


def note_chunk(item_ids: Sequence[int]) -> tuple[list[int], set[int]]:
    """Note the partner calls about to be made (the caller commits). Returns the ids this job
    claimed (only those are attempted next: an item another worker held may be mid-call) and
    those whose earlier note is still there: their attempt must reconcile first."""
    now = clock.now()
    reconcile: set[int] = set()
    to_note: list[int] = []
    claimed = claim_chunk(item_ids, now)
    for item in claimed:
        if item.method not in PARTNER_METHODS:
            continue
        if item.partner_call_started_at is not None:
            reconcile.add(item.id)
        elif not item.partner_reference:
            to_note.append(item.id)  # a poll only reads what the partner already has
    if to_note:
        db.session.execute(
            update(FulfillmentItem)
            .where(FulfillmentItem.id.in_(to_note))
            .values(partner_call_started_at=now)
            .execution_options(synchronize_session=False)
        )
    return [item.id for item in claimed], reconcile


def issue_contexts(
    items: Sequence[FulfillmentItem], now: datetime, reconcile: set[int]
) -> list[tuple[IssueContext, str]]:
    """Every item's issue context and its order's status, in one query."""
    by_id = {item.id: item for item in items}
    rows = db.session.execute(
        select(FulfillmentItem.id, OrderLinePart, OrderLine, Offer, Worker, Order.status)
        .join(OrderLinePart, OrderLinePart.id == FulfillmentItem.order_line_part_id)
        .join(OrderLine, OrderLine.id == OrderLinePart.line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Worker, Worker.id == OrderLine.worker_id)
        .join(Offer, Offer.id == FulfillmentItem.offer_id)
        .where(FulfillmentItem.id.in_(list(by_id)))
        .order_by(FulfillmentItem.id)
    ).all()
    return [
        (
            IssueContext(
                item=by_id[item_id],
                part=part,
                line=line,
                offer=offer,
                worker=worker,
                now=now,
                reconcile=item_id in reconcile,
            ),
            order_status,
        )
        for item_id, part, line, offer, worker, order_status in rows
    ]


def run_chunk(item_ids: Sequence[int], reconcile: set[int]) -> ChunkResult:
    """Issue the chunk's due items in this transaction (the caller commits)."""
    now = clock.now()
    result = ChunkResult()
    items = claim_chunk(item_ids, now)
    if not items:
        return result
    db.session.info[services.SCHEDULED_IN_CHUNK] = result.next_attempts
    try:
        contexts = issue_contexts(items, now, reconcile)
        outcomes = _batched_outcomes(contexts)
        for ctx, order_status in contexts:
            if ctx.item.id not in outcomes:  # single call, in its own savepoint
                services.attempt_locked(ctx, order_status, now, settle=False)
        # The batched outcomes by kind of part, flushed kind by kind: the ORM sends rows with
        # the same columns in one executemany only when they come one after the other.
        by_kind = sorted(
            (ctx for ctx, _status in contexts if ctx.item.id in outcomes),
            key=lambda ctx: (ctx.item.method, type(outcomes[ctx.item.id]).__name__, ctx.item.id),
        )
        kind = None
        for ctx in by_kind:
            outcome = outcomes[ctx.item.id]
            if kind is not None and kind != (ctx.item.method, type(outcome)):
                db.session.flush()
            kind = (ctx.item.method, type(outcome))
            ctx.item.last_attempt_at = now
            _apply(ctx.item, outcome, now)
        result.attempted = len(contexts)
        settled = [item for item in items if item.status not in IN_PROGRESS]
        db.session.flush()
        settle_lines({item.order_line_id for item in settled}, now=now)
        db.session.flush()
        result.settled_orders = {item.order_id for item in settled}
    finally:
        db.session.info.pop(services.SCHEDULED_IN_CHUNK, None)
    return result


def _batched_outcomes(contexts: Sequence[tuple[IssueContext, str]]) -> dict[int, Outcome]:
    """The outcomes of the parts issued together: code-pool parts, and the parts of partners
    that take batches; the other parts are left out (issued one by one)."""
    pooled, topups, dues = [], [], []
    for ctx, order_status in contexts:
        if order_status == OrderStatus.REFUNDED:
            continue
        method = ctx.item.method
        if method == FulfillmentMethod.CODE_POOL:
            pooled.append(ctx)
        elif method == FulfillmentMethod.PARTNER_API and _api(ctx) == "telco":
            topups.append(ctx)
        elif method == FulfillmentMethod.DUES_REMITTANCE and takes_batches("insurer"):
            dues.append(ctx)
    outcomes: dict[int, Outcome] = {}
    if pooled:
        outcomes.update(issue_pool_parts(pooled))
    if topups and takes_batches("telco"):
        outcomes.update(issue_topups(topups))
    if dues:
        outcomes.update(issue_dues(dues))
    return outcomes


def _api(ctx: IssueContext) -> str | None:
    try:
        return api_for(ctx.offer)
    except CannotIssue:
        return None


def _apply(item: FulfillmentItem, outcome: Outcome, now: datetime) -> None:
    if isinstance(outcome, RetryLater):
        services.retry_later(item, outcome, now)
    elif isinstance(outcome, CannotIssue):
        services.fail_item(item, outcome.code, outcome.reason, now=now)
    else:
        services.apply_outcome(item, outcome, now=now)


def next_chunks(scheduled: Sequence[tuple[int, datetime]]) -> dict[int, list[int]]:
    """The chunk's next attempts (polls, retries) grouped by whole seconds from now: one job
    per group instead of one per item."""
    now = clock.now()
    groups: dict[int, list[int]] = defaultdict(list)
    for item_id, at in scheduled:
        groups[max(0, math.ceil((at - now).total_seconds()))].append(item_id)
    return dict(groups)
