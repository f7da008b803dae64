"""The telco's status callback for a bulk top-up: one signed request per batch, a result per
number, applied in one transaction.

The callback names the batch (its ``batch_id``, recorded on every part sent in it) and carries
each top-up as the status query would answer it. It is checked whole before anything changes:
JSON, signature (the batch's telco secret, timestamps stale in either direction refused), the
batch and every item known to it, the right top-up, and the quota and validity we asked for; a
bad body gets a clear 4xx and changes nothing. Then the batch's parts are locked (in id order,
like a chunk, so a callback and a poll of the same batch queue, never deadlock), the final
results recorded (``_record_all``: together in one savepoint, or one savepoint per part if that
fails) and the lines settled once. A part already settled (by an
earlier delivery of the callback, or by the fallback poll) is left as it is: a repeat, or a
replay of a captured callback, changes nothing.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bundles.models import Offer
from core.locking import begin_write, is_sqlite
from extensions import db
from fulfillment import clock, services
from fulfillment.batches.chunks import issue_contexts
from fulfillment.issuers import AwaitingPartner, CannotIssue, IssueContext
from fulfillment.issuers.partner_api import topup_outcome, topup_payload
from fulfillment.models import IN_PROGRESS, FulfillmentItem
from fulfillment.partners.callbacks import CallbackRefused, verify_telco_signature
from fulfillment.settling import settle_lines
from sponsorship.checkout.models import OrderStatus

log = logging.getLogger(__name__)

MAX_RESULTS = 500
STATUSES = {"pending", "success", "failed"}


@dataclass
class BatchCallbackResult:
    settled: int = 0
    unchanged: int = 0
    settled_orders: set[int] = field(default_factory=set)


def accept_topup_batch_callback(
    raw_body: bytes, *, timestamp: str | None, signature: str | None
) -> BatchCallbackResult:
    """Apply a signed batch callback (the caller commits, then completes the orders). Raises
    CallbackRefused: 400 bad JSON or body, 401 bad signature, 404 unknown batch or item, 409
    another top-up, 422 not the top-up we asked for, 503 endpoint not configured."""
    batch_id, results = _parse(raw_body)
    offer_ids = set(
        db.session.scalars(
            select(FulfillmentItem.offer_id)
            .where(FulfillmentItem.partner_batch_id == batch_id)
            .distinct()
        )
    )
    if not offer_ids:
        raise CallbackRefused(404, "unknown_batch", "no part was sent in this batch")
    _verify(offer_ids, raw_body, timestamp=timestamp, signature=signature)

    contexts, refunded = _locked_contexts(batch_id)
    _check(contexts, results)
    due = [
        (contexts[reference].item, body)
        for reference, body in results.items()
        if contexts[reference].item.status in IN_PROGRESS
        and body["status"] != "pending"
        and contexts[reference].item.id not in refunded  # closed by its next attempt
    ]
    now = clock.now()
    settled = _record_all(due, now)
    db.session.flush()
    settle_lines({item.order_line_id for item in settled}, now=now)
    db.session.flush()
    return BatchCallbackResult(
        settled=len(settled),
        unchanged=len(results) - len(settled),
        settled_orders={item.order_id for item in settled},
    )


def _record_all(
    due: list[tuple[FulfillmentItem, dict[str, Any]]], now: datetime
) -> list[FulfillmentItem]:
    """Record every final result. All together in one savepoint first, flushed kind by kind
    (issued, failed) so each kind's rows go in one executemany; if that savepoint fails, one
    savepoint per part, so one part that cannot be recorded is undone alone (it stays in
    progress and the fallback poll takes it). A savepoint per part on the normal path would
    cost four statements a part (SAVEPOINT, UPDATE, INSERT, RELEASE)."""
    due = sorted(due, key=lambda pair: (pair[1]["status"], pair[0].id))
    try:
        with db.session.begin_nested():
            status = None
            for item, body in due:
                if status is not None and body["status"] != status:
                    db.session.flush()
                status = body["status"]
                _apply(item, body, now)
        return [item for item, _body in due]
    except Exception:
        log.exception("batch callback: recording %s parts together failed; one by one", len(due))
    recorded = []
    for item, body in due:
        try:
            with db.session.begin_nested():
                _apply(item, body, now)
        except Exception:
            log.exception("batch callback: part %s could not be recorded", item.id)
            continue
        recorded.append(item)
    return recorded


def _parse(raw_body: bytes) -> tuple[str, dict[str, dict[str, Any]]]:
    """``(batch_id, {reference: result})``, or CallbackRefused(400)."""
    try:
        body = json.loads(raw_body)
    except ValueError:
        raise CallbackRefused(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("batch_id"), str):
        raise CallbackRefused(400, "invalid_body", "batch_id is required")
    items = body.get("results")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_RESULTS:
        raise CallbackRefused(400, "invalid_body", f"results must list 1 to {MAX_RESULTS}")
    results: dict[str, dict[str, Any]] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("reference"), str):
            raise CallbackRefused(400, "invalid_body", "every result needs its reference")
        if not isinstance(item.get("topup_id"), str) or item.get("status") not in STATUSES:
            raise CallbackRefused(400, "invalid_body", "every result needs topup_id and status")
        if item["reference"] in results:
            raise CallbackRefused(400, "invalid_body", "a reference is listed twice")
        results[item["reference"]] = item
    return body["batch_id"], results


def _verify(
    offer_ids: set[int], raw_body: bytes, *, timestamp: str | None, signature: str | None
) -> None:
    """Signed with the telco secret of every offer in the batch (one telco per batch)."""
    for offer in db.session.scalars(select(Offer).where(Offer.id.in_(offer_ids))):
        verify_telco_signature(offer, raw_body, timestamp=timestamp, signature=signature)


def _locked_contexts(batch_id: str) -> tuple[dict[str, IssueContext], set[int]]:
    """The batch's parts by reference, locked until the commit (waiting for a poll that holds
    them: it settles them first, and this callback then leaves them as they are), and the ids
    of those whose order was refunded whole."""
    statement = (
        select(FulfillmentItem)
        .where(FulfillmentItem.partner_batch_id == batch_id)
        .order_by(FulfillmentItem.id)
        .execution_options(populate_existing=True)
    )
    if is_sqlite():
        begin_write()
    else:
        statement = statement.with_for_update(key_share=True)
    items = list(db.session.scalars(statement))
    contexts = issue_contexts(items, clock.now(), set())
    refunded = {ctx.item.id for ctx, status in contexts if status == OrderStatus.REFUNDED}
    return {ctx.item.idempotency_key: ctx for ctx, _status in contexts}, refunded


def _check(contexts: dict[str, IssueContext], results: dict[str, dict[str, Any]]) -> None:
    """Every result names a part of this batch, its top-up, and what we asked for."""
    for reference, body in results.items():
        ctx = contexts.get(reference)
        if ctx is None:
            raise CallbackRefused(404, "unknown_item", "a result names no part of this batch")
        if ctx.item.partner_reference not in (None, body["topup_id"]):
            raise CallbackRefused(409, "other_topup", "a result names another top-up")
        try:
            asked = topup_payload(ctx)
        except CannotIssue:
            asked = {}
        if not asked:
            continue
        for name in ("quota_mb", "validity_days"):
            if body.get(name) != asked[name]:
                raise CallbackRefused(422, "wrong_amount", f"{name} is not what was asked")
        if "msisdn" in body and body["msisdn"] != asked["msisdn"]:
            raise CallbackRefused(422, "wrong_number", "a result names another number")


def _apply(item: FulfillmentItem, body: dict[str, Any], now: datetime) -> None:
    try:
        outcome = topup_outcome(body)
    except CannotIssue as never:
        item.partner_reference = body["topup_id"]
        services.fail_item(item, never.code, never.reason, now=now)
        return
    assert not isinstance(outcome, AwaitingPartner)  # pending results are skipped
    item.last_attempt_at = now
    services.apply_outcome(item, outcome, now=now)
