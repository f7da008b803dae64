"""Where providers report back: WhatsApp's webhook (statuses and incoming texts) and the SMS
provider's delivery reports. Both are checked before anything is read: WhatsApp's
``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with WHATSAPP_APP_SECRET), the SMS
provider's ``core.signing`` headers (SMS_REPORT_SECRET). Without its secret an endpoint does
not exist (404). Incoming texts on WhatsApp go through the same keyword flow as SMS
(``/sms/inbound``): "BERHENTI"/"STOP" and "MULAI"/"START" change what the number receives, and
``KLAIM <code>`` is answered by the claims package (``messaging.keywords.answer_whatsapp_with``)."""

import json
from contextlib import suppress
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from werkzeug.wrappers import Response

from core.identity import InvalidPhone, normalize_phone
from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from extensions import csrf, db
from messaging.channels import whatsapp
from messaging.delivery import apply_report
from messaging.keywords import whatsapp_reply
from messaging.models import Channel

bp = Blueprint("messaging", __name__, url_prefix="/messaging")


def _public(view: Any) -> Any:
    view.access = "public"  # the providers call these; they prove themselves by signature
    return view


def _json_error(code: str, status: int) -> tuple[Response, int]:
    return jsonify({"error": {"code": code}}), status


@bp.get("/whatsapp/webhook")
@_public
def whatsapp_subscribe() -> tuple[str, int]:
    """Meta's subscription handshake: echo ``hub.challenge`` when the verify token matches."""
    token = current_app.config.get("WHATSAPP_VERIFY_TOKEN")
    if (
        token
        and request.args.get("hub.mode") == "subscribe"
        and request.args.get("hub.verify_token") == token
    ):
        return request.args.get("hub.challenge", ""), 200
    return "", 403


@bp.post("/whatsapp/webhook")
@csrf.exempt
@_public
def whatsapp_webhook() -> tuple[Response, int]:
    secret = current_app.config.get("WHATSAPP_APP_SECRET")
    if not secret:
        return _json_error("not_found", 404)
    body = request.get_data(cache=True)
    if not whatsapp.verify_signature(
        str(secret).encode(), body, request.headers.get(whatsapp.SIGNATURE_HEADER)
    ):
        return _json_error("invalid_signature", 401)
    try:
        payload = json.loads(body)
        updates = whatsapp.statuses(payload)
        texts = whatsapp.inbound_texts(payload)
    except (ValueError, TypeError, AttributeError):
        return _json_error("bad_request", 400)
    for update in updates:
        apply_report(
            Channel.WHATSAPP,
            update.reference,
            update.provider_reference,
            update.status,
            update.reason,
        )
        db.session.commit()
    for sender, text in texts:
        with suppress(InvalidPhone):
            whatsapp_reply(normalize_phone(sender), text[:480])
        db.session.commit()
    return jsonify({"status": "ok"}), 200


@bp.post("/sms/reports")
@csrf.exempt
@_public
def sms_report() -> tuple[Response, int]:
    secret = current_app.config.get("SMS_REPORT_SECRET")
    if not secret:
        return _json_error("not_found", 404)
    body = request.get_data(cache=True)
    try:
        verify(
            str(secret).encode(),
            request.headers.get(TIMESTAMP_HEADER),
            body,
            request.headers.get(SIGNATURE_HEADER),
        )
    except SignatureError as refused:
        return _json_error(refused.code, 401)
    try:
        report = json.loads(body)
        provider_reference = str(report["message_id"])
        status = str(report["status"])
    except (ValueError, KeyError, TypeError):
        return _json_error("bad_request", 400)
    reason = report.get("reason")
    apply_report(
        Channel.SMS,
        report.get("reference"),
        provider_reference,
        status,
        str(reason)[:150] if reason else None,
    )
    db.session.commit()
    return jsonify({"status": "ok"}), 200
