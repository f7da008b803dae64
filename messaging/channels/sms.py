"""SMS through a provider's HTTP API (as the Indonesian aggregators offer it), with delivery
reports.

``POST {SMS_API_URL}/messages`` with ``Authorization: Bearer <SMS_API_KEY>`` and an
``Idempotency-Key`` (the same for every retry of one message, so the provider sends it once):
``{"to", "text", "sender_id", "reference", "callback_url"}`` → ``202 {"message_id", "status":
"accepted"}``. The provider later POSTs a delivery report to ``callback_url``, signed like
partner calls (``core.signing`` with SMS_REPORT_SECRET): ``{"message_id", "reference",
"status": "delivered" | "failed", "reason"}``; :mod:`messaging.webhooks` checks and applies it.
"""

from dataclasses import dataclass

from messaging.channels import Outgoing, Receipt
from messaging.channels.http import post_json


@dataclass
class SmsAdapter:
    base_url: str
    api_key: str
    sender_id: str = "PAYUNG"
    timeout_seconds: float = 10.0

    def send(self, outgoing: Outgoing) -> Receipt:
        payload = {
            "to": outgoing.recipient,
            "text": outgoing.text,
            "sender_id": self.sender_id,
            "reference": outgoing.reference,
        }
        if outgoing.callback_url:
            payload["callback_url"] = outgoing.callback_url
        answer = post_json(
            self.base_url.rstrip("/") + "/messages",
            payload,
            {
                "Authorization": f"Bearer {self.api_key}",
                "Idempotency-Key": outgoing.idempotency_key,
            },
            self.timeout_seconds,
        )
        return Receipt(reference=str(answer.get("message_id") or outgoing.reference))
