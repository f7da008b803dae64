"""The one rule for "months funded", shared by the sponsor dashboard, the yearly statement and
the coverage ledger (``sponsorship.continuity.ledger``).

A sponsor funds the *months of cover* made from the lines of its orders: the ``Coverage`` rows
(``Coverage.months``), which exist once the dues were remitted. Refunds are treated the same
everywhere: a fully refunded order funds nothing, and a part refunded before its dues were
remitted never made cover, so it is not counted either.

It sits in ``checkout`` (beside the order models) so that payments' statements can use it:
``continuity`` already imports ``payments``.
"""

from sqlalchemy import Select, select

from sponsorship.checkout.models import PAID_ORDER_STATUSES, Order, OrderLine, OrderStatus
from workers.models import Coverage

COUNTED_ORDER_STATUSES = PAID_ORDER_STATUSES - {OrderStatus.REFUNDED}


def funded_coverages() -> Select[tuple[Coverage]]:
    """SELECT the Coverage rows that count as funded (joins ``OrderLine`` and ``Order``; add
    ``.where(Order.sponsor_id == …)`` and columns as needed)."""
    return (
        select(Coverage)
        .join(OrderLine, OrderLine.id == Coverage.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status.in_(COUNTED_ORDER_STATUSES))
    )
