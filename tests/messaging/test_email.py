"""Email over SMTP to a real server (aiosmtpd on 127.0.0.1): a plain-text and an HTML part, in
the recipient's language, recorded delivered once the server took it; a sponsor's lapse alert
arrives there."""

from datetime import date

from sqlalchemy import select

from extensions import db
from messaging.models import Channel, Message, MessageStatus
from messaging.services import queue_message
from sponsorship.continuity.lapse_alerts import SPONSOR_PURPOSE, send_lapse_alerts
from tests.messaging.conftest import reread
from tests.sponsorship.test_lapse_alerts import funded  # noqa: F401 (a fixture)


def parts(email) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode(part.get_content_charset())
        for part in email.walk()
        if not part.is_multipart()
    }


def test_an_email_has_text_and_html_parts_and_is_recorded_delivered(app, smtp_server):
    message = queue_message(
        channel=Channel.EMAIL,
        recipient="sponsor@example.com",
        subject="Perlindungan Siti berakhir",
        body="Halo,\n\nPerlindungan <Siti> berakhir 1 Februari.\nPerpanjang di tautan ini.",
        purpose="test",
        locale="id",
    )
    db.session.commit()
    done = reread(message.id)
    assert done.status == MessageStatus.DELIVERED and done.delivered_at is not None
    ((sender, recipients, email),) = smtp_server.received
    assert recipients == ["sponsor@example.com"] and "payung" in sender
    assert email["Subject"] == "Perlindungan Siti berakhir"
    assert email["Content-Language"] == "id"
    assert (
        email["Message-ID"] == done.provider_reference == f"<payung-{message.id}-email@payung.id>"
    )
    found = parts(email)
    assert "Perlindungan <Siti> berakhir" in found["text/plain"]
    html = found["text/html"]
    assert "<p>Halo,</p>" in html and "&lt;Siti&gt;" in html and "<br>" in html


def test_a_refused_recipient_fails_with_the_servers_reason(app, smtp_server):
    smtp_server.refuse = "550 5.1.1 mailbox unavailable"
    message = queue_message(
        channel=Channel.EMAIL, recipient="gone@example.com", subject="x", body="x", purpose="t"
    )
    db.session.commit()
    failed = reread(message.id)
    assert failed.status == MessageStatus.FAILED
    assert failed.error == "email: 550: 5.1.1 mailbox unavailable"
    assert smtp_server.received == []


def test_no_server_listening_is_retried_later(app, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_PORT", 1)  # nothing listens on port 1
    message = queue_message(channel=Channel.EMAIL, recipient="a@example.com", body="x", purpose="t")
    db.session.commit()
    waiting = reread(message.id)
    assert waiting.status == MessageStatus.QUEUED and waiting.next_attempt_at is not None


def test_a_sponsors_lapse_alert_arrives_at_the_smtp_server(app, smtp_server, funded):  # noqa: F811
    _worker, sponsor, _bundle = funded
    send_lapse_alerts(date(2027, 1, 18))
    alert = db.session.scalar(select(Message).where(Message.purpose == SPONSOR_PURPOSE))
    assert reread(alert.id).status == MessageStatus.DELIVERED
    ((_sender, recipients, email),) = smtp_server.received
    assert recipients == [sponsor.email]
    assert "14 hari" in email["Subject"]  # Indonesian by default
    renew = f"http://127.0.0.1:5000/sponsor/perpanjang/{_worker.id}"
    assert renew in parts(email)["text/plain"]
    assert f'<a href="{renew}">{renew}</a>' in parts(email)["text/html"]
