"""Items started in one transaction are enqueued together after its commit.

Orders paid in one transaction (a renewal run records a group of charges at once) then share
full chunk jobs instead of one small chunk job per order — which would defeat the partner
batches. Inside a savepoint, items keep their own callback: a savepoint rolled back drops its
items alone (``jobs.on_commit``).
"""

from collections.abc import Callable

from extensions import db
from jobs import on_commit

_TO_ENQUEUE = "payung_fulfillment_to_enqueue"  # (transaction, item ids) enqueued at its commit


def enqueue_together(item_ids: list[int], enqueue: Callable[[list[int]], None]) -> None:
    """``enqueue(ids)`` once the transaction commits, with every other call's ids of it."""
    session = db.session()
    root = session.get_transaction()
    if root is None or session.in_nested_transaction():
        on_commit(lambda: enqueue(item_ids))
        return
    pending = session.info.get(_TO_ENQUEUE)
    if pending is None or pending[0] is not root:  # the first items of this transaction
        pending = session.info[_TO_ENQUEUE] = (root, [])
        waiting = pending[1]

        def send() -> None:
            if session.info.get(_TO_ENQUEUE) is pending:
                del session.info[_TO_ENQUEUE]
            enqueue(waiting)

        on_commit(send)
    pending[1].extend(item_ids)
