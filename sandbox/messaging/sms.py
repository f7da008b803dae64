"""An SMS provider's HTTP API, as Indonesian aggregators offer it.

``POST /sms/v1/messages`` with ``Authorization: Bearer <api key>`` and an ``Idempotency-Key``:
``{"to": "+62…", "text", "sender_id", "reference", "callback_url"}`` → ``202 {"message_id",
"status": "accepted", "parts"}``. A delivery report ``{"message_id", "reference", "status":
"delivered" | "failed", "reason"}`` is then POSTed to ``callback_url``, signed like partner
calls (``core.signing``, X-Payung-Timestamp and X-Payung-Signature) with the report secret.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from core.signing import signed_headers
from sandbox.messaging.state import MessagingState, Sent, current, send_reports

bp = Blueprint("sandbox_sms", __name__, url_prefix="/sms/v1")

MSISDN = re.compile(r"^\+62\d{8,13}$")
MAX_TEXT = 1530  # ten concatenated parts of 153 characters
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _report(state: MessagingState, sent: Sent, url: str | None, status: str, reason: str | None):
    def build() -> tuple[str, bytes, dict[str, str]] | None:
        if not url:
            return None
        report: dict[str, Any] = {
            "message_id": sent.message_id,
            "reference": sent.reference,
            "status": status,
        }
        if reason:
            report["reason"] = reason
        body = json.dumps(report, separators=(",", ":")).encode()
        secret = str(state.settings["sms_report_secret"]).encode()
        return url, body, signed_headers(secret, body)

    return build


@bp.post("/messages")
def send_sms() -> Response | tuple[Response, int]:
    state = current()
    faults = state.faults["sms"]
    with state.lock:
        state.requests_seen["sms"] += 1
    if request.headers.get("Authorization") != f"Bearer {state.settings['sms_api_key']}":
        return error(401, "unauthorized", "invalid API key")
    if faults.down:
        return error(503, "unavailable", "the SMS centre is not answering, try again later")
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return error(400, "idempotency_key_required", "Idempotency-Key header is required")
    raw = request.get_data()
    try:
        payload = json.loads(raw)
        to, text = str(payload["to"]), str(payload["text"])
    except (ValueError, KeyError, TypeError):
        return error(400, "bad_request", "to and text are required")
    if not MSISDN.match(to):
        return error(422, "invalid_number", "to must be an Indonesian number in E.164")
    if not text or len(text) > MAX_TEXT:
        return error(422, "text_too_long", f"text must hold 1 to {MAX_TEXT} characters")
    callback = payload.get("callback_url")
    if callback and urlsplit(str(callback)).hostname not in LOOPBACK_HOSTS:
        return error(422, "invalid_callback", "callback_url must be on 127.0.0.1 in the sandbox")
    fingerprint = hashlib.sha256(raw).hexdigest()
    with state.lock:
        earlier = state.by_key.get(f"sms:{key}")
        if earlier is not None:
            if earlier.body_fingerprint != fingerprint:
                return error(422, "idempotency_conflict", "Idempotency-Key reused")
            return jsonify(earlier.answer), 202
        sent = Sent(
            provider="sms",
            message_id=f"sms_{secrets.token_hex(8)}",
            to=to,
            text=text,
            reference=payload.get("reference"),
            body_fingerprint=fingerprint,
        )
        parts = 1 if len(text) <= 160 else math.ceil(len(text) / 153)
        sent.answer = {"message_id": sent.message_id, "status": "accepted", "parts": parts}
        state.sent.append(sent)
        state.by_key[f"sms:{key}"] = sent
    if faults.fail:
        steps = [("failed", _report(state, sent, callback, "failed", faults.fail))]
    elif faults.not_delivered:
        steps = [("sent", lambda: None)]
    else:
        steps = [("delivered", _report(state, sent, callback, "delivered", None))]
    send_reports(state, sent, steps, faults.delay_ms / 1000)
    return jsonify(sent.answer), 202
