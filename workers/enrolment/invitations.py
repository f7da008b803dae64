""" "Cover someone you know" (the Sertakan way): a sponsor invites a worker by phone.

The worker receives a link by SMS, signs in with that phone, completes and confirms their own
data and consent, and then appears in the sponsor's "my workers". Nothing the sponsor typed
becomes the worker's record without the worker confirming it. Services flush; callers commit.
"""

import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from accounts.models import Role, User
from core.identity import check_nik
from extensions import db, utcnow
from messaging.models import Channel
from messaging.services import queue_template
from vault import digest, encrypt
from workers.models import EnrolmentSource, Invitation, InvitationStatus, Worker
from workers.photos import PreparedPhoto
from workers.registry import RegistryError, WorkerDetails, register_worker, worker_for_user

INVITATION_TTL = timedelta(days=14)
MESSAGE_PURPOSE = "worker_invitation"


class InvitationError(RegistryError):
    pass


class AlreadyInvited(InvitationError):
    field = "phone"


class InvitationClosed(InvitationError):
    pass


class NotYourInvitation(InvitationError):
    pass


def _token_digest(token: str) -> str:
    return digest(token, purpose="invitation")


def invite_worker(
    sponsor: User,
    *,
    full_name: str,
    phone_e164: str,
    nik: str | None = None,
    link_for: Callable[[str], str],
) -> Invitation:
    """Create an invitation and text its link (made by ``link_for(token)``) to the worker.

    Raises AlreadyInvited when this sponsor's earlier invitation to the phone is still open,
    identity.InvalidNik for a NIK that cannot be right.
    """
    if sponsor.role != Role.SPONSOR:
        raise ValueError("only sponsors invite workers")
    now = utcnow()
    earlier = db.session.scalars(
        select(Invitation).where(
            Invitation.sponsor_id == sponsor.id,
            Invitation.phone_e164 == phone_e164,
            Invitation.status == InvitationStatus.PENDING,
        )
    ).all()
    if any(invitation.is_open(now) for invitation in earlier):
        raise AlreadyInvited(
            _l("You already invited this phone number. The invitation is waiting for an answer.")
        )
    token = secrets.token_urlsafe(24)
    invitation = Invitation(
        sponsor_id=sponsor.id,
        full_name=" ".join(full_name.split()),
        phone_e164=phone_e164,
        nik_encrypted=encrypt(check_nik(nik).nik) if nik else None,
        token_digest=_token_digest(token),
        expires_at=now + INVITATION_TTL,
    )
    db.session.add(invitation)
    queue_template(
        "worker_invitation",
        channel=Channel.SMS,
        recipient=phone_e164,
        purpose=MESSAGE_PURPOSE,
        locale=current_app.config["BABEL_DEFAULT_LOCALE"],
        secrets=(token,),
        sponsor=sponsor.display_name,
        link=link_for(token),
    )
    db.session.flush()
    return invitation


def find_invitation(token: str) -> Invitation | None:
    return db.session.scalar(
        select(Invitation).where(Invitation.token_digest == _token_digest(token))
    )


def open_invitations_for(user: User) -> list[Invitation]:
    if not user.phone_e164:
        return []
    invitations = db.session.scalars(
        select(Invitation)
        .where(
            Invitation.phone_e164 == user.phone_e164,
            Invitation.status == InvitationStatus.PENDING,
            Invitation.expires_at > utcnow(),
        )
        .options(selectinload(Invitation.sponsor))
        .order_by(Invitation.created_at)
    ).all()
    return list(invitations)


def invitation_for_worker(invitation_id: int, user: User) -> Invitation:
    """The open invitation ``invitation_id`` sent to ``user``'s phone.

    Raises NotYourInvitation (also for unknown ids) or InvitationClosed.
    """
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.phone_e164 != user.phone_e164:
        raise NotYourInvitation(_l("This invitation was sent to another phone number."))
    if not invitation.is_open(utcnow()):
        raise InvitationClosed(_l("This invitation is no longer open."))
    return invitation


def accept_invitation(invitation: Invitation, *, user: User) -> Worker:
    """The registered worker ``user`` agrees to be covered by the inviting sponsor."""
    invitation = invitation_for_worker(invitation.id, user)
    worker = worker_for_user(user)
    if worker is None:
        raise InvitationClosed(_l("Complete your registration first."))
    invitation.worker_id = worker.id
    invitation.transition(InvitationStatus.ACCEPTED)
    db.session.flush()
    return worker


def register_and_accept(
    invitation: Invitation,
    *,
    user: User,
    details: WorkerDetails,
    listing_consent: bool,
    insurer_consent: bool,
    photo: PreparedPhoto | None = None,
) -> Worker:
    """Register the invited worker with their own details and accept the invitation."""
    invitation_for_worker(invitation.id, user)
    register_worker(
        user,
        details,
        listing_consent=listing_consent,
        insurer_consent=insurer_consent,
        photo=photo,
        source=EnrolmentSource.INVITATION,
    )
    return accept_invitation(invitation, user=user)


def decline_invitation(invitation: Invitation, *, user: User) -> None:
    invitation = invitation_for_worker(invitation.id, user)
    invitation.transition(InvitationStatus.DECLINED)
    db.session.flush()


def cancel_invitation(invitation: Invitation, *, sponsor: User) -> None:
    if invitation.sponsor_id != sponsor.id:
        raise NotYourInvitation(_l("This invitation is not yours."))
    if invitation.status != InvitationStatus.PENDING:
        raise InvitationClosed(_l("This invitation is no longer open."))
    invitation.transition(InvitationStatus.CANCELLED)
    db.session.flush()


def sponsor_invitations(sponsor: User) -> list[Invitation]:
    """The sponsor's invitations, newest first, with their workers loaded."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.sponsor_id == sponsor.id)
            .options(selectinload(Invitation.worker))
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


def invited_worker_ids(sponsor: User, worker_ids: Iterable[int]) -> set[int]:
    """Which of ``worker_ids`` accepted an invitation from ``sponsor``."""
    ids = list(worker_ids)
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(Invitation.worker_id).where(
                Invitation.sponsor_id == sponsor.id,
                Invitation.status == InvitationStatus.ACCEPTED,
                Invitation.worker_id.in_(ids),
            )
        )
    )
