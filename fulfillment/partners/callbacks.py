"""Partners calling back: the telco tells us a top-up is final.

The callback is signed with the offer's telco secret, exactly like our requests to it, and
names the top-up and our reference (the item's key). It is applied like a poll's answer, under
the item's lock, and a repeat of it changes nothing.
"""

import json

from sqlalchemy import select

from bundles.models import Offer
from core.locking import lock_row
from core.signing import SignatureError, verify
from extensions import db
from fulfillment import clock
from fulfillment.issuers import AwaitingPartner, CannotIssue, RetryLater
from fulfillment.issuers.endpoints import endpoint_for
from fulfillment.issuers.partner_api import topup_outcome
from fulfillment.models import IN_PROGRESS, FulfillmentItem
from fulfillment.services import AttemptResult, apply_outcome, fail_item, finish_attempt


class CallbackRefused(Exception):
    def __init__(self, status: int, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.status = status
        self.code = code
        self.detail = detail  # for the partner's engineers; never names a number


def verify_telco_signature(
    offer: Offer, raw_body: bytes, *, timestamp: str | None, signature: str | None
) -> None:
    """The body was signed with the offer's telco secret, at a time close to ours; raises
    CallbackRefused (401 bad signature or time, 503 the offer's endpoint is not configured)."""
    try:
        _base_url, secret = endpoint_for(offer, "telco")
        verify(secret, timestamp, raw_body, signature)
    except RetryLater:
        raise CallbackRefused(503, "not_configured") from None
    except SignatureError as error:
        raise CallbackRefused(401, error.code) from None


def accept_telco_callback(
    raw_body: bytes, *, timestamp: str | None, signature: str | None
) -> AttemptResult | None:
    """Apply a signed top-up callback; None when it changed nothing (a repeat, or still
    pending). Raises CallbackRefused (400 bad body, 401 bad signature, 404 unknown reference,
    409 another top-up, 503 endpoint not configured)."""
    try:
        body = json.loads(raw_body)
    except ValueError:
        raise CallbackRefused(400, "invalid_json") from None
    if not isinstance(body, dict) or not isinstance(body.get("reference"), str):
        raise CallbackRefused(400, "invalid_body")
    item_id = db.session.scalar(
        select(FulfillmentItem.id).where(FulfillmentItem.idempotency_key == body["reference"])
    )
    if item_id is None:
        raise CallbackRefused(404, "unknown_reference")
    offer_id = db.session.scalar(
        select(FulfillmentItem.offer_id).where(FulfillmentItem.id == item_id)
    )
    offer = db.session.get(Offer, offer_id)
    assert offer is not None
    verify_telco_signature(offer, raw_body, timestamp=timestamp, signature=signature)

    item = lock_row(FulfillmentItem, item_id)
    assert item is not None
    topup_id = body.get("topup_id")
    if item.partner_reference not in (None, topup_id):
        raise CallbackRefused(409, "other_topup")
    if item.status not in IN_PROGRESS:
        return None
    now = clock.now()
    try:
        outcome = topup_outcome(body)
    except CannotIssue as never:
        item.partner_reference = topup_id
        fail_item(item, never.code, never.reason, now=now)
    except RetryLater:
        raise CallbackRefused(400, "invalid_body") from None
    else:
        if isinstance(outcome, AwaitingPartner):
            return None
        apply_outcome(item, outcome, now=now)
    return finish_attempt(item, now)
