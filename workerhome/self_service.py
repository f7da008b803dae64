"""A worker looks after their own record: a new phone number (proven with a one-time code sent
to the new number; the old number is told) and their heirs. Every change leaves a
WorkerChange audit row with masked numbers only.

Services flush; the view commits once (also after a wrong code, to keep the attempt count).
"""

import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from core.errors import DomainError
from core.identity import mask_phone, normalize_phone
from extensions import db, utcnow
from messaging.models import Channel
from messaging.services import queue_template
from messaging.templates import current_locale
from vault import digest
from workers.models import Heir, HeirRelation, Worker
from workers.registry import MAX_HEIRS, NAME_MAX, HeirDetails
from workers.self_models import ChangeKind, PhoneChange, WorkerChange

PHONE_CHANGE = "phone_change"


class SelfServiceError(DomainError, ValueError):
    """A refusal the worker can act on; ``field`` names the input it belongs to."""


class SamePhone(SelfServiceError):
    field = "phone"


class PhoneTaken(SelfServiceError):
    field = "code"


class WrongCode(SelfServiceError):
    field = "code"


class HeirNotFound(SelfServiceError):
    pass


class HeirLimit(SelfServiceError):
    pass


class LastHeir(SelfServiceError):
    pass


def record_change(worker: Worker, kind: ChangeKind, *, by: User | None, **detail: object) -> None:
    db.session.add(
        WorkerChange(
            worker_id=worker.id,
            kind=kind,
            recorded_by_id=by.id if by else None,
            detail=dict(detail),
        )
    )


# --- phone ------------------------------------------------------------------------------------


def _code_digest(worker: Worker, phone_e164: str, code: str) -> str:
    return digest(code, purpose=f"{PHONE_CHANGE}:{worker.id}:{phone_e164}")


