"""Celery tasks of the fulfillment package. Tasks take ids, re-read and lock their rows, are
safe to run twice, and commit once; ``acks_late`` with ``reject_on_worker_lost`` puts a task
whose worker died back on the queue, and the sweeper re-enqueues whatever is still overdue.
"""

import logging

from celery import shared_task

from extensions import db
from fulfillment import refunding, services, sweeper
from fulfillment.batches import chunks
from fulfillment.partners.reconcile import note_partner_call
from sponsorship.payments.refunds import RefundError

log = logging.getLogger(__name__)

DURABLE = {"ignore_result": True, "acks_late": True, "reject_on_worker_lost": True}


@shared_task(name="fulfillment.dispatch_items", **DURABLE)
def dispatch_items(item_ids: list[int]) -> None:
    """Kept for jobs queued before chunks: the items go on as chunks."""
    services.enqueue_items(item_ids)


@shared_task(name="fulfillment.issue_chunk", **DURABLE)
def issue_chunk(item_ids: list[int]) -> None:
    """A chunk of items in two commits: the note of its partner calls, then every item's
    outcome and its lines settled. If the chunk crashes, each item goes on alone (its own
    job, savepoint and crash count), so one bad part never holds back the others."""
    try:
        claimed, reconcile = chunks.note_chunk(item_ids)
        db.session.commit()
        result = chunks.run_chunk(claimed, reconcile)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception(
            "chunk of %s fulfillment items crashed; issuing them one by one", len(item_ids)
        )
        for item_id in item_ids:
            issue_item.delay(item_id)
        return
    for delay, ids in chunks.next_chunks(result.next_attempts).items():
        services.enqueue_items(ids, countdown=float(delay))
    for order_id in sorted(result.settled_orders):
        complete_order(order_id)


@shared_task(name="fulfillment.issue_item", **DURABLE)
def issue_item(item_id: int) -> None:
    try:
        # Committed before the partner is called: a worker killed mid-call leaves this note,
        # and the next attempt asks the partner what happened before calling again.
        reconcile = note_partner_call(item_id)
        db.session.commit()
        result = services.attempt_item(item_id, reconcile=reconcile)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        log.exception("attempt of fulfillment item %s crashed", item_id)
        services.record_crash(item_id, error)
        db.session.commit()
        return
    if result is not None and result.is_settled:
        complete_order(result.order_id)


@shared_task(name="fulfillment.refund_item", **DURABLE)
def refund_item(item_id: int) -> None:
    try:
        result = refunding.refund_item(item_id)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        log.exception("refund of fulfillment item %s crashed", item_id)
        refunding.record_refund_crash(item_id, RefundError("gateway", type(error).__name__))
        db.session.commit()
        return
    if result is not None and result.is_settled:
        complete_order(result.order_id)


def complete_order(order_id: int) -> None:
    """A second, tiny unit of work after the item's commit (see complete_order_if_settled);
    if it is lost, the sweeper completes the order."""
    try:
        services.complete_order_if_settled(order_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not complete order %s; the sweeper will", order_id)


@shared_task(name="fulfillment.sweep", ignore_result=True)
def sweep() -> None:
    report = sweeper.sweep()
    db.session.commit()
    if report.total:
        log.info("fulfillment sweep: %s", report)
