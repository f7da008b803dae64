"""A worker looking after their own record: a pending change of phone number, proven with a
code sent to the new number, and an audit trail of what the worker changed themselves."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import UtcDateTime, append_only, db, utcnow


class PhoneChange(db.Model):
    """A one-time code sent to a new number. Kept apart from sign-in codes, so asking for one
    never disturbs anyone's sign-in on that number; only the code's keyed hash is stored."""

    __tablename__ = "phone_changes"
    __table_args__ = (Index("ix_phone_changes_worker_created", "worker_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    new_phone_e164: Mapped[str] = mapped_column(String(16))
    code_digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<PhoneChange {self.id} worker {self.worker_id}>"


class ChangeKind(StrEnum):
    PHONE_CHANGED = "phone_changed"
    HEIR_ADDED = "heir_added"
    HEIR_CHANGED = "heir_changed"
    HEIR_REMOVED = "heir_removed"
    DATA_DOWNLOADED = "data_downloaded"


@append_only
class WorkerChange(db.Model):
    """Append-only: what a worker changed in their own record, and when. ``detail`` holds
    masked numbers only (no NIK, no full phone)."""

    __tablename__ = "worker_changes"
    __table_args__ = (Index("ix_worker_changes_worker_created", "worker_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    kind: Mapped[ChangeKind] = mapped_column(String(20))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
