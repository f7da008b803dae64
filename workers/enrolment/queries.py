"""What the enrolment pages and the sponsor's invitation pages look up, so their views only
load, authorize and render: the signed-in user's partner and one sponsor's invitation."""

from sqlalchemy import select

from accounts.models import User
from bundles.models import Partner
from extensions import db
from workers.models import Invitation


def partner_of(user: User) -> Partner | None:
    """The partner whose account ``user`` is, if any."""
    return db.session.scalar(select(Partner).where(Partner.user_id == user.id))


def sponsor_invitation(sponsor: User, invitation_id: int) -> Invitation | None:
    """Invitation ``invitation_id`` if ``sponsor`` sent it; another sponsor's reads as none."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.sponsor_id != sponsor.id:
        return None
    return invitation
