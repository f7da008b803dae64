"""Lapse alerts already sent: one row per worker × cover period × threshold × recipient.

The unique constraint is what makes every alert go out once: the nightly run inserts the row
first (``ON CONFLICT DO NOTHING``) and writes the message only for rows it really inserted, in
the same transaction; the message is delivered after the commit. Two runs at once, or a run
repeated, find the rows taken and send nothing. A renewal moves ``covered_until``, so the next
period gets its own alerts.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from extensions import UtcDateTime, db, utcnow


class AlertRecipient(StrEnum):
    SPONSOR = "sponsor"  # recipient_id is a users.id; email
    WORKER = "worker"  # recipient_id is the workers.id; SMS or WhatsApp


class LapseAlert(db.Model):
    __tablename__ = "lapse_alerts"
    __table_args__ = (
        UniqueConstraint(
            "worker_id",
            "covered_until",
            "days_before",
            "recipient_kind",
            "recipient_id",
            name="uq_lapse_alerts_once",
        ),
        CheckConstraint("days_before > 0", name="days_before_positive"),
        Index("ix_lapse_alerts_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    covered_until: Mapped[date] = mapped_column(Date)  # the cover period the alert is about
    days_before: Mapped[int]  # the threshold: 14, 7 or 1 days before the lapse
    recipient_kind: Mapped[AlertRecipient] = mapped_column(String(8))
    recipient_id: Mapped[int]
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<LapseAlert {self.id} worker {self.worker_id} d-{self.days_before}>"
