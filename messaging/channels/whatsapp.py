"""WhatsApp through the WhatsApp Business Cloud API.

Business-initiated messages must be approved *template* messages:
``POST {WHATSAPP_API_URL}/{version}/{phone-number-id}/messages`` with a Bearer token and
``{"messaging_product": "whatsapp", "to": "<digits>", "type": "template", "template": {"name",
"language": {"code"}, "components": [{"type": "body", "parameters": [{"type": "text",
"text"}]}]}, "biz_opaque_callback_data": "msg-<id>"}`` → ``{"messages": [{"id": "wamid…"}]}``.
A message from the catalogue goes as its own template with its parameters; any other text goes
as the one-parameter ``payung_notice`` template (so does a catalogue text without parameters,
or one written in bulk, whose parameters are not kept). An ``Idempotency-Key`` header names
the message, so a retry after a lost answer is not sent twice (the sandbox honours it).

Meta reports ``sent``, ``delivered``, ``read`` and ``failed`` to the webhook, signed with
``X-Hub-Signature-256: sha256=<HMAC-SHA256(app secret, raw body)>``; :func:`verify_signature`
checks it and :func:`statuses` / :func:`inbound_texts` read the payload.
"""

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from messaging.channels import Outgoing, Receipt, SendError
from messaging.channels.http import post_json

SIGNATURE_HEADER = "X-Hub-Signature-256"
GENERIC_TEMPLATE = "payung_notice"
LANGUAGE_CODES = {"id": "id", "en": "en"}


@dataclass
class WhatsAppAdapter:
    base_url: str
    version: str
    phone_number_id: str
    access_token: str
    timeout_seconds: float = 10.0

    def send(self, outgoing: Outgoing) -> Receipt:
        answer = post_json(
            f"{self.base_url.rstrip('/')}/{self.version}/{self.phone_number_id}/messages",
            template_message(outgoing),
            {
                "Authorization": f"Bearer {self.access_token}",
                "Idempotency-Key": outgoing.idempotency_key,
            },
            self.timeout_seconds,
        )
        messages = answer.get("messages")
        if not isinstance(messages, list) or not messages or "id" not in messages[0]:
            raise SendError("no message id in the answer", transient=True)
        return Receipt(reference=str(messages[0]["id"]))


def template_message(outgoing: Outgoing) -> dict[str, Any]:
    name, params = (
        (outgoing.template, outgoing.params)
        if outgoing.template and outgoing.params
        else (GENERIC_TEMPLATE, (outgoing.text,))
    )
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": outgoing.recipient.lstrip("+"),
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": LANGUAGE_CODES.get(outgoing.locale, "id")},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": value} for value in params],
                }
            ],
        },
        "biz_opaque_callback_data": outgoing.reference,
    }


def sign(app_secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret, body, hashlib.sha256).hexdigest()


def verify_signature(app_secret: bytes, body: bytes, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(sign(app_secret, body), str(header))


@dataclass(frozen=True)
class StatusUpdate:
    provider_reference: str
    reference: str | None  # our "msg-<id>", from biz_opaque_callback_data
    status: str  # sent, delivered, read, failed
    reason: str | None


def _values(payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value")
            if isinstance(value, dict):
                yield value


def statuses(payload: dict[str, Any]) -> list[StatusUpdate]:
    found = []
    for value in _values(payload):
        for status in value.get("statuses") or []:
            errors = status.get("errors") or [{}]
            reason = None
            if status.get("status") == "failed":
                error = errors[0] if isinstance(errors[0], dict) else {}
                reason = f"{error.get('code', '?')}: {error.get('title', 'failed')}"[:200]
            found.append(
                StatusUpdate(
                    provider_reference=str(status.get("id", "")),
                    reference=status.get("biz_opaque_callback_data"),
                    status=str(status.get("status", "")),
                    reason=reason,
                )
            )
    return found


def inbound_texts(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """``(sender "+62…", text)`` of every incoming text message."""
    found = []
    for value in _values(payload):
        for message in value.get("messages") or []:
            if message.get("type") == "text" and message.get("from"):
                text = str((message.get("text") or {}).get("body", ""))
                found.append(("+" + str(message["from"]).lstrip("+"), text))
    return found
