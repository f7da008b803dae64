"""What the messaging providers remember: the messages they took (by Idempotency-Key, so a
retry gets the first answer and the phone gets one copy), fault switches per provider, and the
reports they send back after ``delay_ms``, from a background thread, retried a few times.

Fault switches, per provider (``whatsapp``, ``sms``):
- ``down``: every send answers 503 (Payung retries with backoff);
- ``fail``: sends are accepted, then reported failed with this reason;
- ``not_delivered``: sends are accepted and reported sent, never delivered;
- ``delay_ms``: how long before reports go out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import requests
from flask import current_app

PROVIDERS = ("whatsapp", "sms")
REPORT_ATTEMPTS = 4


@dataclass
class Faults:
    down: bool = False
    fail: str | None = None
    not_delivered: bool = False
    delay_ms: int = 200


@dataclass
class Sent:
    provider: str
    message_id: str
    to: str
    text: str
    reference: str | None
    template: str | None = None
    status: str = "accepted"
    answer: dict[str, Any] = field(default_factory=dict)
    body_fingerprint: str = ""


@dataclass
class MessagingState:
    settings: dict[str, Any]
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: dict[str, Faults] = field(default_factory=lambda: {p: Faults() for p in PROVIDERS})
    by_key: dict[str, Sent] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    requests_seen: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PROVIDERS, 0))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MessagingState:
        return cls(
            settings={
                "whatsapp_access_token": config.get(
                    "WHATSAPP_ACCESS_TOKEN", "sandbox-whatsapp-token"
                ),
                "whatsapp_app_secret": config.get(
                    "WHATSAPP_APP_SECRET", "sandbox-whatsapp-app-secret"
                ),
                "whatsapp_phone_number_id": str(config.get("WHATSAPP_PHONE_NUMBER_ID", "1000")),
                "whatsapp_webhook_url": config.get("WHATSAPP_WEBHOOK_URL"),
                "sms_api_key": config.get("SMS_API_KEY", "sandbox-sms-key"),
                "sms_report_secret": config.get("SMS_REPORT_SECRET", "sandbox-sms-report-secret"),
                "sms_inbound_url": config.get("SMS_INBOUND_URL"),
                "sms_inbound_secret": config.get("SMS_INBOUND_SECRET"),
            }
        )

    def faults_json(self) -> dict[str, Any]:
        return {name: asdict(value) for name, value in self.faults.items()}

    def reset(self) -> None:
        with self.lock:
            self.faults = {p: Faults() for p in PROVIDERS}
            self.by_key.clear()
            self.sent.clear()
            self.reports.clear()
            self.requests_seen = dict.fromkeys(PROVIDERS, 0)


def current() -> MessagingState:
    state: MessagingState = current_app.extensions["sandbox_messaging"]
    return state


def send_reports(
    state: MessagingState,
    sent: Sent,
    steps: list[tuple[str, Callable[[], tuple[str, bytes, dict[str, str]] | None]]],
    delay_s: float,
) -> None:
    """Post each report after ``delay_s``: ``steps`` are (status, build) where build gives
    (url, body, headers) or None when there is nowhere to report to."""

    def run() -> None:
        time.sleep(delay_s)
        for status, build in steps:
            with state.lock:
                sent.status = status
            target = build()
            if target is None:
                continue
            url, body, headers = target
            outcome: dict[str, Any] = {"message_id": sent.message_id, "status": status}
            for attempt in range(1, REPORT_ATTEMPTS + 1):
                try:
                    answer = requests.post(url, data=body, headers=headers, timeout=10)
                    outcome["status_code"] = answer.status_code
                    if answer.ok:
                        break
                except requests.RequestException as exc:
                    outcome["error"] = type(exc).__name__
                time.sleep(0.2 * attempt)
            with state.lock:
                state.reports.append(outcome)

    threading.Thread(target=run, name=f"report-{sent.message_id}", daemon=True).start()
