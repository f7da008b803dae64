"""How the parts of a paid order are getting on, for the order page's progress block.

The order page used to reload itself every 10 s while parts were pending, which wiped the
message a sponsor was typing to the workers. Now ``static/js/order_progress.js`` asks this
endpoint for the counts and the block's HTML and replaces only that block; without JavaScript
the block has a "Refresh" link. Only the order's sponsor (and admins, who may open any order
page) get an answer; anyone else gets 404 as for the page itself."""

from flask import Blueprint, Response, abort, jsonify, render_template
from flask_login import current_user

from accounts.access import role_required
from accounts.models import Role
from fulfillment.progress import PartState, order_progress
from sponsorship.checkout import orders
from sponsorship.checkout.models import Order, OrderStatus

bp = Blueprint("order_progress", __name__)

POLL_SECONDS = 10
PENDING_ORDER_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.FULFILLING})


def is_pending(order: Order) -> bool:
    """Paid, and parts are still being delivered: the progress may still change."""
    return order.status in PENDING_ORDER_STATUSES


@bp.app_template_global("order_progress_poll_seconds")
def poll_seconds() -> int:
    return POLL_SECONDS


@bp.route("/pesanan/<reference>/kemajuan")
@role_required(Role.SPONSOR, Role.ADMIN)
def progress(reference: str) -> Response:
    order = orders.order_for(current_user, reference) or abort(404)
    counts = order_progress(order, limit=0)  # the counts cover the whole order; no lines
    settled = counts.count(PartState.ISSUED) + counts.count(PartState.REFUNDED)
    failed = counts.count(PartState.FAILED)
    html = render_template(
        "sponsorship/checkout/_order_progress.html",
        order=order,
        settled=settled,
        failed=failed,
        total=counts.total_parts,
        pending=is_pending(order),
        polled=True,
    )
    return jsonify(
        status=str(order.status),
        settled=settled,
        failed=failed,
        total=counts.total_parts,
        done=not is_pending(order) or counts.is_complete,
        html=html,
    )
