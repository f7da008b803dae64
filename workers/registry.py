"""Registering workers and keeping their consent.

A worker is listed in the directory only while both consents stand: to be shown to sponsors,
and to have their data shared with BPJS Ketenagakerjaan for enrolment (without which no one
can pay their dues). Every consent given, confirmed or withdrawn leaves a ConsentEvent.
Services flush; the caller commits.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.models import Role, User
from core.errors import DomainError
from core.identity import Gender, Occupation, check_nik, first_name_and_initial
from extensions import db, utcnow
from vault import digest, encrypt
from workers.models import (
    ConsentAction,
    ConsentEvent,
    ConsentKind,
    EnrolmentSource,
    Heir,
    HeirRelation,
    Worker,
    WorkerPhoto,
)
from workers.photos import PreparedPhoto
from workers.search import index_workers

NAME_MAX = 120
REGENCY_MAX = 80
STORY_MAX = 400
MAX_HEIRS = 3
MIN_AGE = 15  # the youngest age Indonesian law allows (light) work at
MAX_AGE = 100


class RegistryError(DomainError):
    """A refusal the user can act on; ``message`` is translated, ``field`` names the input."""


class NikTaken(RegistryError):
    field = "nik"


class PhoneTaken(RegistryError):
    field = "phone"


class AlreadyRegistered(RegistryError):
    pass


class ConsentMissing(RegistryError):
    field = "consent_insurer"


@dataclass(frozen=True, slots=True)
class HeirDetails:
    full_name: str = field(repr=False)
    relation: HeirRelation
    phone_e164: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerDetails:
    """What a worker tells about themselves; checked for shape by the form or CSV parser."""

    full_name: str = field(repr=False)
    nik: str = field(repr=False)
    birth_date: date = field(repr=False)
    gender: Gender
    occupation: Occupation
    province_code: str
    regency: str
    story: str | None = field(default=None, repr=False)
    heirs: tuple[HeirDetails, ...] = ()


def nik_digest(nik: str) -> str:
    return digest(nik, purpose="nik")


def worker_for_user(user: User) -> Worker | None:
    return db.session.scalar(select(Worker).where(Worker.user_id == user.id))


def new_worker(details: WorkerDetails, *, phone_e164: str, source: EnrolmentSource) -> Worker:
    """A Worker built from checked details (not added to the session)."""
    nik = check_nik(details.nik).nik
    return Worker(
        full_name=" ".join(details.full_name.split()),
        occupation=details.occupation,
        province_code=details.province_code,
        regency=" ".join(details.regency.split()),
        gender=details.gender,
        birth_date=details.birth_date,
        story=(details.story or "").strip() or None,
        phone_e164=phone_e164,
        nik_encrypted=encrypt(nik),
        nik_digest=nik_digest(nik),
        source=source,
        heirs=[
            Heir(
                position=n,
                full_name=" ".join(heir.full_name.split()),
                relation=heir.relation,
                phone_e164=heir.phone_e164,
            )
            for n, heir in enumerate(details.heirs[:MAX_HEIRS], start=1)
        ],
    )


def consent_event(
    worker: Worker,
    kind: ConsentKind,
    action: ConsentAction,
    *,
    by: User | None,
    source: EnrolmentSource,
    partner_id: int | None = None,
    at: datetime | None = None,
) -> ConsentEvent:
    event = ConsentEvent(
        worker_id=worker.id,
        kind=kind,
        action=action,
        recorded_by_id=by.id if by else None,
        partner_id=partner_id,
        source=source,
        created_at=at or utcnow(),
    )
    db.session.add(event)
    return event


def refresh_listing(worker: Worker) -> None:
    worker.is_listed = (
        worker.listing_consent_at is not None and worker.insurer_consent_at is not None
    )


def register_worker(
    user: User,
    details: WorkerDetails,
    *,
    listing_consent: bool,
    insurer_consent: bool,
    photo: PreparedPhoto | None = None,
    source: EnrolmentSource = EnrolmentSource.SELF,
) -> Worker:
    """Register the signed-in worker ``user`` with their verified phone.

    Raises AlreadyRegistered, ConsentMissing (the insurer consent is required), NikTaken,
    PhoneTaken, or identity.InvalidNik.
    """
    if user.role != Role.WORKER or not user.phone_e164:
        raise ValueError("only a worker account with a verified phone can register")
    if worker_for_user(user) is not None:
        raise AlreadyRegistered(_l("You are already registered."))
    if not insurer_consent:
        raise ConsentMissing(
            _l("Sponsors can only pay your dues if BPJS Ketenagakerjaan may receive your data.")
        )
    now = utcnow()
    worker = new_worker(details, phone_e164=user.phone_e164, source=source)
    worker.user_id = user.id
    worker.consent_recorded_by_id = user.id
    worker.consent_confirmed_at = now
    worker.insurer_consent_at = now
    worker.listing_consent_at = now if listing_consent else None
    refresh_listing(worker)
    _insert_new_worker(worker)
    consent_event(worker, ConsentKind.INSURER_DATA, ConsentAction.GIVEN, by=user, source=source)
    if listing_consent:
        consent_event(worker, ConsentKind.LISTING, ConsentAction.GIVEN, by=user, source=source)
    if photo is not None:
        set_photo(worker, photo)
    index_workers([worker])
    user.display_name = first_name_and_initial(worker.full_name)
    db.session.flush()
    return worker


def _insert_new_worker(worker: Worker) -> None:
    if db.session.scalar(select(Worker.id).where(Worker.nik_digest == worker.nik_digest)):
        raise NikTaken(_nik_taken_message())
    if db.session.scalar(select(Worker.id).where(Worker.phone_e164 == worker.phone_e164)):
        raise PhoneTaken(_l("This phone number already belongs to a registered worker."))
    try:
        with db.session.begin_nested():  # a concurrent registration loses here, cleanly
            db.session.add(worker)
            db.session.flush()
    except IntegrityError:
        raise NikTaken(_nik_taken_message()) from None


def _nik_taken_message() -> LazyString:
    return _l(
        "This NIK is already registered in Payung. If it is yours, sign in with the phone "
        "number it was registered with, or ask the agent who registered you."
    )


def link_enrolled_worker(user: User) -> Worker | None:
    """Attach the worker record an agent made for this phone to the worker's own account."""
    if user.role != Role.WORKER or not user.phone_e164:
        return None
    worker = db.session.scalar(
        select(Worker).where(Worker.phone_e164 == user.phone_e164, Worker.user_id.is_(None))
    )
    if worker is not None:
        worker.user_id = user.id
        user.display_name = first_name_and_initial(worker.full_name)
        db.session.flush()
    return worker


