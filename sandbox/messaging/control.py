"""Test and ``make run`` controls of the messaging providers: fault switches, where WhatsApp
sends its webhooks, what reached the phones, a worker's reply on WhatsApp, and reset. Never
faulted or signed, so a test can always see and repair the sandbox."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, fields
from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from core.signing import signed_headers
from sandbox.messaging.state import PROVIDERS, Faults, Sent, current, send_reports
from sandbox.messaging.whatsapp import signed, webhook_body

bp = Blueprint("sandbox_messaging_control", __name__, url_prefix="/_messaging")

FAULT_FIELDS = {f.name for f in fields(Faults)}


def _bad(message: str) -> Response:
    response = jsonify({"error": {"code": "validation_failed", "message": message}})
    response.status_code = 400
    return response


def _object() -> dict[str, Any]:
    payload = json.loads(request.get_data() or b"{}")
    if not isinstance(payload, dict):
        raise ValueError("a JSON object is required")
    return payload


@bp.get("/faults")
def show_faults() -> dict[str, Any]:
    return current().faults_json()


@bp.post("/faults")
def set_faults() -> Response | dict[str, Any]:
    """``{"whatsapp": {"fail": "reason"}, "sms": {...}}``: each provider named is replaced
    whole (switches left out go back to off); providers not named keep theirs."""
    state = current()
    try:
        payload = _object()
        chosen = {}
        for provider, switches in payload.items():
            if provider not in PROVIDERS or not isinstance(switches, dict):
                raise ValueError(f"unknown provider {provider!r}")
            unknown = set(switches) - FAULT_FIELDS
            if unknown:
                raise ValueError(f"unknown fault switch {sorted(unknown)}")
            chosen[provider] = Faults(**switches)
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    with state.lock:
        state.faults.update(chosen)
    return state.faults_json()


@bp.post("/config")
def configure() -> Response | dict[str, Any]:
    state = current()
    try:
        payload = _object()
    except ValueError as exc:
        return _bad(str(exc))
    allowed = {"whatsapp_webhook_url"}
    if set(payload) - allowed:
        return _bad(f"only {sorted(allowed)} may be set")
    with state.lock:
        state.settings.update(payload)
    return {"whatsapp_webhook_url": state.settings.get("whatsapp_webhook_url")}


@bp.get("/messages")
def messages() -> dict[str, Any]:
    """What reached the phones (the sandbox's, not Payung's, copy), oldest first."""
    state = current()
    with state.lock:
        return {
            "messages": [
                {k: v for k, v in asdict(sent).items() if k not in {"answer", "body_fingerprint"}}
                for sent in state.sent
            ],
            "requests": dict(state.requests_seen),
            "reports": list(state.reports),
        }


@bp.post("/whatsapp/inbound")
def whatsapp_inbound() -> Response | dict[str, Any]:
    """A worker writes to Payung's WhatsApp number: ``{"from": "62812…", "text": "STOP"}``."""
    state = current()
    try:
        payload = _object()
        sender, text = str(payload["from"]).lstrip("+"), str(payload["text"])
    except (ValueError, KeyError, TypeError):
        return _bad("from and text are required")
    message = {
        "from": sender,
        "id": f"wamid.{secrets.token_hex(12)}",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    body = webhook_body(
        state,
        {"contacts": [{"profile": {"name": "Pekerja"}, "wa_id": sender}], "messages": [message]},
    )
    inbound = Sent(
        provider="whatsapp", message_id=message["id"], to="payung", text=text, reference=None
    )
    send_reports(state, inbound, [("received", lambda: signed(state, body))], 0)
    return {"status": "queued", "id": message["id"]}


@bp.post("/sms/inbound")
def sms_inbound() -> Response | dict[str, Any]:
    """A worker texts Payung's number: ``{"from": "+62812…", "text": "KLAIM …"}`` is posted,
    signed, to the site's ``/sms/inbound`` (SANDBOX_SMS_INBOUND_URL and _SECRET)."""
    state = current()
    url, secret = state.settings.get("sms_inbound_url"), state.settings.get("sms_inbound_secret")
    if not url or not secret:
        return _bad("SANDBOX_SMS_INBOUND_URL and SANDBOX_SMS_INBOUND_SECRET are not set")
    try:
        payload = _object()
        sender, text = str(payload["from"]), str(payload["text"])
    except (ValueError, KeyError, TypeError):
        return _bad("from and text are required")
    message_id = f"mo_{secrets.token_hex(8)}"
    body = json.dumps({"id": message_id, "from": sender, "text": text}).encode()
    headers = signed_headers(str(secret).encode(), body)
    inbound = Sent(provider="sms", message_id=message_id, to="payung", text=text, reference=None)
    send_reports(state, inbound, [("received", lambda: (url, body, headers))], 0)
    return {"status": "queued", "id": message_id}


@bp.post("/reset")
def reset() -> dict[str, Any]:
    current().reset()
    return {"status": "ok"}
