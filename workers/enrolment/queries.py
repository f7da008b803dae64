"""What the sponsor's invitation pages look up, so their views only load, authorize and
render: one sponsor's invitation."""

from accounts.models import User
from extensions import db
from workers.models import Invitation


def sponsor_invitation(sponsor: User, invitation_id: int) -> Invitation | None:
    """Invitation ``invitation_id`` if ``sponsor`` sent it; another sponsor's reads as none."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.sponsor_id != sponsor.id:
        return None
    return invitation
