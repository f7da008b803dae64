"""The rows the admin pages load by id or list, so their views only load, authorize and
render: dues data rows, a partner, and the remittance files."""

from sqlalchemy import select

from bundles.dues.models import DuesDiscountRule, DuesIncomeBand, DuesRateVersion
from bundles.models import Partner
from extensions import db
from fulfillment.models import RemittanceFile

RECENT_REMITTANCE_FILES = 60


def rate_version(version_id: int) -> DuesRateVersion | None:
    return db.session.get(DuesRateVersion, version_id)


def income_band(band_id: int) -> DuesIncomeBand | None:
    return db.session.get(DuesIncomeBand, band_id)


def discount_rule(rule_id: int) -> DuesDiscountRule | None:
    return db.session.get(DuesDiscountRule, rule_id)


def partner(partner_id: int | None) -> Partner | None:
    return db.session.get(Partner, partner_id) if partner_id is not None else None


def remittance_file(file_id: int) -> RemittanceFile | None:
    return db.session.get(RemittanceFile, file_id)


def recent_remittance_files() -> list[RemittanceFile]:
    """The latest files, newest business day first."""
    return list(
        db.session.scalars(
            select(RemittanceFile)
            .order_by(RemittanceFile.business_date.desc(), RemittanceFile.id.desc())
            .limit(RECENT_REMITTANCE_FILES)
        ).all()
    )
