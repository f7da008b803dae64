"""Lines and orders of a chunk, settled once per chunk instead of inside every part's attempt.

The chunk's lines are locked together (in id order, so two chunks sharing lines never deadlock)
and read with two statements: their parts' statuses and their claim codes. A line with nothing
in progress, at least one part issued and no claim code gets its code (sent after the commit;
the chunk's codes and messages are written together, ``issue_claim_codes``).
Orders are completed after the chunk's commit (``services.complete_order_if_settled``), once per
order the chunk touched.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from core.locking import begin_write, is_sqlite
from extensions import db
from fulfillment.claims.services import issue_claim_codes
from fulfillment.models import IN_PROGRESS, ClaimCode, FulfillmentItem, ItemStatus
from sponsorship.checkout.models import OrderLine


def settle_lines(line_ids: Iterable[int], *, now: datetime) -> int:
    """Send the claim code of every line of ``line_ids`` that is now settled; how many."""
    ids = sorted(set(line_ids))
    if not ids:
        return 0
    statement = select(OrderLine).where(OrderLine.id.in_(ids)).order_by(OrderLine.id)
    if is_sqlite():
        begin_write()
    else:
        statement = statement.with_for_update(key_share=True)
    lines = list(db.session.scalars(statement))
    statuses: dict[int, set[str]] = defaultdict(set)
    for line_id, status in db.session.execute(
        select(FulfillmentItem.order_line_id, FulfillmentItem.status)
        .where(FulfillmentItem.order_line_id.in_(ids))
        .distinct()
    ):
        statuses[line_id].add(status)
    coded = set(
        db.session.scalars(select(ClaimCode.order_line_id).where(ClaimCode.order_line_id.in_(ids)))
    )
    settled = [
        line
        for line in lines
        if line.id not in coded
        and not statuses[line.id] & IN_PROGRESS
        and ItemStatus.ISSUED in statuses[line.id]
    ]
    issue_claim_codes(settled, now=now)  # in bulk: one delivery job for their messages
    return len(settled)
