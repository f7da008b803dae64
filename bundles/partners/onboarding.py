"""Partner onboarding: the profile a partner user completes, and the admin's decisions.

A new partner waits (pending) until an admin approves or rejects it (with a reason). A
rejected partner may correct its profile, which sends it back for review. An approved partner
may be suspended (with a reason): its offers then leave the catalog, and bundles containing
them stop selling, until it is reinstated.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import case, func, select

from accounts.models import Role, User
from bundles.models import Partner, PartnerKind, PartnerStatus
from bundles.partners import notifications
from core.errors import DomainError
from extensions import db


class PartnerError(DomainError):
    def __init__(self, message: LazyString) -> None:
        super().__init__(message, summary="partner refused")


@dataclass(frozen=True)
class PartnerProfile:
    name: str
    kind: PartnerKind
    contact_name: str
    contact_email: str
    contact_phone: str
    website: str = ""
    description: str = ""


def partner_for(user: User) -> Partner | None:
    return db.session.scalar(select(Partner).where(Partner.user_id == user.id))


def _apply(partner: Partner, profile: PartnerProfile) -> None:
    partner.name = profile.name.strip()
    partner.kind = PartnerKind(profile.kind)
    partner.contact_name = profile.contact_name.strip()
    partner.contact_email = profile.contact_email.strip().lower()
    partner.contact_phone = profile.contact_phone.strip()
    partner.website = profile.website.strip()
    partner.description = profile.description.strip()


def submit_partner_profile(user: User, profile: PartnerProfile) -> Partner:
    """Create the partner behind ``user`` (pending review), or update it.

    Updating a rejected partner sends it back for review; an approved partner may not change
    its kind (its offers were approved for that kind).
    """
    if user.role != Role.PARTNER:
        raise PartnerError(_l("Only partner accounts have a partner profile."))
    partner = partner_for(user)
    if partner is None:
        partner = Partner(user_id=user.id, status=PartnerStatus.PENDING)
        _apply(partner, profile)
        db.session.add(partner)
    else:
        if partner.status == PartnerStatus.APPROVED and profile.kind != partner.kind:
            raise PartnerError(
                _l("An approved partner cannot change its kind. Please contact Payung.")
            )
        _apply(partner, profile)
        if partner.status == PartnerStatus.REJECTED:
            partner.transition(PartnerStatus.PENDING, by_id=user.id)
            partner.status_reason = None
    db.session.flush()
    return partner


def approve_partner(partner: Partner, *, by: User) -> None:
    partner.transition(PartnerStatus.APPROVED, by_id=by.id)
    partner.status_reason = None
    db.session.flush()
    notifications.partner_decision(partner)


def _reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < 5:
        raise PartnerError(_l("Give the partner a reason (at least 5 characters)."))
    return reason


def reject_partner(partner: Partner, *, by: User, reason: str) -> None:
    reason = _reason(reason)
    partner.transition(PartnerStatus.REJECTED, by_id=by.id)
    partner.status_reason = reason
    db.session.flush()
    notifications.partner_decision(partner)


def suspend_partner(partner: Partner, *, by: User, reason: str) -> None:
    reason = _reason(reason)
    partner.transition(PartnerStatus.SUSPENDED, by_id=by.id)
    partner.status_reason = reason
    db.session.flush()
    notifications.partner_decision(partner)


def reinstate_partner(partner: Partner, *, by: User) -> None:
    approve_partner(partner, by=by)


def partners_for_review(status: PartnerStatus | None = None) -> list[Partner]:
    """Pending partners first (oldest first: they have waited longest), then the others."""
    query = select(Partner).order_by(
        case((Partner.status == PartnerStatus.PENDING, 0), else_=1), Partner.created_at
    )
    if status is not None:
        query = query.where(Partner.status == status)
    return list(db.session.scalars(query))


def partner_counts() -> dict[str, int]:
    rows = db.session.execute(select(Partner.status, func.count()).group_by(Partner.status))
    return {str(status): count for status, count in rows}
