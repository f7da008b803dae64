"""Messaging against real servers: the partner sandbox plays WhatsApp's Cloud API and the SMS
provider (over HTTP, reports included), Payung listens on a real port for their reports, and
email goes to a real ``aiosmtpd`` SMTP server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as Email
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import select
from werkzeug.serving import make_server

from extensions import db
from messaging.models import Message
from tests.sandbox_support import PartnerSandbox, _free_port

WHATSAPP_SECRET = "sandbox-whatsapp-app-secret"
SMS_REPORT_SECRET = "sandbox-sms-report-secret"


@dataclass
class Providers:
    """The sandbox's WhatsApp and SMS providers, as Payung is configured to use them."""

    sandbox: PartnerSandbox
    site_url: str

    def faults(self, **providers: dict[str, Any]) -> None:
        answer = requests.post(self.sandbox.url("/_messaging/faults"), json=providers, timeout=10)
        answer.raise_for_status()

    def phones(self) -> list[dict[str, Any]]:
        """What reached the phones, oldest first."""
        answer = requests.get(self.sandbox.url("/_messaging/messages"), timeout=10)
        return list(answer.json()["messages"])

    def requests_seen(self) -> dict[str, int]:
        answer = requests.get(self.sandbox.url("/_messaging/messages"), timeout=10)
        return dict(answer.json()["requests"])

    def whatsapp_reply(self, sender: str, text: str) -> None:
        answer = requests.post(
            self.sandbox.url("/_messaging/whatsapp/inbound"),
            json={"from": sender, "text": text},
            timeout=10,
        )
        answer.raise_for_status()


@pytest.fixture
def live_site(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def providers(app, sandbox, live_site, monkeypatch) -> Providers:
    requests.post(sandbox.url("/_messaging/reset"), timeout=10).raise_for_status()
    requests.post(
        sandbox.url("/_messaging/config"),
        json={"whatsapp_webhook_url": f"{live_site}/messaging/whatsapp/webhook"},
        timeout=10,
    ).raise_for_status()
    for key, value in {
        "WHATSAPP_API_URL": sandbox.url("/whatsapp"),
        "WHATSAPP_PHONE_NUMBER_ID": "1000",
        "WHATSAPP_ACCESS_TOKEN": "sandbox-whatsapp-token",
        "WHATSAPP_APP_SECRET": WHATSAPP_SECRET,
        "SMS_API_URL": sandbox.url("/sms/v1"),
        "SMS_API_KEY": "sandbox-sms-key",
        "SMS_REPORT_SECRET": SMS_REPORT_SECRET,
        "MESSAGING_CALLBACK_BASE_URL": live_site,
        "MESSAGING_RETRY_BASE_S": 30.0,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return Providers(sandbox=sandbox, site_url=live_site)


def reread(message_id: int) -> Message:
    db.session.rollback()  # end the test's transaction: see what the reports committed
    found = db.session.scalar(
        select(Message).where(Message.id == message_id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


def wait_for(message_id: int, done: Callable[[Message], bool], timeout: float = 15.0) -> Message:
    """The message once ``done`` holds for it (reports arrive from the sandbox's thread)."""
    deadline = time.monotonic() + timeout
    while True:
        message = reread(message_id)
        if done(message):
            return message
        if time.monotonic() > deadline:
            raise AssertionError(
                f"message {message_id} still {message.status} on {message.channel}: {message.error}"
            )
        time.sleep(0.1)


@dataclass
class Mailbox:
    host: str
    port: int
    received: list[tuple[str, list[str], Email]] = field(default_factory=list)
    refuse: str | None = None  # an SMTP answer to give every recipient, e.g. "550 …"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(app, monkeypatch) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on a free local port; Payung is told to send there."""
    mailbox = Mailbox(host="127.0.0.1", port=_free_port())
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    controller.start()
    for key, value in {
        "SMTP_HOST": mailbox.host,
        "SMTP_PORT": mailbox.port,
        "SMTP_STARTTLS": False,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    try:
        yield mailbox
    finally:
        controller.stop()
