"""What sponsors and workers say to each other through Payung, never with contact details:
the sponsor's note to the workers of an order, and a worker's thank-you back."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import UtcDateTime, db, utcnow

MESSAGE_MAX = 280  # the sponsor's note: about one SMS screen and a half
THANKS_TEXT_MAX = 160  # the worker's own words: one SMS


class SponsorNote(db.Model):
    """One per order. ``show_name`` is False until the sponsor opts in: workers then see "a
    sponsor" (a sponsor's name is their personal data; privacy is the default)."""

    __tablename__ = "sponsor_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    show_name: Mapped[bool] = mapped_column(default=False)
    message: Mapped[str | None] = mapped_column(String(MESSAGE_MAX))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<SponsorNote {self.id} order {self.order_id}>"


class ThanksPhrase(StrEnum):
    THANK_YOU = "thank_you"
    BLESS_YOU = "bless_you"
    FEEL_SAFE = "feel_safe"
    FAMILY = "family"


class ThankYou(db.Model):
    """A worker's thank-you for one order line: at most one per line (a unique constraint)."""

    __tablename__ = "thank_yous"
    __table_args__ = (Index("ix_thank_yous_order_created", "order_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    phrase: Mapped[ThanksPhrase] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(String(THANKS_TEXT_MAX))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<ThankYou {self.id} line {self.order_line_id}>"
