"""Rows an agent sent for a person Payung already knows (registered by themself or by another
partner). The agent is answered exactly as for a new worker, so enrolment cannot tell it who
is in Payung; the row waits here, nothing about the worker changes, and the worker is told by
SMS so that only they decide whether to work with that agent.

No NIK and no name here: the NIK's keyed digest and the phone are what a later upload of the
same row is recognised by (it is then "already sent", as a registered worker would be).
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from extensions import UtcDateTime, db, utcnow


class EnrolmentRequestStatus(StrEnum):
    PENDING = "pending"  # waiting for the worker


class EnrolmentRequest(db.Model):
    __tablename__ = "enrolment_requests"
    __table_args__ = (
        UniqueConstraint("partner_id", "nik_digest"),
        Index("ix_enrolment_requests_partner_phone", "partner_id", "phone_e164"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    nik_digest: Mapped[str] = mapped_column(String(64))
    phone_e164: Mapped[str] = mapped_column(String(16))
    # The worker already in Payung this row collided with (by NIK, else by phone).
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    status: Mapped[EnrolmentRequestStatus] = mapped_column(
        String(16), default=EnrolmentRequestStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<EnrolmentRequest {self.id} partner {self.partner_id}>"
