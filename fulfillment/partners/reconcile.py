"""Partner calls whose outcome was never recorded, and asking the partner before repeating them.

An attempt runs in one transaction with the item locked; a worker killed during the partner
call loses everything the attempt wrote. So before an attempt that may call a partner, the job
notes the call on the item (``partner_call_started_at``) and commits. The note is cleared
with the recorded outcome; still there at the next attempt (the worker died, or the answer
was lost to a timeout), it makes the issuer ask the partner by the item's reference whether
the first call took effect (``IssueContext.reconcile``), record that if so, and only then call.
An idempotency key alone is not enough: a partner may forget it (a restart, an expiry).
"""

from bundles.models import FulfillmentMethod
from core.locking import lock_row
from extensions import db
from fulfillment import clock, services
from fulfillment.models import IN_PROGRESS, FulfillmentItem

PARTNER_METHODS = frozenset({FulfillmentMethod.PARTNER_API, FulfillmentMethod.DUES_REMITTANCE})


def note_partner_call(item_id: int) -> bool:
    """Before an attempt that may call a partner, note it on the item (the job commits this
    first, so it outlives a worker killed mid-call). True when an earlier attempt's note is
    still there: that call's outcome was never recorded, so the attempt must reconcile."""
    item = lock_row(FulfillmentItem, item_id, skip_locked=True)
    if item is None or item.status not in IN_PROGRESS or item.method not in PARTNER_METHODS:
        return False
    if item.partner_call_started_at is not None:
        return True
    now = clock.now()
    if item.partner_reference or (
        item.next_attempt_at and item.next_attempt_at > now + services.DUE_TOLERANCE
    ):
        return False  # only polls what the partner already has, or not due yet
    item.partner_call_started_at = now
    db.session.flush()
    return False
