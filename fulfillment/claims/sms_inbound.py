"""Claiming by SMS, for workers without data: ``KLAIM <bundle code>`` sent to Payung's number
is answered by SMS with the bundle's essentials (voucher code, KPJ, covered-until, data status);
the answer is written in ``fulfillment.claims.sms_replies`` (also for WhatsApp). This view only
checks the gateway's signature, reads the payload, and commits.

The SMS gateway posts each incoming SMS as JSON ``{"id": ..., "from": "+62…", "text": ...}``
to ``/sms/inbound``, signed like partner calls (``core.signing``: ``X-Payung-Timestamp`` and
``X-Payung-Signature: v1=<HMAC-SHA256(SMS_INBOUND_SECRET, "{timestamp}.{body}")>``; five
minutes of tolerance bound replays). Without SMS_INBOUND_SECRET the endpoint does not exist (404).

The sender's number stands in for the one-time code: the answer only ever goes back to the
number the bundle was sent to, so a code typed from another phone reveals nothing.
"""

import hashlib
import json

from flask import Blueprint, current_app, jsonify, request
from werkzeug.wrappers import Response

from accounts.access import public
from core.identity import InvalidPhone, normalize_phone
from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from extensions import csrf, db, limiter
from fulfillment.claims.sms_replies import inbound_limit, reply_to_sms

bp = Blueprint("sms_inbound", __name__)


def _sender_key() -> str:
    payload = request.get_json(silent=True) or {}
    sender = str(payload.get("from", "")) if isinstance(payload, dict) else ""
    return "sms-from:" + hashlib.sha256(sender.encode()).hexdigest()[:32]


@bp.route("/sms/inbound", methods=["POST"])
@csrf.exempt
@limiter.limit(inbound_limit, key_func=_sender_key)
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
