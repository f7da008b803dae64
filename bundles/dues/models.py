"""BPU dues data the admin edits: rate versions, income bands and discounts, with history.

Rows are never deleted: a rate version or discount that should no longer apply is *withdrawn*
(and stays visible), an income band is *retired* from a month on. Orders keep a snapshot of the
rows they were priced with (their ids), so history explains every price ever charged.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bundles.dues.services import DuesDiscount, DuesRates, Programme
from extensions import UtcDateTime, db, utcnow


class DuesRateVersion(db.Model):
    """The BPU rates in force for contribution months from ``effective_from`` on."""

    __tablename__ = "dues_rate_versions"
    __table_args__ = (
        CheckConstraint(
            "jkk_rate_bp >= 0 AND jkm_flat_idr >= 0 AND jht_rate_bp >= 0", name="not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date, index=True)
    jkk_rate_bp: Mapped[int]  # basis points of the income band: 100 = 1 %
    jkm_flat_idr: Mapped[int]
    jht_rate_bp: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def as_rates(self) -> DuesRates:
        return DuesRates(
            effective_from=self.effective_from,
            jkk_rate_bp=self.jkk_rate_bp,
            jkm_flat_idr=self.jkm_flat_idr,
            jht_rate_bp=self.jht_rate_bp,
        )


class DuesIncomeBand(db.Model):
    """A reported-income band a worker may declare, offered from ``effective_from`` until the
    month before ``retired_from``."""

    __tablename__ = "dues_income_bands"
    __table_args__ = (CheckConstraint("amount_idr > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    amount_idr: Mapped[int] = mapped_column(index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    retired_from: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def in_force(self, month: date) -> bool:
        return self.effective_from <= month and (
            self.retired_from is None or month < self.retired_from
        )


class DuesDiscountRule(db.Model):
    """A percentage off some programmes for contribution months ``first_month``–``last_month``."""

    __tablename__ = "dues_discount_rules"
    __table_args__ = (
        CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
        CheckConstraint("last_month >= first_month", name="months_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    percent: Mapped[int]
    programmes: Mapped[str] = mapped_column(String(20))  # "JKK,JKM"
    first_month: Mapped[date] = mapped_column(Date)
    last_month: Mapped[date] = mapped_column(Date)
    transport_only: Mapped[bool] = mapped_column(default=False)
    excludes_government_payers: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def programme_list(self) -> list[Programme]:
        return [Programme(p) for p in self.programmes.split(",") if p]

    def as_discount(self) -> DuesDiscount:
        return DuesDiscount(
            name=self.name,
            percent=self.percent,
            programmes=frozenset(self.programme_list),
            first_month=self.first_month,
            last_month=self.last_month,
            transport_only=self.transport_only,
            excludes_government_payers=self.excludes_government_payers,
        )
