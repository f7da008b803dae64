"""What the admin's fulfillment pages read: items needing attention, one item's whole story."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select

from bundles.models import FulfillmentMethod, Offer, PoolCode, PoolCodeStatus
from extensions import db
from fulfillment.models import (
    ClaimCode,
    EventKind,
    FulfillmentEvent,
    FulfillmentItem,
    IssuedCode,
    ItemStatus,
    Remittance,
    RemittanceStatus,
)
from fulfillment.operations.actions import substitute_offers
from i18n import rupiah
from sponsorship.checkout.models import Order, OrderLine, OrderLinePart, Refund
from vault import VaultError, decrypt
from workers.models import Worker

ATTENTION = (
    ItemStatus.FAILED,
    ItemStatus.VOIDED,
    ItemStatus.RETRYING,
    ItemStatus.AWAITING_PARTNER,
)
ITEM_STATUSES = frozenset(status.value for status in ItemStatus)
FILTERS = ("attention", *(status.value for status in ItemStatus), "all")


def status_counts() -> dict[str, int]:
    rows = db.session.execute(
        select(FulfillmentItem.status, func.count()).group_by(FulfillmentItem.status)
    )
    return {str(status): count for status, count in rows}


@dataclass(frozen=True)
class ItemRow:
    order_reference: str
    worker_name: str
    offer: Offer


def item_page(
    *, status: str = "attention", order_reference: str = "", page: int = 1, per_page: int = 50
) -> tuple[Pagination, dict[int, ItemRow]]:
    """A page of items, oldest change first, and for each its order, worker and offer."""
    query = select(FulfillmentItem)
    if status == "attention":
        query = query.where(FulfillmentItem.status.in_(ATTENTION))
    elif status in ITEM_STATUSES:
        query = query.where(FulfillmentItem.status == status)
    if order_reference:
        query = query.join(Order, Order.id == FulfillmentItem.order_id).where(
            Order.reference == order_reference.strip().upper()
        )
    query = query.order_by(FulfillmentItem.updated_at, FulfillmentItem.id)
    pagination = db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
    ids = [item.id for item in pagination.items]
    rows = db.session.execute(
        select(FulfillmentItem.id, Order.reference, Worker.full_name, Offer)
        .join(Order, Order.id == FulfillmentItem.order_id)
        .join(OrderLine, OrderLine.id == FulfillmentItem.order_line_id)
        .join(Worker, Worker.id == OrderLine.worker_id)
        .join(Offer, Offer.id == FulfillmentItem.offer_id)
        .where(FulfillmentItem.id.in_(ids))
    )
    return pagination, {item_id: ItemRow(ref, name, offer) for item_id, ref, name, offer in rows}


@dataclass(frozen=True)
class ItemDetail:
    item: FulfillmentItem
    order: Order
    line: OrderLine
    part: OrderLinePart
    worker: Worker
    offer: Offer
    events: list[FulfillmentEvent]
    claim: ClaimCode | None
    refund: Refund | None
    remittance: Remittance | None
    pool_codes: list[PoolCode]
    substitutes: list[Offer]

    @property
    def secret_keys(self) -> list[str]:
        """Which secret details were delivered (never their values on this page)."""
        if not self.item.delivery_encrypted:
            return []
        try:
            secret: dict[str, Any] = json.loads(decrypt(self.item.delivery_encrypted))
        except (VaultError, ValueError):
            return ["?"]
        return sorted(secret)


def item_detail(item_id: int) -> ItemDetail | None:
    item = db.session.get(FulfillmentItem, item_id)
    if item is None:
        return None
    part = db.session.get(OrderLinePart, item.order_line_part_id)
    line = db.session.get(OrderLine, item.order_line_id)
    order = db.session.get(Order, item.order_id)
    offer = db.session.get(Offer, item.offer_id)
    assert part and line and order and offer
    worker = db.session.get(Worker, line.worker_id)
    assert worker is not None
    code_ids = select(IssuedCode.pool_code_id).where(IssuedCode.item_id == item.id)
    return ItemDetail(
        item=item,
        order=order,
        line=line,
        part=part,
        worker=worker,
        offer=offer,
        events=list(
            db.session.scalars(
                select(FulfillmentEvent)
                .where(FulfillmentEvent.item_id == item.id)
                .order_by(FulfillmentEvent.id)
            )
        ),
        claim=db.session.scalar(select(ClaimCode).where(ClaimCode.order_line_id == line.id)),
        refund=db.session.scalar(select(Refund).where(Refund.order_line_part_id == part.id)),
        remittance=db.session.scalar(select(Remittance).where(Remittance.item_id == item.id)),
        pool_codes=list(db.session.scalars(select(PoolCode).where(PoolCode.id.in_(code_ids)))),
        substitutes=substitute_offers(item),
    )


STATUS_LABELS = {
    ItemStatus.PENDING: _l("Pending"),
    ItemStatus.RETRYING: _l("Retrying"),
    ItemStatus.AWAITING_PARTNER: _l("Waiting for partner"),
    ItemStatus.ISSUED: _l("Issued"),
    ItemStatus.FAILED: _l("Failed"),
    ItemStatus.VOIDED: _l("Voided"),
    ItemStatus.REFUNDED: _l("Refunded"),
}
FILTER_LABELS = {"attention": _l("Needs attention"), "all": _l("All"), **STATUS_LABELS}
EVENT_LABELS = {
    EventKind.CREATED: _l("Created"),
    EventKind.RETRY_SCHEDULED: _l("Attempt failed, retry scheduled"),
    EventKind.AWAITING_PARTNER: _l("Partner processing"),
    EventKind.ISSUED: _l("Issued"),
    EventKind.FAILED: _l("Failed"),
    EventKind.REFUNDED: _l("Refunded"),
    EventKind.REFUND_FAILED: _l("Refund failed"),
    EventKind.RETRIED: _l("Retried by hand"),
    EventKind.RESENT: _l("Bundle code resent"),
    EventKind.VOIDED: _l("Voided"),
    EventKind.SUBSTITUTED: _l("Substituted"),
}
METHOD_LABELS = {
    FulfillmentMethod.CODE_POOL: _l("Code pool"),
    FulfillmentMethod.PARTNER_API: _l("Partner API"),
    FulfillmentMethod.DUES_REMITTANCE: _l("Dues remittance"),
}
POOL_CODE_LABELS = {
    PoolCodeStatus.AVAILABLE: _l("Available"),
    PoolCodeStatus.ISSUED: _l("Issued"),
    PoolCodeStatus.VOID: _l("Voided"),
}
REMITTANCE_LABELS = {
    RemittanceStatus.ACCEPTED: _l("Accepted by the insurer"),
    RemittanceStatus.CONFIRMED: _l("Confirmed in the insurer's file"),
    RemittanceStatus.MISMATCH: _l("The insurer's file disagrees"),
}
# The keys of an item's delivery details and of its events' data, as an admin reads them.
DETAIL_LABELS = {
    "codes": _l("Number of codes"),
    "expires_on": _l("Expires on"),
    "expires_at": _l("Expires at"),
    "serial_number": _l("Serial number"),
    "quota_mb": _l("Quota (MB)"),
    "validity_days": _l("Valid for (days)"),
    "completed_at": _l("Completed at"),
    "activated_at": _l("Activated at"),
    "programmes": _l("Programmes"),
    "months": _l("Months"),
    "covered_until": _l("Covered until"),
    "code": _l("Error code"),
    "attempt": _l("Attempt"),
    "retry_in_s": _l("Next try in (seconds)"),
    "refund_id": _l("Refund number"),
    "amount_idr": _l("Amount"),
    "provider_refund_id": _l("Provider refund reference"),
    "refund_attempt": _l("Refund attempt"),
    "will_retry": _l("Will retry"),
    "version": _l("Bundle code version"),
    "previous_status": _l("Previous status"),
    "voided_pool_code_ids": _l("Voided pool codes"),
    "pool_code_ids": _l("Pool codes"),
    "partner_may_still_complete": _l("The partner may still complete it (reference)"),
    "from_offer_id": _l("From offer"),
    "to_offer_id": _l("To offer"),
    "previous_key": _l("Previous idempotency key"),
    "partner_reference": _l("Partner reference"),
    "reconciled": _l("Found at the partner after a lost answer"),
}
# Never shown, whatever a partner or a future change puts in the details.
_PERSONAL_KEYS = frozenset({"nik", "phone", "phone_e164", "msisdn", "kpj", "activation_code"})


def _readable(key: str, value: Any) -> str:
    if value is None or value == [] or value == "":
        return "–"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if key == "amount_idr" and isinstance(value, int):
        return rupiah(value)
    if key == "previous_status":
        return str(STATUS_LABELS.get(value, value))
    if key == "programmes" and isinstance(value, list):
        return " + ".join(str(one).upper() for one in value)
    if key.endswith("_ids") and isinstance(value, list):
        return ", ".join(f"#{one}" for one in value)
    if isinstance(value, list):
        return ", ".join(_readable(key, one) for one in value)
    if isinstance(value, dict):
        return "; ".join(f"{label}: {shown}" for label, shown in readable_details(value))
    return str(value)


def readable_details(data: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """``(label, value)`` rows for an item's delivery details or an event's data: labels instead
    of keys, statuses translated, yes/no, rupiah, lists joined — never raw JSON, and never a key
    that could hold personal data."""
    return [
        (str(DETAIL_LABELS.get(key) or key.replace("_", " ").capitalize()), _readable(key, value))
        for key, value in (data or {}).items()
        if key.lower() not in _PERSONAL_KEYS
    ]
