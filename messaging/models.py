"""Outbound messages: one row per text, WhatsApp or email, kept until it is delivered.

No ``__repr__`` here shows a body: bodies may hold one-time codes or bundle codes.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.errors import IllegalTransition
from extensions import UtcDateTime, db, utcnow
from vault import decrypt


class Channel(StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    EMAIL = "email"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


# A failed message is tried again (the sweeper) until it is sent; a sent one is done.
MESSAGE_TRANSITIONS: dict[MessageStatus, frozenset[MessageStatus]] = {
    MessageStatus.QUEUED: frozenset({MessageStatus.SENT, MessageStatus.FAILED}),
    MessageStatus.FAILED: frozenset({MessageStatus.SENT, MessageStatus.FAILED}),
    MessageStatus.SENT: frozenset(),
}


class Message(db.Model):
    """One outbound message. ``body`` is readable, with every code it carries replaced by
    ``••••••``; the whole text is kept only encrypted (``body_sealed``), until a real gateway
    has delivered it (the development outbox keeps it to show). Never logged."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    body_sealed: Mapped[str | None] = mapped_column(Text)  # vault.encrypt(whole text)
    purpose: Mapped[str] = mapped_column(String(40))
    status: Mapped[MessageStatus] = mapped_column(String(16), default=MessageStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    provider_reference: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    def full_body(self) -> str:
        """The text as the recipient reads it, codes included (while it is still kept)."""
        return decrypt(self.body_sealed) if self.body_sealed else self.body

    def transition(self, wanted: MessageStatus) -> None:
        """The only way a message's status changes; raises IllegalTransition otherwise."""
        current = MessageStatus(self.status or MessageStatus.QUEUED)
        if wanted not in MESSAGE_TRANSITIONS[current]:
            raise IllegalTransition("message", current, wanted)
        self.status = wanted
