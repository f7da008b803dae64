"""Claiming by SMS, for workers without data: ``KLAIM <bundle code>`` sent to Payung's number
is answered by SMS with the bundle's essentials (voucher code, KPJ, covered-until, data status).
"BERHENTI"/"STOP" and "MULAI"/"START" are answered first (``messaging.keywords``).

The SMS gateway posts each incoming SMS as JSON ``{"id": ..., "from": "+62…", "text": ...}``
to ``/sms/inbound``, signed like partner calls (``core.signing``: ``X-Payung-Timestamp`` and
``X-Payung-Signature: v1=<HMAC-SHA256(SMS_INBOUND_SECRET, "{timestamp}.{body}")>``; five
minutes of tolerance bound replays). Without SMS_INBOUND_SECRET the endpoint does not exist (404).

The sender's number stands in for the one-time code: the answer only ever goes back to the
number the bundle was sent to, so a code typed from another phone reveals nothing.
"""

import hashlib
import json
import re
from contextlib import suppress

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from accounts.access import public
from core.identity import InvalidPhone, normalize_phone
from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from extensions import csrf, db, limiter
from fulfillment.claims import claiming
from fulfillment.claims.codes import InvalidClaimCode
from fulfillment.claims.services import find_claim_code
from messaging.keywords import keyword_reply
from messaging.models import Channel, Message
from messaging.services import queue_message
from messaging.templates import render
from workers.models import Worker

bp = Blueprint("sms_inbound", __name__)

_KLAIM = re.compile(r"^\s*KLAIM\b[\s:]*(?P<code>.*)$", re.IGNORECASE | re.DOTALL)
REPLY_PURPOSE = "claim_sms_reply"


def reply_to_sms(sender: str, text: str) -> Message:
    """Answer one incoming SMS (queued, sent after the commit); claims the bundle when the
    sender is its worker."""
    stopped_or_started = keyword_reply(sender, text)
    if stopped_or_started is not None:
        return stopped_or_started
    match = _KLAIM.match(text or "")
    if match is None:
        return _reply(sender, render("klaim_help", "id").body)
    try:
        claim = find_claim_code(match.group("code"))
    except InvalidClaimCode as exc:
        return _reply(sender, "Payung: " + str(exc.message))
    worker = db.session.get(Worker, claim.worker_id) if claim is not None else None
    if claim is None or worker is None or worker.phone_e164 != sender:
        # The same answer for unknown codes and other people's codes.
        return _reply(sender, "Payung: " + str(claiming.UnknownClaimCode.message))
    if claim.claimed_at is None:
        # Claimed on the web a moment ago? The owner still gets the essentials.
        with suppress(claiming.AlreadyClaimed):
            claiming.mark_claimed(claim)
        db.session.refresh(claim)
    view = claiming.claimed_bundle(claim.id, worker, locale="id")
    assert view is not None
    return _reply(sender, essentials(view), secrets=secrets_in(view))


def essentials(view: claiming.BundleView) -> str:
    lines = [_("Payung: %(bundle)s.", bundle=view.bundle_name)]
    for part in view.parts:
        if not part.is_issued:
            lines.append(_("%(part)s: still being prepared.", part=part.name))
        elif part.kind == "health_app":
            codes = ", ".join(part.details.get("codes") or [])
            lines.append(_("%(part)s voucher: %(codes)s.", part=part.name, codes=codes))
        elif part.kind == "insurance_dues":
            until = part.details.get("covered_until")
            lines.append(
                _(
                    "BPJS KPJ %(kpj)s, %(programmes)s, covered until %(date)s.",
                    kpj=part.details.get("kpj") or "-",
                    programmes="+".join(part.details.get("programmes") or []),
                    date=until.strftime("%d-%m-%Y") if until else "-",
                )
            )
        elif part.kind == "data_quota":
            lines.append(_("%(part)s: sent to your number.", part=part.name))
    return " ".join(lines)


def secrets_in(view: claiming.BundleView) -> list[str]:
    """Voucher codes and the KPJ: stored only encrypted (``queue_message``)."""
    found: list[str] = []
    for part in view.parts:
        if part.is_issued:
            found.extend(str(code) for code in part.details.get("codes") or [])
            found.append(str(part.details.get("kpj") or ""))
    return found


def _reply(recipient: str, body: str, *, secrets: list[str] | None = None) -> Message:
    return queue_message(
        channel=Channel.SMS,
        recipient=recipient,
        body=body,
        purpose=REPLY_PURPOSE,
        secrets=secrets or (),
    )


def _sender_key() -> str:
    payload = request.get_json(silent=True) or {}
    sender = str(payload.get("from", "")) if isinstance(payload, dict) else ""
    return "sms-from:" + hashlib.sha256(sender.encode()).hexdigest()[:32]


def _sender_limit() -> str:
    return str(current_app.config.get("RATELIMIT_SMS_INBOUND", "10 per hour;30 per day"))


@bp.route("/sms/inbound", methods=["POST"])
@csrf.exempt
@limiter.limit(_sender_limit, key_func=_sender_key)
@public
def inbound() -> tuple[Response, int]:
    secret = current_app.config.get("SMS_INBOUND_SECRET")
    if not secret:
        return jsonify({"error": {"code": "not_found"}}), 404
    body = request.get_data(cache=True)
    try:
        verify(
            str(secret).encode(),
            request.headers.get(TIMESTAMP_HEADER),
            body,
            request.headers.get(SIGNATURE_HEADER),
        )
    except SignatureError as refused:
        return jsonify({"error": {"code": refused.code}}), 401
    try:
        payload = json.loads(body)
        sender = normalize_phone(str(payload["from"]))
        text = str(payload.get("text") or "")[:480]
    except (ValueError, KeyError, TypeError, InvalidPhone):
        return jsonify({"error": {"code": "bad_request"}}), 400
    message = reply_to_sms(sender, text)
    db.session.commit()
    return jsonify({"status": "ok", "reply_id": message.id}), 200
