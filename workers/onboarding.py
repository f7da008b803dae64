"""Where a signed-in worker goes next: register, confirm what an agent recorded, answer an
invitation, or their home. Called from the worker's home so no step is skipped."""

from dataclasses import dataclass
from enum import StrEnum

from accounts.models import User
from workers.enrolment.invitations import open_invitations_for
from workers.registry import link_enrolled_worker, worker_for_user


class Step(StrEnum):
    REGISTER = "register"
    CONFIRM_CONSENT = "confirm_consent"
    ANSWER_INVITATION = "answer_invitation"
    HOME = "home"


@dataclass(frozen=True)
class NextStep:
    step: Step
    invitation_id: int | None = None


def next_step(user: User) -> NextStep:
    """The worker's next step; links a record an agent made for their phone (flushes)."""
    worker = worker_for_user(user) or link_enrolled_worker(user)
    if worker is not None and worker.needs_consent_confirmation:
        return NextStep(Step.CONFIRM_CONSENT)
    invitations = open_invitations_for(user)
    if invitations and worker is None:
        return NextStep(Step.ANSWER_INVITATION, invitations[0].id)
    return NextStep(Step.HOME if worker is not None else Step.REGISTER)
