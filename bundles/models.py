"""The catalog: partners, the offers they list, pool codes, bundles made of offers, API keys.

Statuses change only through ``transition()``; the rules of what may be listed, composed or sold
live in the services (``partners``, ``offers``, ``pools``, ``catalog``, ``pricing``).
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import UtcDateTime, db, utcnow


class IllegalPartnerTransition(Exception):
    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(f"partner cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


class PartnerKind(StrEnum):
    HEALTH_APP = "health_app"
    TELCO = "telco"
    INSURER = "insurer"
    AGENT = "agent"
    OTHER = "other"


class PartnerStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


PARTNER_TRANSITIONS: dict[PartnerStatus, frozenset[PartnerStatus]] = {
    PartnerStatus.PENDING: frozenset({PartnerStatus.APPROVED, PartnerStatus.REJECTED}),
    # A rejected partner may correct its profile and ask again.
    PartnerStatus.REJECTED: frozenset({PartnerStatus.PENDING}),
    PartnerStatus.APPROVED: frozenset({PartnerStatus.SUSPENDED}),
    PartnerStatus.SUSPENDED: frozenset({PartnerStatus.APPROVED}),
}


class OfferKind(StrEnum):
    INSURANCE_DUES = "insurance_dues"
    HEALTH_APP = "health_app"
    DATA_QUOTA = "data_quota"
    OTHER = "other"


class OfferBilling(StrEnum):
    """How a non-dues part is priced: per month of the line, or once per line."""

    MONTHLY = "monthly"  # unit price × quantity × months
    ONCE = "once"  # unit price × quantity


class Operator(StrEnum):
    TELKOMSEL = "telkomsel"


class FulfillmentMethod(StrEnum):
    CODE_POOL = "code_pool"
    PARTNER_API = "partner_api"
    DUES_REMITTANCE = "dues_remittance"


class PoolCodeStatus(StrEnum):
    AVAILABLE = "available"
    ISSUED = "issued"
    VOID = "void"


class Partner(db.Model):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[PartnerKind] = mapped_column(String(16))
    status: Mapped[PartnerStatus] = mapped_column(String(16), default=PartnerStatus.PENDING)
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(24), default="")
    website: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # Why the partner was rejected or suspended; shown to the partner.
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    user: Mapped["User"] = relationship(foreign_keys=[user_id])  # noqa: F821 (accounts.models.User)
    offers: Mapped[list["Offer"]] = relationship(back_populates="partner", order_by="Offer.id")

    @property
    def is_approved(self) -> bool:
        return self.status == PartnerStatus.APPROVED

    @property
    def notification_email(self) -> str | None:
        return self.contact_email or self.user.email

    def transition(self, wanted: PartnerStatus, *, by_id: int | None = None) -> None:
        """The only way a partner's status changes; raises IllegalPartnerTransition."""
        current = PartnerStatus(self.status)
        if wanted not in PARTNER_TRANSITIONS[current]:
            raise IllegalPartnerTransition(current, wanted)
        self.status = wanted
        self.status_changed_at = utcnow()
        self.status_changed_by_id = by_id

    def __repr__(self) -> str:
        return f"<Partner {self.id} {self.status}>"


