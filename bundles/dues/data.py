"""The dues data in the database: seeding the defaults, loading what is in force, and the
admin's edits (each one adds or closes a row, never rewrites one, so history is kept)."""

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import func, select

from bundles.dues.models import DuesDiscountRule, DuesIncomeBand, DuesRateVersion
from bundles.dues.services import (
    DEFAULT_DISCOUNTS,
    DEFAULT_INCOME_BANDS,
    DEFAULT_RATE_HISTORY,
    DuesDiscount,
    DuesRates,
    InvalidDuesData,
    rates_for,
)
from core.errors import DomainError
from extensions import db, utcnow

# Bands are offered from the first contribution month the rates cover.
DEFAULT_BANDS_FROM = DEFAULT_RATE_HISTORY[0].effective_from
DEFAULT_NOTE = "Default seed (bundles.dues)"


class DuesDataError(DomainError):
    """An edit the admin must correct; ``field`` names the form field, ``message`` is lazy."""

    def __init__(self, message: LazyString, *, field: str | None = None) -> None:
        super().__init__(message, field=field, summary=field or "dues data refused")


@dataclass(frozen=True)
class DuesTables:
    """Everything in force (not withdrawn), ready for ``quote_dues``."""

    rate_versions: tuple[DuesRateVersion, ...]
    discount_rules: tuple[DuesDiscountRule, ...]
    bands: tuple[DuesIncomeBand, ...]
    rate_history: tuple[DuesRates, ...] = field(init=False)
    discounts: tuple[DuesDiscount, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate_history", tuple(v.as_rates() for v in self.rate_versions))
        object.__setattr__(self, "discounts", tuple(r.as_discount() for r in self.discount_rules))

    def bands_for(self, month: date) -> tuple[int, ...]:
        return tuple(sorted({band.amount_idr for band in self.bands if band.in_force(month)}))

    def rate_version_for(self, month: date) -> DuesRateVersion:
        rates = rates_for(month, self.rate_history)
        return next(v for v in self.rate_versions if v.effective_from == rates.effective_from)

    def discount_rule_for(self, name: str, month: date) -> DuesDiscountRule | None:
        return next(
            (
                rule
                for rule in self.discount_rules
                if rule.name == name and rule.first_month <= month <= rule.last_month
            ),
            None,
        )


def ensure_default_dues_data() -> bool:
    """Seed the ``DEFAULT_*`` rates, bands and discounts into empty tables; return whether
    anything was added. Safe to call any number of times (no migration needed)."""
    added = False
    if not db.session.scalar(select(func.count()).select_from(DuesRateVersion)):
        for rates in DEFAULT_RATE_HISTORY:
            db.session.add(
                DuesRateVersion(
                    effective_from=rates.effective_from,
                    jkk_rate_bp=rates.jkk_rate_bp,
                    jkm_flat_idr=rates.jkm_flat_idr,
                    jht_rate_bp=rates.jht_rate_bp,
                    note=DEFAULT_NOTE,
                )
            )
        added = True
    if not db.session.scalar(select(func.count()).select_from(DuesIncomeBand)):
        db.session.add_all(
            DuesIncomeBand(amount_idr=amount, effective_from=DEFAULT_BANDS_FROM)
            for amount in DEFAULT_INCOME_BANDS
        )
        added = True
    if not db.session.scalar(select(func.count()).select_from(DuesDiscountRule)):
        for rule in DEFAULT_DISCOUNTS:
            db.session.add(
                DuesDiscountRule(
                    name=rule.name,
                    percent=rule.percent,
                    programmes=",".join(sorted(rule.programmes)),
                    first_month=rule.first_month,
                    last_month=rule.last_month,
                    transport_only=rule.transport_only,
                    excludes_government_payers=rule.excludes_government_payers,
                    note=DEFAULT_NOTE,
                )
            )
        added = True
    if added:
        db.session.flush()
    return added


def load_dues_tables() -> DuesTables:
    """The rows in force. A database that never had dues data gets the defaults first.

    The defaults are looked for only when a table comes back empty: three ``count(*)`` on
    every bundle page were a tenth of its time (issue 16)."""
    tables = _read_dues_tables()
    complete = tables.rate_versions and tables.discount_rules and tables.bands
    if not complete and ensure_default_dues_data():
        tables = _read_dues_tables()
    return tables


def _read_dues_tables() -> DuesTables:
    versions = db.session.scalars(
        select(DuesRateVersion)
        .where(DuesRateVersion.withdrawn_at.is_(None))
        .order_by(DuesRateVersion.effective_from)
    ).all()
    rules = db.session.scalars(
        select(DuesDiscountRule)
        .where(DuesDiscountRule.withdrawn_at.is_(None))
        .order_by(DuesDiscountRule.first_month, DuesDiscountRule.id)
    ).all()
    bands = db.session.scalars(select(DuesIncomeBand).order_by(DuesIncomeBand.amount_idr)).all()
    return DuesTables(
        rate_versions=tuple(versions), discount_rules=tuple(rules), bands=tuple(bands)
    )


# --- admin edits ---------------------------------------------------------------------------


def _first_of_month(value: date, field_name: str) -> None:
    if value.day != 1:
        raise DuesDataError(_l("Choose a month: changes start on the 1st."), field=field_name)


def add_rate_version(
    *,
    effective_from: date,
    jkk_rate_bp: int,
    jkm_flat_idr: int,
    jht_rate_bp: int,
    note: str,
    by_id: int | None,
) -> DuesRateVersion:
    _first_of_month(effective_from, "effective_from")
    try:
        DuesRates(effective_from, jkk_rate_bp, jkm_flat_idr, jht_rate_bp)
    except InvalidDuesData:
        raise DuesDataError(_l("Rates must be whole numbers of zero or more.")) from None
    clash = db.session.scalar(
        select(DuesRateVersion.id).where(
            DuesRateVersion.effective_from == effective_from,
            DuesRateVersion.withdrawn_at.is_(None),
        )
    )
    if clash is not None:
        raise DuesDataError(
            _l("Rates already start that month. Withdraw them first to replace them."),
            field="effective_from",
        )
    version = DuesRateVersion(
        effective_from=effective_from,
        jkk_rate_bp=jkk_rate_bp,
        jkm_flat_idr=jkm_flat_idr,
        jht_rate_bp=jht_rate_bp,
        note=note.strip(),
        created_by_id=by_id,
    )
    db.session.add(version)
    db.session.flush()
    return version


def withdraw_rate_version(version: DuesRateVersion, *, by_id: int | None) -> None:
    if version.withdrawn_at is not None:
        return
    others = db.session.scalar(
        select(func.count())
        .select_from(DuesRateVersion)
        .where(DuesRateVersion.withdrawn_at.is_(None), DuesRateVersion.id != version.id)
    )
    if not others:
        raise DuesDataError(_l("Dues cannot be priced without rates: add new rates first."))
    version.withdrawn_at = utcnow()
    version.withdrawn_by_id = by_id
    db.session.flush()


def add_income_band(*, amount_idr: int, effective_from: date, by_id: int | None) -> DuesIncomeBand:
    _first_of_month(effective_from, "effective_from")
    if amount_idr <= 0:
        raise DuesDataError(_l("The income must be more than Rp0."), field="amount_idr")
    open_bands = db.session.scalars(
        select(DuesIncomeBand).where(
            DuesIncomeBand.amount_idr == amount_idr, DuesIncomeBand.retired_from.is_(None)
        )
    ).all()
    if open_bands:
        raise DuesDataError(_l("This income band is already offered."), field="amount_idr")
    band = DuesIncomeBand(amount_idr=amount_idr, effective_from=effective_from, created_by_id=by_id)
    db.session.add(band)
    db.session.flush()
    return band


def retire_income_band(band: DuesIncomeBand, *, retired_from: date, by_id: int | None) -> None:
    _first_of_month(retired_from, "retired_from")
    if band.retired_from is not None:
        raise DuesDataError(_l("This income band is already retired."))
    if retired_from <= band.effective_from:
        raise DuesDataError(
            _l("A band can only be retired after the month it starts."), field="retired_from"
        )
    band.retired_from = retired_from
    band.retired_by_id = by_id
    db.session.flush()


def add_discount_rule(
    *,
    name: str,
    percent: int,
    programmes: list[str],
    first_month: date,
    last_month: date,
    transport_only: bool,
    excludes_government_payers: bool,
    note: str,
    by_id: int | None,
) -> DuesDiscountRule:
    _first_of_month(first_month, "first_month")
    _first_of_month(last_month, "last_month")
    try:
        rule = DuesDiscount(
            name=name.strip(),
            percent=percent,
            programmes=frozenset(programmes),
            first_month=first_month,
            last_month=last_month,
            transport_only=transport_only,
            excludes_government_payers=excludes_government_payers,
        )
    except InvalidDuesData as error:
        messages = {
            "percent": (_l("A discount is between 0 and 100 %."), "percent"),
            "programmes": (_l("Choose at least one programme."), "programmes"),
            "months": (_l("The last month cannot be before the first month."), "last_month"),
        }
        message, field_name = messages.get(error.code, (_l("Check the discount."), None))
        raise DuesDataError(message, field=field_name) from None
    row = DuesDiscountRule(
        name=rule.name,
        percent=rule.percent,
        programmes=",".join(sorted(rule.programmes)),
        first_month=rule.first_month,
        last_month=rule.last_month,
        transport_only=rule.transport_only,
        excludes_government_payers=rule.excludes_government_payers,
        note=note.strip(),
        created_by_id=by_id,
    )
    db.session.add(row)
    db.session.flush()
    return row


def withdraw_discount_rule(rule: DuesDiscountRule, *, by_id: int | None) -> None:
    if rule.withdrawn_at is None:
        rule.withdrawn_at = utcnow()
        rule.withdrawn_by_id = by_id
        db.session.flush()


def dues_history() -> dict[str, list]:
    """Every row, withdrawn and retired ones too, newest first: what the admin page lists."""
    return {
        "rates": list(
            db.session.scalars(
                select(DuesRateVersion).order_by(
                    DuesRateVersion.effective_from.desc(), DuesRateVersion.id.desc()
                )
            )
        ),
        "bands": list(
            db.session.scalars(
                select(DuesIncomeBand).order_by(
                    DuesIncomeBand.amount_idr, DuesIncomeBand.effective_from
                )
            )
        ),
        "discounts": list(
            db.session.scalars(
                select(DuesDiscountRule).order_by(
                    DuesDiscountRule.first_month.desc(), DuesDiscountRule.id.desc()
                )
            )
        ),
    }