def request_phone_change(worker: Worker, raw_phone: str) -> PhoneChange:
    """Send a 6-digit code to the new number (after the commit); earlier unused codes of this
    worker stop working. Raises InvalidPhone or SamePhone.

    Whether the number is already used in Payung is checked only once the code proves the
    number, so this form cannot be used to learn whose numbers are registered."""
    new_phone = normalize_phone(raw_phone)
    if new_phone == worker.phone_e164:
        raise SamePhone(_l("This is already your number."))
    now = utcnow()
    db.session.execute(
        update(PhoneChange)
        .where(PhoneChange.worker_id == worker.id, PhoneChange.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    ttl = current_app.config["OTP_TTL_SECONDS"]
    change = PhoneChange(
        worker_id=worker.id,
        new_phone_e164=new_phone,
        code_digest=_code_digest(worker, new_phone, code),
        expires_at=now + timedelta(seconds=ttl),
        created_at=now,
    )
    db.session.add(change)
    queue_template(
        "phone_change",
        channel=Channel.SMS,
        recipient=new_phone,
        purpose=PHONE_CHANGE,
        locale=current_locale(),
        secrets=(code,),
        code=code,
        minutes=ttl // 60,
    )
    db.session.flush()
    return change


def pending_phone_change(worker: Worker) -> PhoneChange | None:
    return db.session.scalar(
        select(PhoneChange)
        .where(PhoneChange.worker_id == worker.id, PhoneChange.consumed_at.is_(None))
        .order_by(PhoneChange.created_at.desc(), PhoneChange.id.desc())
        .limit(1)
    )


def confirm_phone_change(worker: Worker, user: User, code: str) -> str:
    """Check the code sent to the new number and make it the worker's number (worker record
    and sign-in account alike); the old number gets an SMS notice. Returns the new number.

    Raises WrongCode (wrong, expired or over-tried: the view commits the attempt count) or
    PhoneTaken (the number belongs to another account; nothing changes)."""
    change = db.session.scalar(
        select(PhoneChange)
        .where(PhoneChange.worker_id == worker.id, PhoneChange.consumed_at.is_(None))
        .order_by(PhoneChange.created_at.desc(), PhoneChange.id.desc())
        .limit(1)
        .with_for_update()
    )
    now = utcnow()
    if change is None or change.expires_at <= now:
        raise WrongCode(_l("This code has expired. Ask for a new one."))
    if change.attempts >= current_app.config["OTP_MAX_ATTEMPTS"]:
        raise WrongCode(_l("Too many wrong tries. Ask for a new code."))
    change.attempts += 1
    expected = _code_digest(worker, change.new_phone_e164, code.strip())
    if not hmac.compare_digest(change.code_digest, expected):
        raise WrongCode(_l("That code is not right. Check the SMS and try again."))
    change.consumed_at = now
    new_phone, old_phone = change.new_phone_e164, worker.phone_e164
    if _phone_in_use(new_phone, worker, user):
        raise PhoneTaken(
            _l("This number is already used by another Payung account. Choose another number.")
        )
    try:
        with db.session.begin_nested():  # a race with another account: the unique columns decide
            worker.phone_e164 = new_phone
            user.phone_e164 = new_phone
            db.session.flush()
    except IntegrityError:
        db.session.refresh(worker)
        db.session.refresh(user)
        raise PhoneTaken(
            _l("This number is already used by another Payung account. Choose another number.")
        ) from None
    record_change(
        worker,
        ChangeKind.PHONE_CHANGED,
        by=user,
        old=mask_phone(old_phone),
        new=mask_phone(new_phone),
    )
    queue_template(
        "phone_changed",
        channel=Channel.SMS,
        recipient=old_phone,
        purpose="phone_changed",
        locale=current_locale(),
        phone=mask_phone(new_phone),
    )
    db.session.flush()
    return new_phone


def _phone_in_use(phone: str, worker: Worker, user: User) -> bool:
    other_worker = db.session.scalar(
        select(Worker.id).where(Worker.phone_e164 == phone, Worker.id != worker.id)
    )
    other_user = db.session.scalar(
        select(User.id).where(User.phone_e164 == phone, User.id != user.id)
    )
    return other_worker is not None or other_user is not None


# --- heirs ------------------------------------------------------------------------------------


def _clean(details: HeirDetails) -> tuple[str, HeirRelation, str | None]:
    name = " ".join(details.full_name.split())[:NAME_MAX]
    return name, HeirRelation(details.relation), details.phone_e164


def heir_of(worker: Worker, heir_id: int) -> Heir:
    heir = db.session.get(Heir, heir_id)
    if heir is None or heir.worker_id != worker.id:
        raise HeirNotFound(_l("This heir is not on your list."))
    return heir


def add_heir(worker: Worker, details: HeirDetails, *, by: User) -> Heir:
    if len(worker.heirs) >= MAX_HEIRS:
        raise HeirLimit(_l("You can name at most %(max)s heirs.", max=MAX_HEIRS))
    name, relation, phone = _clean(details)
    position = max((h.position for h in worker.heirs), default=0) + 1
    heir = Heir(full_name=name, relation=relation, phone_e164=phone, position=position)
    worker.heirs.append(heir)
    db.session.flush()
    record_change(worker, ChangeKind.HEIR_ADDED, by=by, heir_id=heir.id, relation=relation.value)
    db.session.flush()
    return heir


def update_heir(worker: Worker, heir_id: int, details: HeirDetails, *, by: User) -> Heir:
    heir = heir_of(worker, heir_id)
    heir.full_name, heir.relation, heir.phone_e164 = _clean(details)
    record_change(worker, ChangeKind.HEIR_CHANGED, by=by, heir_id=heir.id, relation=heir.relation)
    db.session.flush()
    return heir


def remove_heir(worker: Worker, heir_id: int, *, by: User) -> None:
    """Remove an heir; the last one stays (the death benefit needs someone to receive it)."""
    heir = heir_of(worker, heir_id)
    if len(worker.heirs) <= 1:
        raise LastHeir(
            _l("Keep at least one heir: they receive the death benefit. Add another one first.")
        )
    worker.heirs.remove(heir)
    for position, remaining in enumerate(worker.heirs, start=1):
        remaining.position = position
    record_change(worker, ChangeKind.HEIR_REMOVED, by=by, heir_id=heir_id, relation=heir.relation)
    db.session.flush()
