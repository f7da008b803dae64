"""WhatsApp Business Cloud API, as Meta serves it (the parts Payung uses).

``POST /whatsapp/<version>/<phone-number-id>/messages`` with ``Authorization: Bearer <token>``
takes a template message and answers ``{"messaging_product", "contacts": [{"input",
"wa_id"}], "messages": [{"id": "wamid.…"}]}``; errors come as Meta's ``{"error": {"message",
"type", "code", "fbtrace_id"}}``. Statuses (``sent``, then ``delivered`` or ``failed``) go to
the configured webhook with ``X-Hub-Signature-256: sha256=<HMAC-SHA256(app secret, body)>``.
Meta has no Idempotency-Key; this sandbox honours one, as Payung sends it, so a retried send
reaches the phone once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from sandbox.messaging.state import MessagingState, Sent, current, send_reports

bp = Blueprint("sandbox_whatsapp", __name__, url_prefix="/whatsapp")

WA_ID = re.compile(r"^\d{8,15}$")


def meta_error(status: int, code: int, message: str, kind: str = "OAuthException") -> Response:
    response = jsonify(
        {
            "error": {
                "message": message,
                "type": kind,
                "code": code,
                "fbtrace_id": secrets.token_hex(6),
            }
        }
    )
    response.status_code = status
    return response


def webhook_body(state: MessagingState, value: dict[str, Any]) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": "6281100000000",
            "phone_number_id": state.settings["whatsapp_phone_number_id"],
        },
        **value,
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-SANDBOX", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def signed(state: MessagingState, body: bytes) -> tuple[str, bytes, dict[str, str]] | None:
    url = state.settings.get("whatsapp_webhook_url")
    if not url:
        return None
    secret = str(state.settings["whatsapp_app_secret"]).encode()
    digest = hmac.new(secret, body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}
    return url, body, headers


def _status_report(state: MessagingState, sent: Sent, status: str, reason: str | None):
    def build() -> tuple[str, bytes, dict[str, str]] | None:
        entry: dict[str, Any] = {
            "id": sent.message_id,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": sent.to,
        }
        if sent.reference:
            entry["biz_opaque_callback_data"] = sent.reference
        if status == "failed":
            entry["errors"] = [
                {"code": 131026, "title": reason or "Message undeliverable", "message": reason}
            ]
        return signed(state, webhook_body(state, {"statuses": [entry]}))

    return build


def _template_text(template: dict[str, Any]) -> tuple[str, str]:
    name = template.get("name")
    language = (template.get("language") or {}).get("code")
    if not isinstance(name, str) or not name or not isinstance(language, str):
        raise ValueError("template.name and template.language.code are required")
    texts = []
    for component in template.get("components") or []:
        for parameter in component.get("parameters") or []:
            if parameter.get("type") != "text" or not isinstance(parameter.get("text"), str):
                raise ValueError("only text parameters are supported")
            texts.append(parameter["text"])
    return name, "\n".join(texts)


@bp.post("/<version>/<phone_number_id>/messages")
def send_message(version: str, phone_number_id: str) -> Response:
    state = current()
    faults = state.faults["whatsapp"]
    with state.lock:
        state.requests_seen["whatsapp"] += 1
    if request.headers.get("Authorization") != f"Bearer {state.settings['whatsapp_access_token']}":
        return meta_error(401, 190, "Invalid OAuth access token.")
    if phone_number_id != state.settings["whatsapp_phone_number_id"]:
        return meta_error(400, 100, "Unsupported post request: unknown phone number id.")
    if faults.down:
        return meta_error(503, 2, "Service temporarily unavailable", kind="OAuthException")
    raw = request.get_data()
    try:
        payload = json.loads(raw)
        to = str(payload["to"])
        if payload.get("messaging_product") != "whatsapp" or payload.get("type") != "template":
            raise ValueError("messaging_product must be whatsapp and type template")
        if not WA_ID.match(to):
            raise ValueError("to must be a phone number in international format, digits only")
        template, text = _template_text(payload["template"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return meta_error(400, 100, f"(#100) Invalid parameter: {exc}")
    key = request.headers.get("Idempotency-Key")
    fingerprint = hashlib.sha256(raw).hexdigest()
    with state.lock:
        earlier = state.by_key.get(f"whatsapp:{key}") if key else None
        if earlier is not None:
            if earlier.body_fingerprint != fingerprint:
                return meta_error(422, 100, "Idempotency-Key reused with another message")
            return jsonify(earlier.answer)
        sent = Sent(
            provider="whatsapp",
            message_id=f"wamid.{secrets.token_hex(12)}",
            to=to,
            text=text,
            reference=payload.get("biz_opaque_callback_data"),
            template=template,
            body_fingerprint=fingerprint,
        )
        sent.answer = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": sent.message_id}],
        }
        state.sent.append(sent)
        if key:
            state.by_key[f"whatsapp:{key}"] = sent
    steps = [("sent", _status_report(state, sent, "sent", None))]
    if faults.fail:
        steps.append(("failed", _status_report(state, sent, "failed", faults.fail)))
    elif not faults.not_delivered:
        steps.append(("delivered", _status_report(state, sent, "delivered", None)))
    send_reports(state, sent, steps, faults.delay_ms / 1000)
    return jsonify(sent.answer)
