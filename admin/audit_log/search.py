"""Searching the audit trail: admin actions (``AuditEvent``), fulfillment history
(``FulfillmentEvent``) and consent records (``ConsentEvent``) together, by object, actor,
action and date. Two statements per page (count, page), whatever the filters."""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import Select, String, cast, func, literal, select, union_all

from accounts.models import User
from admin import filters
from admin.audit import ACTION_LABELS
from admin.models import AuditEvent
from extensions import db
from fulfillment.models import EventKind, FulfillmentEvent, FulfillmentItem
from fulfillment.operations.overview import EVENT_LABELS
from sponsorship.checkout.models import Order
from workers.models import ConsentAction, ConsentEvent, ConsentKind

PER_PAGE = 50
OBJECT_TYPES = {
    "order": _l("Order"),
    "partner": _l("Partner"),
    "fulfillment_item": _l("Fulfillment item"),
    "worker": _l("Worker"),
    "dues_rate": _l("Dues rates"),
    "dues_band": _l("Income band"),
    "dues_discount": _l("Discount"),
}
SOURCE_LABELS = {
    "admin": _l("Admin"),
    "fulfillment": _l("Fulfillment"),
    "consent": _l("Consent"),
}
FULFILLMENT_ACTIONS = {f"item.{kind.value}": label for kind, label in EVENT_LABELS.items()}
_CONSENT_KIND_LABELS = {
    ConsentKind.LISTING: _l("Listing consent"),
    ConsentKind.INSURER_DATA: _l("Insurer data consent"),
}
_CONSENT_ACTION_LABELS = {
    ConsentAction.GIVEN: _l("given"),
    ConsentAction.CONFIRMED: _l("confirmed"),
    ConsentAction.WITHDRAWN: _l("withdrawn"),
}
CONSENT_ACTIONS = {
    f"consent.{kind.value}.{action.value}": (kind_label, action_label)
    for kind, kind_label in _CONSENT_KIND_LABELS.items()
    for action, action_label in _CONSENT_ACTION_LABELS.items()
}


@dataclass
class AuditSearch:
    object_type: str
    object_id: str
    actor: str
    action: str
    dates: filters.DateRange
    errors: list[LazyString]
    actor_id: int | None = None

    def args(self) -> dict[str, str]:
        shown = {
            "object_type": self.object_type,
            "object_id": self.object_id,
            "actor": self.actor,
            "action": self.action,
        }
        return {key: value for key, value in shown.items() if value} | self.dates.args()


def read_search(args: dict[str, str]) -> AuditSearch:
    object_type = args.get("object_type", "")
    action = args.get("action", "")
    known_actions = ACTION_LABELS.keys() | FULFILLMENT_ACTIONS.keys() | CONSENT_ACTIONS.keys()
    dates = filters.date_range(args)
    search = AuditSearch(
        object_type=object_type if object_type in OBJECT_TYPES else "",
        object_id=filters.text(args, "object_id", 64),
        actor=filters.text(args, "actor", 254),
        action=action if action in known_actions else "",
        dates=dates,
        errors=list(dates.errors),
    )
    if search.object_id and not search.object_type:
        search.errors.append(_l("Choose what kind of object the number belongs to."))
    is_number = search.object_id.isdigit() and len(search.object_id) < 10
    if search.object_id and search.object_type != "order" and not is_number:
        search.errors.append(_l("An object is found by its number."))
    if search.actor:
        search.actor_id = _actor_id(search.actor)
        if search.actor_id is None:
            search.errors.append(_l("No user has this email address or number."))
    return search


def _actor_id(typed: str) -> int | None:
    if typed.isdigit() and len(typed) < 10:
        return db.session.scalar(select(User.id).where(User.id == int(typed)))
    return db.session.scalar(select(User.id).where(User.email == typed.lower()))


def _order_id(typed: str) -> int | None:
    """An order by its id or its reference."""
    if typed.isdigit() and len(typed) < 10:
        return int(typed)
    return db.session.scalar(select(Order.id).where(Order.reference == typed.upper()))


def _admin_branch(search: AuditSearch, object_id: Any) -> Select[Any] | None:
    if search.action and search.action not in ACTION_LABELS:
        return None
    query = select(
        literal("admin").label("source"),
        AuditEvent.id.label("event_id"),
        AuditEvent.created_at.label("created_at"),
        AuditEvent.actor_id.label("actor_id"),
        AuditEvent.action.label("action"),
        AuditEvent.object_type.label("object_type"),
        AuditEvent.object_id.label("object_id"),
        AuditEvent.reason.label("reason"),
    )
    if search.action:
        query = query.where(AuditEvent.action == search.action)
    if search.object_type:
        query = query.where(
            AuditEvent.object_type == search.object_type, AuditEvent.object_id == str(object_id)
        )
    if search.actor_id is not None:
        query = query.where(AuditEvent.actor_id == search.actor_id)
    return _dated(query, AuditEvent.created_at, search)


