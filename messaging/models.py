"""Outbound messages: one row per text, WhatsApp or email, kept until it is delivered; and
what each phone number asked for (its channel, and "BERHENTI"/"STOP").

No ``__repr__`` here shows a body or a number: bodies may hold one-time codes or bundle codes.
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
    QUEUED = "queued"  # waiting for its (next) attempt, on ``channel``
    SENT = "sent"  # the provider accepted it; no delivery report yet
    DELIVERED = "delivered"  # the provider reports it on the phone (or the mail server took it)
    FAILED = "failed"  # the provider's reason is in ``error``; no channel left to try


# queued → sent → delivered / failed. A message sent or failed on WhatsApp goes back to
# queued once, on its fallback channel (SMS). A failed one may be sent again by hand (the
# sweeper's old retries); a delivered one is done: exactly one delivered copy per message.
MESSAGE_TRANSITIONS: dict[MessageStatus, frozenset[MessageStatus]] = {
    MessageStatus.QUEUED: frozenset(
        {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.FAILED}
    ),
    MessageStatus.SENT: frozenset(
        {MessageStatus.DELIVERED, MessageStatus.FAILED, MessageStatus.QUEUED}
    ),
    MessageStatus.FAILED: frozenset(
        {MessageStatus.QUEUED, MessageStatus.SENT, MessageStatus.FAILED}
    ),
    MessageStatus.DELIVERED: frozenset(),
}


class Message(db.Model):
    """One outbound message. ``body`` is readable, with every code it carries replaced by
    ``••••••``; the whole text (and a template's parameters) is kept only encrypted
    (``body_sealed``, ``params_sealed``), until a real provider has accepted it (the
    development outbox keeps it to show). Never logged."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_status_created", "status", "created_at"),
        Index("ix_messages_status_fallback_at", "status", "fallback_at"),
    )

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
    error: Mapped[str | None] = mapped_column(String(200))  # the provider's reason
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Templates (messaging/templates.py): the catalogue id, the language it was written in
    # and its parameters (encrypted JSON: they may be codes), for WhatsApp template messages.
    template: Mapped[str | None] = mapped_column(String(40))
    locale: Mapped[str | None] = mapped_column(String(8))
    params_sealed: Mapped[str | None] = mapped_column(Text)
    # Delivery: the channel tried when this one fails or is not delivered by ``fallback_at``;
    # the next try after a provider error (backoff); when the provider reported it delivered.
    fallback_channel: Mapped[str | None] = mapped_column(String(16))
    fallback_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    def full_body(self) -> str:
        """The text as the recipient reads it, codes included (while it is still kept)."""
        return decrypt(self.body_sealed) if self.body_sealed else self.body

    def transition(self, wanted: MessageStatus) -> None:
        """The only way a message's status changes; raises IllegalTransition otherwise."""
        current = MessageStatus(self.status or MessageStatus.QUEUED)
        if wanted not in MESSAGE_TRANSITIONS[current]:
            raise IllegalTransition("message", current, wanted)
        self.status = wanted


class Contact(db.Model):
    """What one phone number asked for: WhatsApp or SMS, and whether it sent "BERHENTI" or
    "STOP" (then only essential messages reach it: one-time codes, claim codes). Kept by a
    keyed digest of the number, never the number itself."""

    __tablename__ = "message_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_digest: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str | None] = mapped_column(String(16))  # None: as the sender chose
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<Contact {self.id}>"
