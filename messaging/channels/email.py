"""Email over SMTP (standard library ``smtplib`` + ``email.message``): a plain-text part and
an HTML part made from the same text, ``Content-Language`` of the recipient's language.

SMTP tells us only that the server took the message, so that counts as delivered. The
``Message-ID`` names our message, so a retry after a lost answer is recognisable downstream.
"""

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from html import escape

from messaging.channels import Outgoing, Receipt, SendError


@dataclass
class SmtpAdapter:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    timeout_seconds: float = 10.0

    def send(self, outgoing: Outgoing) -> Receipt:
        email = compose(outgoing, sender=self.sender)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as refused:
            code, text = next(iter(refused.recipients.values()))
            raise SendError(f"{code}: {text.decode(errors='replace')}"[:200]) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(type(exc).__name__, transient=True) from None
        return Receipt(reference=str(email["Message-ID"]), delivered=True)


_URL = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)]")


def _paragraph(block: str) -> str:
    html = _URL.sub(lambda url: f'<a href="{url.group(0)}">{url.group(0)}</a>', escape(block))
    return "<p>" + html.replace("\n", "<br>") + "</p>"


def html_part(text: str) -> str:
    """Paragraphs of the text, its links clickable; everything else escaped."""
    paragraphs = "".join(_paragraph(block) for block in text.split("\n\n") if block.strip())
    return (
        '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5;'
        f'max-width:36em">{paragraphs}</body></html>'
    )


def compose(outgoing: Outgoing, *, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = outgoing.recipient
    email["Subject"] = outgoing.subject or "Payung"
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = f"<{outgoing.idempotency_key}@payung.id>"
    email.set_content(outgoing.text)
    email.add_alternative(html_part(outgoing.text), subtype="html")
    email["Content-Language"] = outgoing.locale  # after the parts: set_content drops it
    return email
