"""Writing the admin audit log: ``record_admin_action`` is the one call every admin view makes
after its service succeeded and before it commits (so a refused action leaves no row).

Details are kept small and harmless: only plain values, no key that smells of personal data
(NIK, phone, codes), no value that looks like a phone number.
"""

import re
from typing import Any

from flask_babel import lazy_gettext as _l

from admin.models import AuditEvent
from extensions import db

# What admins do, and how the audit page names it.
ACTION_LABELS = {
    "partner.approve": _l("Partner approved"),
    "partner.reject": _l("Partner rejected"),
    "partner.suspend": _l("Partner suspended"),
    "partner.reinstate": _l("Partner reinstated"),
    "dues.rates_add": _l("Dues rates added"),
    "dues.rates_withdraw": _l("Dues rates withdrawn"),
    "dues.band_add": _l("Income band added"),
    "dues.band_retire": _l("Income band retired"),
    "dues.discount_add": _l("Discount added"),
    "dues.discount_withdraw": _l("Discount withdrawn"),
    "order.refund": _l("Order refunded"),
    "order.part_refund": _l("Order part refunded"),
    "fulfillment.retry": _l("Fulfillment retried"),
    "fulfillment.resend": _l("Bundle code resent"),
    "fulfillment.void": _l("Fulfillment voided"),
    "fulfillment.substitute": _l("Fulfillment substituted"),
}

_FORBIDDEN_KEY = re.compile(r"nik|phone|code|kpj|token|secret|password|email", re.IGNORECASE)
_PHONE_LIKE = re.compile(r"\+?\d[\d\s-]{8,}\d")
MAX_DETAILS = 12
MAX_VALUE_LENGTH = 120


def safe_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """Plain values only; keys naming personal data and phone-like strings are dropped."""
    kept: dict[str, Any] = {}
    for key, value in (details or {}).items():
        if len(kept) >= MAX_DETAILS or _FORBIDDEN_KEY.search(str(key)):
            continue
        if isinstance(value, bool | int | float) or value is None:
            kept[str(key)[:40]] = value
        elif isinstance(value, str) and not _PHONE_LIKE.search(value):
            kept[str(key)[:40]] = value[:MAX_VALUE_LENGTH]
    return kept


def record_admin_action(
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | str,
    *,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event to the session (the caller commits with its own change)."""
    entry = AuditEvent(
        actor_id=actor_id,
        action=action[:40],
        object_type=object_type[:40],
        object_id=str(object_id)[:64],
        reason=(reason or "").strip()[:300],
        details=safe_details(details),
    )
    db.session.add(entry)
    return entry
