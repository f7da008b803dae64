"""What the development outbox (``pages.outbox``) shows: every message Payung would have sent,
with its delivery status; in ``make run`` also what reached the phones (the sandbox's WhatsApp
and SMS providers) and the emails the local SMTP server took (its Maildir, OUTBOX_MAIL_DIR)."""

import mailbox
from dataclasses import dataclass
from email.message import Message as Email
from pathlib import Path
from typing import Any

import requests
from flask import current_app
from sqlalchemy import select

from extensions import db
from messaging.models import Message

SHOWN = 50


@dataclass(frozen=True)
class ReceivedMail:
    key: str
    to: str
    subject: str
    date: str
    text: str


def _text_of(email: Email) -> str:
    for part in email.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return ""


def received_mail() -> list[ReceivedMail]:
    """The newest emails the local SMTP server took, newest first."""
    folder = current_app.config.get("OUTBOX_MAIL_DIR")
    if not folder or not Path(folder, "new").is_dir():
        return []
    box = mailbox.Maildir(folder, create=False)
    found = []
    for key, email in box.items():
        path = Path(folder, "new", key)
        when = path.stat().st_mtime if path.exists() else 0.0
        found.append((when, key, email))
    found.sort(key=lambda item: item[0], reverse=True)
    return [
        ReceivedMail(
            key=key,
            to=str(email["To"] or ""),
            subject=str(email["Subject"] or ""),
            date=str(email["Date"] or ""),
            text=_text_of(email),
        )
        for _when, key, email in found[:SHOWN]
    ]


def phones() -> list[dict[str, Any]]:
    """What the sandbox's WhatsApp and SMS providers put on phones, newest first."""
    config = current_app.config
    if not (config.get("WHATSAPP_API_URL") or config.get("SMS_API_URL")):
        return []
    try:
        answer = requests.get(
            config["PARTNER_SANDBOX_URL"].rstrip("/") + "/_messaging/messages", timeout=2
        )
        messages = answer.json()["messages"]
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return []
    return [m for m in reversed(messages) if m.get("to") != "payung"][:SHOWN]


def recent_messages() -> list[Message]:
    """Every message Payung would have sent, newest first (the latest 200)."""
    return list(
        db.session.scalars(
            select(Message).order_by(Message.created_at.desc(), Message.id.desc()).limit(200)
        ).all()
    )
