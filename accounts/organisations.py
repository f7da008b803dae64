"""A sponsor as a person, a company or a local government, with the legal details that
organisations need on paper: legal name, address and NPWP (``core.npwp``).

Checkout asks ``sponsor_kind`` for the payer kind of a sponsor's cart: a local government's
dues come from a state or regional budget, and such payers get no PP 50/2025 discount.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select

from accounts.models import ORGANISATION_KINDS, SponsorKind, SponsorProfile, User
from core.npwp import format_npwp, normalize_npwp
from extensions import db

SPONSOR_KIND_LABELS: dict[SponsorKind, LazyString] = {
    SponsorKind.PERSON: _l("Individual"),
    SponsorKind.COMPANY: _l("Company"),
    SponsorKind.GOVERNMENT: _l("Local government"),
}


class ProfileError(ValueError):
    """A profile that cannot be saved; ``field`` names the form field, ``message`` is lazy."""

    def __init__(self, field: str, message: LazyString) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Organisation:
    """What documents print about an organisation sponsor."""

    kind: SponsorKind
    legal_name: str
    address: str
    npwp: str  # digits

    @property
    def npwp_display(self) -> str:
        return format_npwp(self.npwp)

    @property
    def kind_label(self) -> str:
        return str(SPONSOR_KIND_LABELS[self.kind])


def profile_of(user: User) -> SponsorProfile | None:
    return db.session.scalar(select(SponsorProfile).where(SponsorProfile.user_id == user.id))


def sponsor_kind(user: User) -> SponsorKind:
    profile = profile_of(user)
    return SponsorKind(profile.kind) if profile else SponsorKind.PERSON


def organisation_of(user: User | None) -> Organisation | None:
    """The organisation a sponsor is, once its legal details are complete; else None."""
    if user is None:
        return None
    profile = profile_of(user)
    if profile is None or not profile.is_complete:
        return None
    return Organisation(
        kind=SponsorKind(profile.kind),
        legal_name=profile.legal_name or "",
        address=profile.address or "",
        npwp=profile.npwp or "",
    )


def save_profile(
    user: User, *, kind: SponsorKind | str, legal_name: str, address: str, npwp: str
) -> SponsorProfile:
    """Save what the sponsor is. An organisation needs all three legal details; a person
    keeps none (what was typed for an organisation is cleared). Raises ProfileError and
    changes nothing when something is wrong."""
    kind = SponsorKind(kind)
    legal_name, address = " ".join(legal_name.split()), address.strip()
    digits = None
    if kind in ORGANISATION_KINDS:
        if len(legal_name) < 3:
            raise ProfileError("legal_name", _l("Enter the organisation's legal name."))
        if len(address) < 10:
            raise ProfileError(
                "address", _l("Enter the organisation's full address (street, city).")
            )
        digits = normalize_npwp(npwp)
    else:
        legal_name = address = ""
    profile = profile_of(user)
    if profile is None:
        profile = SponsorProfile(user_id=user.id)
        db.session.add(profile)
    profile.kind = kind
    profile.legal_name = legal_name or None
    profile.address = address or None
    profile.npwp = digits
    db.session.flush()
    return profile


def start_profile(user: User, kind: SponsorKind | str, name: str) -> None:
    """At sign-up: remember that the account is a company or a local government (its legal
    details are completed on the profile page)."""
    kind = SponsorKind(kind)
    if kind in ORGANISATION_KINDS:
        db.session.add(SponsorProfile(user_id=user.id, kind=kind, legal_name=name))
        db.session.flush()
