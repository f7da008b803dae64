"""Helpers for the Xendit tests: the partner sandbox playing Xendit, settings that point the
app's ``xendit-python`` at it, and what the test operator does there (simulate a payment, read
and re-deliver the callbacks Xendit sent). Import the fixtures into a test module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.sandbox_support import PartnerSandbox

SECRET_KEY = "xnd_development_payung_tests"
CALLBACK_TOKEN = "payung-tests-callback-token"


@dataclass
class XenditSandbox:
    sandbox: PartnerSandbox

    @property
    def api_base(self) -> str:
        return self.sandbox.url("/xendit")

    def app_config(self) -> dict[str, Any]:
        return {
            "XENDIT_API_BASE": self.api_base,
            "XENDIT_SECRET_KEY": SECRET_KEY,
            "XENDIT_CALLBACK_TOKEN": CALLBACK_TOKEN,
        }

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(f"{self.api_base}{path}", timeout=10, auth=(SECRET_KEY, ""), **kwargs)

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.api_base}{path}", timeout=10, auth=(SECRET_KEY, ""))

    def send_callbacks_to(self, url: str | None, token: str = CALLBACK_TOKEN) -> None:
        answer = self.post("/_callback", json={"url": url, "token": token})
        assert answer.status_code == 200, answer.text

    def simulate(self, request_id: str) -> requests.Response:
        return self.post(f"/payment_requests/{request_id}/payments/simulate")

    def callbacks(self) -> list[dict[str, Any]]:
        answer = self.get("/_callbacks")
        assert answer.status_code == 200, answer.text
        return answer.json()["callbacks"]

    def callbacks_for(self, request_id: str) -> list[dict[str, Any]]:
        return [c for c in self.callbacks() if request_id in c["body"]]


@pytest.fixture
def xendit(sandbox: PartnerSandbox) -> XenditSandbox:
    """The session's sandbox, reset, sending no callbacks (tests deliver them)."""
    handle = XenditSandbox(sandbox)
    handle.send_callbacks_to(None)
    return handle