def _fulfillment_branch(search: AuditSearch, object_id: Any) -> Select[Any] | None:
    if search.action and search.action not in FULFILLMENT_ACTIONS:
        return None
    if search.object_type not in ("", "fulfillment_item", "order"):
        return None
    query = select(
        literal("fulfillment").label("source"),
        FulfillmentEvent.id.label("event_id"),
        FulfillmentEvent.created_at.label("created_at"),
        FulfillmentEvent.actor_id.label("actor_id"),
        (literal("item.") + FulfillmentEvent.kind).label("action"),
        literal("fulfillment_item").label("object_type"),
        cast(FulfillmentEvent.item_id, String).label("object_id"),
        FulfillmentEvent.reason.label("reason"),
    )
    if search.action:
        query = query.where(FulfillmentEvent.kind == EventKind(search.action.removeprefix("item.")))
    if search.object_type == "fulfillment_item":
        query = query.where(FulfillmentEvent.item_id == int(object_id))
    elif search.object_type == "order":  # the history of the order's parts
        items = select(FulfillmentItem.id).where(FulfillmentItem.order_id == object_id)
        query = query.where(FulfillmentEvent.item_id.in_(items))
    if search.actor_id is not None:
        query = query.where(FulfillmentEvent.actor_id == search.actor_id)
    return _dated(query, FulfillmentEvent.created_at, search)


def _consent_branch(search: AuditSearch, object_id: Any) -> Select[Any] | None:
    if search.action and search.action not in CONSENT_ACTIONS:
        return None
    if search.object_type not in ("", "worker"):
        return None
    query = select(
        literal("consent").label("source"),
        ConsentEvent.id.label("event_id"),
        ConsentEvent.created_at.label("created_at"),
        ConsentEvent.recorded_by_id.label("actor_id"),
        (literal("consent.") + ConsentEvent.kind + literal(".") + ConsentEvent.action).label(
            "action"
        ),
        literal("worker").label("object_type"),
        cast(ConsentEvent.worker_id, String).label("object_id"),
        literal("").label("reason"),
    )
    if search.action:
        _, kind, action = search.action.split(".")
        query = query.where(ConsentEvent.kind == kind, ConsentEvent.action == action)
    if search.object_type == "worker":
        query = query.where(ConsentEvent.worker_id == int(object_id))
    if search.actor_id is not None:
        query = query.where(ConsentEvent.recorded_by_id == search.actor_id)
    return _dated(query, ConsentEvent.created_at, search)


def _dated(query: Select[Any], column: Any, search: AuditSearch) -> Select[Any]:
    return query.where(*search.dates.within(column))


@dataclass(frozen=True)
class AuditRow:
    source: str
    event_id: int
    created_at: datetime
    actor_id: int | None
    action: str
    object_type: str
    object_id: str
    reason: str


@dataclass
class AuditPage:
    """What the ``pagination`` macro needs."""

    items: list[AuditRow]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(math.ceil(self.total / self.per_page), 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int:
        return self.page + 1


def search_audit(search: AuditSearch, *, page: int) -> AuditPage:
    object_id: Any = search.object_id
    if search.object_type == "order" and search.object_id:
        object_id = _order_id(search.object_id) or 0
    elif search.object_type and search.object_id:
        object_id = int(search.object_id)
    if search.object_type and not search.object_id:
        return AuditPage([], page, PER_PAGE, 0)
    branches = [
        branch
        for branch in (
            _admin_branch(search, object_id),
            _fulfillment_branch(search, object_id),
            _consent_branch(search, object_id),
        )
        if branch is not None
    ]
    if not branches:
        return AuditPage([], page, PER_PAGE, 0)
    events = union_all(*branches).subquery("events")
    total = db.session.scalar(select(func.count()).select_from(events)) or 0
    rows = db.session.execute(
        select(events)
        .order_by(events.c.created_at.desc(), events.c.source, events.c.event_id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    return AuditPage([AuditRow(*row) for row in rows], page, PER_PAGE, total)


def action_label(action: str) -> str:
    if action in CONSENT_ACTIONS:
        kind, verb = CONSENT_ACTIONS[action]
        return f"{kind}: {verb}"
    return str(ACTION_LABELS.get(action) or FULFILLMENT_ACTIONS.get(action) or action)
