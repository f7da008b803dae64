"""The generic HTTP gateway used before the provider adapters (SMS_GATEWAY_URL): one JSON post
per message, any channel. Kept so a deployment that has one keeps sending."""

from dataclasses import dataclass

import requests

from messaging.channels import Outgoing, Receipt, SendError


@dataclass
class HttpGatewayAdapter:
    url: str
    token: str | None
    channel: str
    timeout_seconds: float = 10.0

    def send(self, outgoing: Outgoing) -> Receipt:
        try:
            response = requests.post(
                self.url,
                json={
                    "channel": self.channel,
                    "to": outgoing.recipient,
                    "body": outgoing.text,
                    "reference": outgoing.reference,
                },
                headers={"Authorization": f"Bearer {self.token}"} if self.token else {},
                timeout=self.timeout_seconds,
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            raise SendError(type(exc).__name__, transient=True) from None
        return Receipt(reference=str(response.json().get("id", outgoing.reference)), reports=False)
