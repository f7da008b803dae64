"""Refunding from the admin console: the whole order or one part, with the reason, recorded
in the audit log. The money is always worked out by ``sponsorship.payments.refunds`` (never
twice, never more than paid); this module only picks what to refund and records who asked."""

from admin.audit import record_admin_action
from extensions import db
from sponsorship.checkout.models import Order, OrderLinePart, OrderStatus, Refund
from sponsorship.payments.refunds import refund_for_part
from sponsorship.payments.refunds import refund_order as refund_order_service
from sponsorship.payments.refunds import refund_order_line_part as refund_part_service

WHOLE_ORDER = "order"


class NothingMoreToRefund(Exception):
    pass


class NotThisOrder(Exception):
    pass


def admin_refund(order: Order, target: str, *, reason: str, actor_id: int) -> Refund | None:
    """Refund the whole order (``target == "order"``) or one of its parts (``"part-<id>"``)
    through the refund service and record it in the audit log. Returns the new Refund (None:
    a whole-order refund that had nothing left to give). Raises NothingMoreToRefund when
    this was done before, NotThisOrder for a part of another order, RefundError."""
    if target == WHOLE_ORDER:
        if order.status == OrderStatus.REFUNDED:
            raise NothingMoreToRefund
        refund = refund_order_service(order, reason=reason, actor_id=actor_id)
        amount = refund.amount_idr if refund else 0
        record_admin_action(
            actor_id,
            "order.refund",
            "order",
            order.id,
            reason=reason,
            details={"reference": order.reference, "amount_idr": amount},
        )
        return refund
    part_id = target.removeprefix("part-")
    is_id = part_id.isdigit() and len(part_id) < 10
    part = db.session.get(OrderLinePart, int(part_id)) if is_id else None
    if part is None or part.line.order_id != order.id:
        raise NotThisOrder
    if refund_for_part(part.id) is not None or order.status == OrderStatus.REFUNDED:
        raise NothingMoreToRefund
    refund = refund_part_service(part, reason=reason, actor_id=actor_id)
    record_admin_action(
        actor_id,
        "order.part_refund",
        "order",
        order.id,
        reason=reason,
        details={"reference": order.reference, "part_id": part.id, "amount_idr": refund.amount_idr},
    )
    return refund