def confirm_consents(worker: Worker, *, user: User, agreed: bool, stay_listed: bool) -> None:
    """The worker answers for the consent an agent recorded for them on first sign-in.

    ``agreed=False`` withdraws both consents, so the worker leaves the directory at once.
    """
    source = EnrolmentSource(worker.source)
    now = utcnow()
    wanted = {
        ConsentKind.INSURER_DATA: agreed,
        ConsentKind.LISTING: agreed and stay_listed,
    }
    for kind, keep in wanted.items():
        attribute = _CONSENT_ATTRIBUTES[kind]
        had = getattr(worker, attribute) is not None
        if had and keep:
            action = ConsentAction.CONFIRMED
        elif keep:
            action = ConsentAction.GIVEN
            setattr(worker, attribute, now)
        elif had:
            action = ConsentAction.WITHDRAWN
            setattr(worker, attribute, None)
        else:
            continue
        consent_event(worker, kind, action, by=user, source=source, at=now)
    worker.consent_confirmed_at = now
    refresh_listing(worker)
    db.session.flush()


_CONSENT_ATTRIBUTES = {
    ConsentKind.LISTING: "listing_consent_at",
    ConsentKind.INSURER_DATA: "insurer_consent_at",
}


def change_consent(worker: Worker, kind: ConsentKind, *, given: bool, user: User) -> bool:
    """Give or withdraw one consent; return False when nothing changed.

    Withdrawing either consent takes the worker out of the directory in the same transaction.
    Raises ConsentMissing when the listing is asked for without the insurer consent.
    """
    attribute = _CONSENT_ATTRIBUTES[kind]
    if (getattr(worker, attribute) is not None) == given:
        return False
    if given and kind == ConsentKind.LISTING and worker.insurer_consent_at is None:
        raise ConsentMissing(
            _l("To be listed, first agree that BPJS Ketenagakerjaan may receive your data.")
        )
    setattr(worker, attribute, utcnow() if given else None)
    action = ConsentAction.GIVEN if given else ConsentAction.WITHDRAWN
    consent_event(worker, kind, action, by=user, source=EnrolmentSource.SELF)
    refresh_listing(worker)
    db.session.flush()
    return True


def update_card(
    worker: Worker,
    *,
    occupation: Occupation,
    province_code: str,
    regency: str,
    story: str | None,
    photo: PreparedPhoto | None = None,
    remove_photo: bool = False,
) -> None:
    """Change what sponsors see on the worker's card (and what text search finds)."""
    worker.occupation = occupation
    worker.province_code = province_code
    worker.regency = " ".join(regency.split())
    worker.story = (story or "").strip() or None
    if photo is not None:
        set_photo(worker, photo)
    elif remove_photo:
        set_photo(worker, None)
    db.session.flush()
    index_workers([worker], replace=True)


def set_photo(worker: Worker, photo: PreparedPhoto | None) -> None:
    """Replace (or with None remove) the worker's photo."""
    existing = db.session.get(WorkerPhoto, worker.id)
    if photo is None:
        if existing is not None:
            db.session.delete(existing)
        worker.photo_version = 0
    else:
        if existing is None:
            existing = WorkerPhoto(worker_id=worker.id)
            db.session.add(existing)
        existing.content = photo.content
        existing.mime_type = photo.mime_type
        existing.width, existing.height = photo.width, photo.height
        worker.photo_version = (worker.photo_version or 0) + 1
    db.session.flush()
