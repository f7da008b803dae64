"""Helpers of the continuity tests: a sponsor paying months of a worker's cover."""

from datetime import date

from accounts.models import User
from bundles.models import Bundle
from extensions import db
from sponsorship.checkout.models import Order, OrderLine, OrderLinePart, OrderStatus
from workers.coverage import extend_coverage
from workers.models import Coverage, Worker


def fund(
    worker: Worker, sponsor: User, bundle: Bundle, *, months: int, first_month: date
) -> Coverage:
    """A paid, fulfilled order of ``sponsor`` for ``months`` months of ``worker``'s cover."""
    count = db.session.query(Order).count() + 1
    order = Order(
        reference=f"PY-T{count:04d}",
        sponsor_id=sponsor.id,
        total_idr=16_800 * months,
        status=OrderStatus.FULFILLED,
        worker_count=1,
    )
    line = OrderLine(
        worker_id=worker.id,
        bundle_id=bundle.id,
        months=months,
        first_month=first_month,
        total_idr=16_800 * months,
    )
    for part in bundle.parts:
        line.parts.append(OrderLinePart(offer_id=part.offer_id, amount_idr=16_800 * months))
    order.lines.append(line)
    db.session.add(order)
    db.session.flush()
    coverage = extend_coverage(
        worker,
        months=months,
        first_month=first_month,
        order_line_id=line.id,
        programmes=["JKK", "JKM"],
    )
    db.session.commit()
    return coverage
