"""What the worker's own registration pages read, so their views hold no query and never
decrypt: the consent history, the last digits of the NIK, who recorded the consent, and an
invitation's details to pre-fill the form."""

from sqlalchemy import select

from bundles.models import Partner
from extensions import db
from vault import decrypt
from workers.models import ConsentEvent, Invitation, Worker


def consent_history(worker: Worker) -> list[ConsentEvent]:
    """The worker's consent events, newest first."""
    return list(
        db.session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.worker_id == worker.id)
            .order_by(ConsentEvent.created_at.desc(), ConsentEvent.id.desc())
        ).all()
    )


def nik_tail(worker: Worker) -> str:
    """The last four digits of the worker's NIK (all the page shows), or "" if none."""
    return decrypt(worker.nik_encrypted)[-4:] if worker.nik_encrypted else ""


def recorder_name(worker: Worker) -> str:
    """Who recorded the consent: the agent's name, or Payung for records made by staff."""
    if worker.enrolled_by_partner_id:
        partner = db.session.get(Partner, worker.enrolled_by_partner_id)
        if partner is not None:
            return partner.name
    return "Payung"


def invitation_prefill(invitation: Invitation) -> dict[str, str]:
    """The registration form's first values from what the sponsor typed: name, and NIK if given."""
    data = {"full_name": invitation.full_name}
    if invitation.nik_encrypted:
        data["nik"] = decrypt(invitation.nik_encrypted)
    return data
