"""Settling order lines: a line whose parts are all settled, with at least one issued, gets its
claim code, once.

Every path settles lines here, in bulk: a chunk once for all its lines, a single attempt or a
partner's callback for the lines it touched, the sweeper for the lines a crash skipped. The
lines are locked together (in id order, so two transactions sharing lines never deadlock) and
read with two statements: their parts' statuses and their claim codes. The settled lines'
codes and messages are written together (``issue_claim_codes``: one INSERT of messages, one of
codes) and their messages go in one delivery job after the commit. The line lock and the unique
``order_line_id`` of a claim code make a second code, or a second message, impossible.
Orders are completed after the commit (``services.complete_order_if_settled``).
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


def settle_lines(line_ids: Iterable[int], *, now: datetime) -> list[ClaimCode]:
    """Make (and send after the commit) the claim code of every line of ``line_ids`` that is
    now settled and has none yet; the codes made."""
    ids = sorted(set(line_ids))
    if not ids:
        return []
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
    return issue_claim_codes(settled, now=now)  # in bulk: one delivery job for their messages
