"""The dev outbox shows each message's delivery status, what reached the phones in the sandbox,
and what the local SMTP server (aiosmtpd's Maildir handler, as ``make run`` starts it) took."""

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from extensions import db
from messaging.models import Channel, MessageStatus
from messaging.services import queue_message
from tests.messaging.conftest import reread, wait_for
from tests.sandbox_support import _free_port


def test_the_outbox_shows_the_maildir_of_the_local_smtp_server(app, client, tmp_path, monkeypatch):
    folder = tmp_path / "dev-mail"
    port = _free_port()
    controller = Controller(Mailbox(str(folder)), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for key, value in {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": port,
            "SMTP_STARTTLS": False,
            "OUTBOX_MAIL_DIR": str(folder),
        }.items():
            monkeypatch.setitem(app.config, key, value)
        message = queue_message(
            channel=Channel.EMAIL,
            recipient="sponsor@example.com",
            subject="Perlindungan Siti berakhir dalam 14 hari",
            body="Perpanjang sekarang.",
            purpose="t",
        )
        db.session.commit()
    finally:
        controller.stop()
    assert reread(message.id).status == MessageStatus.DELIVERED
    page = client.get("/dev/outbox").text
    assert "At the local SMTP server" in page or "server SMTP" in page
    assert page.count("Perlindungan Siti berakhir dalam 14 hari") == 2  # the row and the mail


def test_the_outbox_shows_the_phones_and_each_status(app, client, providers, monkeypatch):
    monkeypatch.setitem(app.config, "PARTNER_SANDBOX_URL", providers.sandbox.base_url)
    providers.faults(whatsapp={"fail": "Message undeliverable", "delay_ms": 0})
    message = queue_message(
        channel=Channel.WHATSAPP, recipient="+6281234567890", body="Payung: halo", purpose="t"
    )
    db.session.commit()
    wait_for(message.id, lambda m: m.status == MessageStatus.DELIVERED)
    page = client.get("/dev/outbox").text
    assert "whatsapp: 131026: Message undeliverable" in page
    assert page.count("Payung: halo") == 3  # the row, then WhatsApp's and the SMS's copies