class Offer(db.Model):
    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint("unit_price_idr >= 0", name="unit_price_not_negative"),
        CheckConstraint("low_stock_threshold >= 0", name="threshold_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[OfferKind] = mapped_column(String(16))
    name_id: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    description_id: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # Price of one unit (one voucher, one top-up) in whole rupiah; ``billing`` says whether a
    # unit is per month of the line or once. Dues offers are priced by the dues engine instead.
    unit_price_idr: Mapped[int] = mapped_column(default=0)
    billing: Mapped[OfferBilling] = mapped_column(String(10), default=OfferBilling.ONCE)
    fulfillment_method: Mapped[FulfillmentMethod] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(default=True)

    # Terms, by kind. Dues: the reported income band and whether JHT is included.
    income_idr: Mapped[int | None] = mapped_column()
    include_jht: Mapped[bool] = mapped_column(default=False)
    premium_days: Mapped[int | None] = mapped_column()  # health app: days of premium per unit
    quota_mb: Mapped[int | None] = mapped_column()  # data quota: size of one top-up
    validity_days: Mapped[int | None] = mapped_column()  # data quota: how long it lasts
    operator: Mapped[Operator | None] = mapped_column(String(16))  # e.g. Telkomsel numbers only
    terms_id: Mapped[str] = mapped_column(Text, default="")
    terms_en: Mapped[str] = mapped_column(Text, default="")

    # Partner API: where to call and the shared signing secret (encrypted with FIELD_KEY).
    api_endpoint_url: Mapped[str | None] = mapped_column(String(300))
    api_secret_encrypted: Mapped[str | None] = mapped_column(String(500))
    api_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    api_check_ok: Mapped[bool | None] = mapped_column()

    # Code pools: the partner is emailed once each time stock falls below the threshold.
    low_stock_threshold: Mapped[int] = mapped_column(default=100)
    low_stock_alerted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="offers")

    @property
    def is_dues(self) -> bool:
        return self.kind == OfferKind.INSURANCE_DUES

    @property
    def is_monthly(self) -> bool:
        return self.is_dues or self.billing == OfferBilling.MONTHLY

    @property
    def is_listed(self) -> bool:
        """Active and from an approved partner: what sponsors may buy."""
        return self.is_active and self.partner.status == PartnerStatus.APPROVED

    def name_in(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_id

    def description_in(self, locale: str) -> str:
        return self.description_en if locale == "en" else self.description_id

    def __repr__(self) -> str:
        return f"<Offer {self.id} {self.kind}>"


class PoolUpload(db.Model):
    """One accepted upload of codes (a CSV file in the browser or a JSON/CSV API call)."""

    __tablename__ = "pool_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    filename: Mapped[str] = mapped_column(String(200), default="")
    code_count: Mapped[int]
    earliest_expiry: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PoolCode(db.Model):
    """A voucher code uploaded by a partner. The code is encrypted; its digest is unique."""

    __tablename__ = "pool_codes"
    __table_args__ = (
        UniqueConstraint("offer_id", "code_digest"),
        # Free codes are drawn and held in expiry order: an index walk that stops at the
        # count asked for, however many codes the offer has.
        Index("ix_pool_codes_offer_status_expiry", "offer_id", "status", "expires_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"))
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("pool_uploads.id"), index=True)
    code_encrypted: Mapped[str] = mapped_column(String(300))
    code_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[PoolCodeStatus] = mapped_column(String(16), default=PoolCodeStatus.AVAILABLE)
    expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Held for an order (placed, not yet issued): nobody else may draw it while the order can
    # still be paid (``reserved_until``) or, once paid (``reserved_until`` empty), until its
    # issuer draws it. See ``bundles.codes.pools.reserve_codes``.
    reserved_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    reserved_until: Mapped[datetime | None] = mapped_column(UtcDateTime())

    def __repr__(self) -> str:
        return f"<PoolCode {self.id} {self.status}>"  # never the code


class Bundle(db.Model):
    """Parts sold together. ``owner_partner_id`` is the partner that composed it; a bundle
    without one is composed by Payung (the admin)."""

    __tablename__ = "bundles"
    __table_args__ = (CheckConstraint("platform_fee_idr >= 0", name="fee_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    summary_id: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str] = mapped_column(Text, default="")
    # Payung's fee, once per order line (one worker × this bundle × some months).
    platform_fee_idr: Mapped[int] = mapped_column(default=0)
    is_published: Mapped[bool] = mapped_column(default=False)
    # Demo data whose prices are invented (ComboFit's real price is not public).
    is_example_pricing: Mapped[bool] = mapped_column(default=False)
    owner_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    parts: Mapped[list["BundlePart"]] = relationship(
        back_populates="bundle", cascade="all, delete-orphan", order_by="BundlePart.id"
    )
    owner: Mapped[Partner | None] = relationship()

    def summary_in(self, locale: str) -> str:
        return self.summary_en if locale == "en" else self.summary_id


class BundlePart(db.Model):
    """One offer in a bundle. ``quantity`` is units per month for a monthly offer and units
    once for a one-off offer; a dues part always has quantity 1 (the months are the line's)."""

    __tablename__ = "bundle_parts"
    __table_args__ = (
        UniqueConstraint("bundle_id", "offer_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"))
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"))
    quantity: Mapped[int] = mapped_column(default=1)

    bundle: Mapped[Bundle] = relationship(back_populates="parts")
    offer: Mapped[Offer] = relationship()


class ApiKey(db.Model):
    """A partner's key for the JSON API. Only a keyed hash is stored; the key is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists to tell keys apart
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    partner: Mapped[Partner] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<ApiKey {self.id} {self.prefix}…>"


class CatalogStamp(db.Model):
    """One row whose ``stamp`` changes, in the same transaction, with every change to what the
    public catalogue shows or prices with (partners, offers, bundles and their parts, the dues
    tables): the key of the per-process page caches (``bundles.catalog_stamp``)."""

    __tablename__ = "catalog_stamps"

    id: Mapped[int] = mapped_column(primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)
