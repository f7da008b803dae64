"""Users and one-time codes."""

import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import UtcDateTime, db, utcnow


def new_session_token() -> str:
    return secrets.token_urlsafe(16)


class Role(StrEnum):
    SPONSOR = "sponsor"
    PARTNER = "partner"
    ADMIN = "admin"
    WORKER = "worker"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Role] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    phone_e164: Mapped[str | None] = mapped_column(String(16), unique=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    # Part of the session cookie's user id: rotating it on sign-out ends every copy of the
    # session, including ones an attacker may have captured.
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
    is_disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:
        return not self.is_disabled

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class OneTimeCode(db.Model):
    """A short numeric code sent by SMS; stored only as a keyed hash."""

    __tablename__ = "one_time_codes"
    __table_args__ = (Index("ix_one_time_codes_phone_created", "phone_e164", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(32))
    code_digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SponsorKind(StrEnum):
    """Who a sponsor account is. The values are the dues rules' payer kinds
    (``bundles.dues.services.PayerKind``): a local government's orders pay full dues."""

    PERSON = "person"
    COMPANY = "company"
    GOVERNMENT = "government"


ORGANISATION_KINDS = frozenset({SponsorKind.COMPANY, SponsorKind.GOVERNMENT})


class SponsorProfile(db.Model):
    """A sponsor's kind and, for a company or a local government, the legal details its
    invoices, receipts and yearly statements carry. No row: a person."""

    __tablename__ = "sponsor_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    kind: Mapped[SponsorKind] = mapped_column(String(16), default=SponsorKind.PERSON)
    legal_name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    npwp: Mapped[str | None] = mapped_column(String(16))  # digits only
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def is_organisation(self) -> bool:
        return self.kind in ORGANISATION_KINDS

    @property
    def is_complete(self) -> bool:
        """An organisation with everything an invoice needs."""
        return self.is_organisation and bool(self.legal_name and self.address and self.npwp)
