"""What an admin (or the CLI) may do to an item: retry, resend its claim code, void, substitute.

Each action locks the item, checks the move makes sense for the money (a refunded part is
closed; dues the insurer accepted cannot be taken back here), records an event with the actor
and the reason, and flushes; the view or command commits, and jobs start after the commit.
"""

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select, update

from bundles.models import FulfillmentMethod, Offer, PoolCode, PoolCodeStatus
from core.errors import DomainError
from core.locking import lock_row
from extensions import db
from fulfillment import clock
from fulfillment.claims.services import rotate_claim_code
from fulfillment.models import (
    IN_PROGRESS,
    ClaimCode,
    EventKind,
    FulfillmentItem,
    IssuedCode,
    ItemStatus,
)
from fulfillment.services import new_item_key, schedule_refund
from jobs import enqueue_after_commit
from sponsorship.checkout.models import Order, OrderStatus
from sponsorship.payments.refunds import refund_for_part


class ActionRefused(DomainError):
    def __init__(self, message: LazyString) -> None:
        super().__init__(message, summary=str(message))


def _locked(item_id: int) -> FulfillmentItem:
    item = lock_row(FulfillmentItem, item_id)
    if item is None:
        raise ActionRefused(_l("This item does not exist."))
    return item


def _enqueue(item_id: int) -> None:
    enqueue_after_commit("fulfillment.issue_item", item_id)


def _refuse_if_refunded(item: FulfillmentItem) -> None:
    if item.status == ItemStatus.REFUNDED or refund_for_part(item.order_line_part_id):
        raise ActionRefused(_l("This part was refunded to the sponsor; it is closed."))


def _is_accepted_dues(item: FulfillmentItem) -> bool:
    return item.status == ItemStatus.ISSUED and item.method == FulfillmentMethod.DUES_REMITTANCE


def retry_item(item_id: int, *, actor_id: int | None, reason: str) -> FulfillmentItem:
    """Try again now with a fresh attempt budget (same idempotency key)."""
    item = _locked(item_id)
    _refuse_if_refunded(item)
    if item.status not in IN_PROGRESS | {ItemStatus.FAILED}:
        raise ActionRefused(_l("Only parts in progress or failed can be retried."))
    now = clock.now()
    item.attempts = 0
    item.refund_attempts = 0
    item.awaiting_since = None
    item.next_attempt_at = now
    if item.status == ItemStatus.PENDING:
        item.record(EventKind.RETRIED, actor_id=actor_id, reason=reason)
    else:
        item.transition(ItemStatus.PENDING, EventKind.RETRIED, actor_id=actor_id, reason=reason)
    _reopen_order(item.order_id)
    db.session.flush()
    _enqueue(item.id)
    return item


def resend_claim(item_id: int, *, actor_id: int | None, reason: str) -> ClaimCode:
    """Send the worker a new claim code for the item's line (the old code stops working)."""
    item = _locked(item_id)
    claim = db.session.scalar(
        select(ClaimCode).where(ClaimCode.order_line_id == item.order_line_id).with_for_update()
    )
    if claim is None:
        raise ActionRefused(
            _l("This worker has no bundle code yet: it is sent once the parts are issued.")
        )
    rotate_claim_code(claim, now=clock.now())
    siblings = db.session.scalars(
        select(FulfillmentItem).where(FulfillmentItem.order_line_id == item.order_line_id)
    )
    for sibling in siblings:
        sibling.record(
            EventKind.RESENT, actor_id=actor_id, reason=reason, data={"version": claim.version}
        )
    db.session.flush()
    return claim


def _void_codes(item: FulfillmentItem) -> list[int]:
    code_ids = list(
        db.session.scalars(select(IssuedCode.pool_code_id).where(IssuedCode.item_id == item.id))
    )
    if code_ids:
        db.session.execute(
            update(PoolCode).where(PoolCode.id.in_(code_ids)).values(status=PoolCodeStatus.VOID)
        )
    return code_ids


def void_item(item_id: int, *, actor_id: int | None, reason: str) -> FulfillmentItem:
    """Cancel the part (its codes are voided) and refund the sponsor."""
    item = _locked(item_id)
    _refuse_if_refunded(item)
    if _is_accepted_dues(item):
        raise ActionRefused(
            _l(
                "The insurer accepted these dues and the worker's cover was extended; they "
                "cannot be voided here."
            )
        )
    data = {"previous_status": str(item.status), "voided_pool_code_ids": _void_codes(item)}
    if item.status == ItemStatus.AWAITING_PARTNER:
        data["partner_may_still_complete"] = item.partner_reference
    item.next_attempt_at = clock.now()
    item.refund_attempts = 0
    item.settled_at = None
    item.transition(
        ItemStatus.VOIDED, EventKind.VOIDED, actor_id=actor_id, reason=reason, data=data
    )
    db.session.flush()
    schedule_refund(item.id)
    return item


def substitute_offers(item: FulfillmentItem) -> list[Offer]:
    """Offers that may replace the item's: the same kind, on sale now."""
    current = db.session.get(Offer, item.offer_id)
    assert current is not None
    candidates = db.session.scalars(
        select(Offer)
        .where(Offer.kind == current.kind, Offer.is_active.is_(True))
        .order_by(Offer.id)
    )
    return [offer for offer in candidates if offer.is_listed]


def substitute_item(
    item_id: int, offer_id: int, *, actor_id: int | None, reason: str
) -> FulfillmentItem:
    """Issue the part again, from ``offer_id`` (the same offer is allowed: a new code from the
    same pool). An issued part's codes are voided first."""
    item = _locked(item_id)
    _refuse_if_refunded(item)
    if item.status in (ItemStatus.AWAITING_PARTNER, ItemStatus.VOIDED):
        raise ActionRefused(
            _l(
                "This part cannot be substituted now: wait for the partner's answer, or it was "
                "voided."
            )
        )
    if _is_accepted_dues(item):
        raise ActionRefused(
            _l(
                "The insurer accepted these dues and the worker's cover was extended; they "
                "cannot be substituted."
            )
        )
    offer = db.session.get(Offer, offer_id)
    if offer is None or offer.id not in {o.id for o in substitute_offers(item)}:
        raise ActionRefused(_l("Choose an offer of the same kind that is on sale."))
    previous = {
        "previous_status": str(item.status),
        "from_offer_id": item.offer_id,
        "to_offer_id": offer.id,
        "previous_key": item.idempotency_key,
        "voided_pool_code_ids": _void_codes(item) if item.status == ItemStatus.ISSUED else [],
    }
    item.offer_id = offer.id
    item.method = str(offer.fulfillment_method)
    item.idempotency_key = new_item_key()
    item.partner_reference = None
    item.delivery = {}
    item.delivery_encrypted = None
    item.attempts = 0
    item.refund_attempts = 0
    item.issued_at = item.settled_at = item.awaiting_since = None
    item.next_attempt_at = clock.now()
    if item.status == ItemStatus.PENDING:
        item.record(EventKind.SUBSTITUTED, actor_id=actor_id, reason=reason, data=previous)
    else:
        item.transition(
            ItemStatus.PENDING,
            EventKind.SUBSTITUTED,
            actor_id=actor_id,
            reason=reason,
            data=previous,
        )
    _reopen_order(item.order_id)
    db.session.flush()
    _enqueue(item.id)
    return item


def _reopen_order(order_id: int) -> None:
    # A part is pending again, so the order may not say "fulfilled" until it settles.
    order = db.session.get(Order, order_id)
    if order is not None and order.status == OrderStatus.FULFILLED:
        order.transition(OrderStatus.FULFILLING)
