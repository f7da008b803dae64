"""The claim pages' rate-limit keys and switches (see fulfillment.claims.views for the rules):
what a limit counts is decided here, next to the lookups it needs, so the views stay thin."""

import hashlib

from flask import current_app, g, request, session
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from core.rate_limits import phone_key
from extensions import db
from fulfillment.claims.codes import InvalidClaimCode, normalize_claim_code
from fulfillment.claims.services import claim_digest
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


def code_key() -> str:
    """Per bundle code typed (normalised, hashed)."""
    try:
        normalised = normalize_claim_code(request.form.get("code", ""))
    except InvalidClaimCode:
        return "claim-code:invalid"
    return "claim-code:" + hashlib.sha256(normalised.encode()).hexdigest()[:32]


def claim_phone_key() -> str:
    """Per phone behind the typed bundle code. Flask-Limiter asks for the key when it checks
    the limit and again when it counts a sent SMS: the phone is looked up once a request, with
    the code, in one query (under load every round trip to the database lengthens the tail).
    Kept with the code it was found for: an app context (``g``) may outlive one request."""
    typed = request.form.get("code", "")
    found = g.get("claim_phone_key")
    if found is None or found[0] != typed:
        found = g.claim_phone_key = (typed, _claim_phone_key(typed))
    return str(found[1])


def _claim_phone_key(typed: str) -> str:
    try:
        digest = claim_digest(normalize_claim_code(typed))
    except InvalidClaimCode:
        return "claim-phone:none"
    found = db.session.execute(
        select(Worker.phone_e164)
        .join(ClaimCode, ClaimCode.worker_id == Worker.id)
        .where(ClaimCode.code_digest == digest)
    ).first()
    if found is None:
        return "claim-phone:none"
    return "claim-phone:" + hashlib.sha256(str(found.phone_e164).encode()).hexdigest()[:32]


def pending_phone_key() -> str:
    """The phone the pending claim's one-time code went to; shared with the phone sign-in."""
    pending = session.get(PENDING) or {}
    phone = db.session.scalar(
        select(Worker.phone_e164)
        .join(ClaimCode, ClaimCode.worker_id == Worker.id)
        .where(ClaimCode.id == pending.get("id"))
    )
    return phone_key(phone) if phone else "phone:none"
