"""The claim pages' rate-limit keys and switches (see fulfillment.claims.views for the rules):
what a limit counts is decided here, next to the lookups it needs, so the views stay thin."""

import hashlib

from flask import current_app, g, request, session
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from core.rate_limits import phone_key
from core.writing import without_transaction
from extensions import db
from fulfillment.claims.codes import InvalidClaimCode
from fulfillment.claims.services import TypedClaim, look_up_claim
from fulfillment.models import ClaimCode
from workers.models import Worker

PENDING = "claim_pending"  # {"id": claim id, "v": version, "phone": masked phone}


def sent(response: Response) -> bool:
    return bool(g.get("claim_sms_sent"))


def sends_no_sms() -> bool:
    # A signed-in worker claims with the code alone (or is refused): no SMS to cap.
    return bool(current_user.is_authenticated and current_user.phone_e164)


def ip_limit() -> str:
    return str(current_app.config.get("RATELIMIT_CLAIM_FAILURES", "10 per hour"))


def wrong_code_limit() -> str:
    return current_app.config["RATELIMIT_OTP_WRONG_PER_PHONE"]


def send_limit() -> str:
    return str(current_app.config.get("RATELIMIT_CLAIM_SMS", "5 per hour;10 per day"))


def claim_phone_key() -> str:
    """Per phone behind the typed bundle code (``claim-phone:none`` when there is none)."""
    try:
        found = typed_claim(request.form.get("code", ""))
    except InvalidClaimCode:
        return "claim-phone:none"
    if found is None:
        return "claim-phone:none"
    return "claim-phone:" + hashlib.sha256(found.phone_e164.encode()).hexdigest()[:32]


def typed_claim(typed: str) -> TypedClaim | None:
    """``look_up_claim(typed)``, once a request: Flask-Limiter asks for the per-phone key when
    it checks the limit and again when it counts a sent SMS, and the view claims with the same
    row (under load every round trip to the database lengthens the tail). Kept with the code it
    was found for: an app context (``g``) may outlive one request. Raises InvalidClaimCode.
    A claim by SMS reads and writes outside a transaction on PostgreSQL."""
    found = g.get("typed_claim")
    if found is None or found[0] != typed:
        if not sends_no_sms():
            # Its one write is the one-time code with its SMS, in one statement: no
            # transaction around the read and the write (core.writing; a signed-in worker's
            # claim links and marks in a transaction).
            without_transaction()
        found = g.typed_claim = (typed, look_up_claim(typed))
    return found[1]  # type: ignore[no-any-return]


def pending_phone_key() -> str:
    """The phone the pending claim's one-time code went to; shared with the phone sign-in."""
    pending = session.get(PENDING) or {}
    phone = pending_claim_phone(pending.get("id"))
    return phone_key(phone) if phone else "phone:none"


def pending_claim_phone(claim_id: object) -> str | None:
    """The pending claim and its worker, read once a request and joined: the limit asks for
    the phone when it checks and again when it counts a wrong code, and the view's
    ``finish_claim`` finds both rows in the session instead of reading them again. Kept in
    ``g`` with the claim id it was read for (the session holds its objects only as long as
    someone else does)."""
    found = g.get("pending_claim")
    if found is None or found[0] != claim_id:
        row = db.session.execute(
            select(ClaimCode, Worker)
            .join(Worker, ClaimCode.worker_id == Worker.id)
            .where(ClaimCode.id == claim_id)
        ).first()
        found = g.pending_claim = (claim_id, row, row[1].phone_e164 if row else None)
    return found[2]  # type: ignore[no-any-return]
