"""Bundles: who composes them, what goes in, publishing, and what the catalog shows.

Who composes what:

* Payung's admins compose *platform bundles* from any listed offer of any approved partner, and
  set the platform fee;
* a partner composes bundles from its own offers plus the BPJS dues offers of approved insurers
  (so a health app can sell "app + dues" on its own); a bundle mixing several partners' products
  is composed by Payung. A partner bundle carries the platform fee Payung sets (none by default).

A bundle's parts change only while it is unpublished, so a sponsor never sees a bundle change
under their eyes. A bundle is sold only while every part is listed (its offer active, its partner
approved): suspending a partner takes its bundles out of the catalog.
"""

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import selectinload

from bundles.models import (
    Bundle,
    BundlePart,
    Offer,
    OfferKind,
    Partner,
    PartnerKind,
    PartnerStatus,
)
from core.errors import DomainError
from extensions import db, utcnow

MAX_QUANTITY = 12
MAX_PLATFORM_FEE_IDR = 10_000_000


class BundleError(DomainError):
    def __init__(self, message: LazyString, *, field: str | None = None) -> None:
        super().__init__(message, field=field, summary=field or "bundle refused")


@dataclass(frozen=True)
class BundleDetails:
    name: str
    summary_id: str = ""
    summary_en: str = ""


def _slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:50] or "paket"


def _unique_slug(name: str) -> str:
    base = _slugify(name)
    taken = set(db.session.scalars(select(Bundle.slug).where(Bundle.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def listed_offer_condition() -> object:
    """SQL: the offer is active and its partner approved."""
    return Offer.is_active.is_(True) & Offer.partner.has(Partner.status == PartnerStatus.APPROVED)


def for_sale_condition() -> object:
    """SQL: the bundle is published and has parts, all of them listed."""
    unlisted_part = (
        select(BundlePart.id)
        .join(Offer, Offer.id == BundlePart.offer_id)
        .join(Partner, Partner.id == Offer.partner_id)
        .where(
            BundlePart.bundle_id == Bundle.id,
            (Offer.is_active.is_(False)) | (Partner.status != PartnerStatus.APPROVED),
        )
    )
    has_part = select(BundlePart.id).where(BundlePart.bundle_id == Bundle.id)
    return Bundle.is_published.is_(True) & exists(has_part) & ~exists(unlisted_part)


# A bundle's parts with their offers and partners in one more statement (a join), not three.
_PARTS_OFFERS_PARTNERS = (
    selectinload(Bundle.parts).joinedload(BundlePart.offer).joinedload(Offer.partner)
)


def catalog_bundles() -> list[Bundle]:
    return list(
        db.session.scalars(
            select(Bundle)
            .where(for_sale_condition())
            .options(_PARTS_OFFERS_PARTNERS)
            .order_by(Bundle.name)
        )
    )


def bundle_for_sale(slug: str) -> Bundle | None:
    return db.session.scalar(
        select(Bundle)
        .where(Bundle.slug == slug, for_sale_condition())
        .options(_PARTS_OFFERS_PARTNERS)
    )


def composable_offers(partner: Partner | None) -> list[Offer]:
    """Offers this composer may put in a bundle (``None``: Payung's admin)."""
    query = (
        select(Offer)
        .join(Partner, Partner.id == Offer.partner_id)
        .where(listed_offer_condition())
        .options(selectinload(Offer.partner))
        .order_by(Partner.name, Offer.name_id)
    )
    if partner is not None:
        query = query.where(
            or_(
                Offer.partner_id == partner.id,
                (Offer.kind == OfferKind.INSURANCE_DUES) & (Partner.kind == PartnerKind.INSURER),
            )
        )
    return list(db.session.scalars(query))


def bundles_of(partner: Partner | None) -> list[Bundle]:
    query = select(Bundle).options(selectinload(Bundle.parts).selectinload(BundlePart.offer))
    if partner is None:
        query = query.order_by(Bundle.owner_partner_id.is_not(None), Bundle.name)
    else:
        query = query.where(Bundle.owner_partner_id == partner.id).order_by(Bundle.name)
    return list(db.session.scalars(query))


def _check_details(details: BundleDetails) -> BundleDetails:
    name = details.name.strip()
    if not 2 <= len(name) <= 120:
        raise BundleError(_l("Enter a name of 2 to 120 characters."), field="name")
    for field in ("summary_id", "summary_en"):
        if len(getattr(details, field)) > 2000:
            raise BundleError(_l("Keep this under 2,000 characters."), field=field)
    return BundleDetails(name, details.summary_id.strip(), details.summary_en.strip())


def _check_fee(fee: int) -> None:
    if not 0 <= fee <= MAX_PLATFORM_FEE_IDR:
        raise BundleError(
            _l("The platform fee is between Rp0 and Rp10,000,000."), field="platform_fee_idr"
        )


def create_bundle(
    details: BundleDetails, *, owner: Partner | None, platform_fee_idr: int = 0
) -> Bundle:
    if owner is not None and not owner.is_approved:
        raise BundleError(_l("Your partner account must be approved before you compose bundles."))
    details = _check_details(details)
    _check_fee(platform_fee_idr)
    bundle = Bundle(
        slug=_unique_slug(details.name),
        name=details.name,
        summary_id=details.summary_id,
        summary_en=details.summary_en,
        platform_fee_idr=platform_fee_idr,
        owner_partner_id=owner.id if owner else None,
    )
    db.session.add(bundle)
    db.session.flush()
    return bundle


def update_bundle(
    bundle: Bundle, details: BundleDetails, *, platform_fee_idr: int | None = None
) -> None:
    """``platform_fee_idr`` is only given by an admin; partners never change the fee."""
    details = _check_details(details)
    bundle.name = details.name
    bundle.summary_id = details.summary_id
    bundle.summary_en = details.summary_en
    if platform_fee_idr is not None:
        _check_fee(platform_fee_idr)
        bundle.platform_fee_idr = platform_fee_idr
    db.session.flush()


def _require_draft(bundle: Bundle) -> None:
    if bundle.is_published:
        raise BundleError(_l("Unpublish the bundle before changing its parts."))


def add_part(bundle: Bundle, offer: Offer, *, quantity: int, composer: Partner | None) -> None:
    _require_draft(bundle)
    if offer.id not in {o.id for o in composable_offers(composer)}:
        raise BundleError(_l("You cannot add this offer to a bundle."), field="offer_id")
    if any(part.offer_id == offer.id for part in bundle.parts):
        raise BundleError(_l("This offer is already in the bundle."), field="offer_id")
    if offer.is_dues:
        if any(part.offer.is_dues for part in bundle.parts):
            raise BundleError(_l("A bundle holds one dues offer at most."), field="offer_id")
        if quantity != 1:
            raise BundleError(
                _l("Dues are paid once per month: the quantity is 1."), field="quantity"
            )
    if not 1 <= quantity <= MAX_QUANTITY:
        raise BundleError(_l("The quantity is from 1 to 12."), field="quantity")
    bundle.parts.append(BundlePart(offer=offer, quantity=quantity))
    db.session.flush()


def remove_part(bundle: Bundle, part: BundlePart) -> None:
    _require_draft(bundle)
    bundle.parts.remove(part)
    db.session.flush()


def publish_bundle(bundle: Bundle) -> None:
    if not bundle.parts:
        raise BundleError(_l("Add at least one part before publishing."))
    if any(not part.offer.is_listed for part in bundle.parts):
        raise BundleError(
            _l("A part of this bundle is not available at the moment: remove it first.")
        )
    bundle.is_published = True
    bundle.published_at = utcnow()
    db.session.flush()


def unpublish_bundle(bundle: Bundle) -> None:
    bundle.is_published = False
    db.session.flush()


# --- what the bundle editor loads by id ------------------------------------------------------


def composable_bundle(bundle_id: int, composer: Partner | None) -> Bundle | None:
    """A bundle the composer may edit: any for an admin (None), else only the partner's own
    (another partner's reads as none, so ids reveal nothing)."""
    bundle = db.session.get(Bundle, bundle_id)
    if bundle is None or (composer is not None and bundle.owner_partner_id != composer.id):
        return None
    return bundle


def offer_by_id(offer_id: int | None) -> Offer | None:
    """The offer a part form names; whether it may go in is ``add_part``'s rule."""
    return db.session.get(Offer, offer_id) if offer_id is not None else None


def bundle_part(bundle: Bundle, part_id: int) -> BundlePart | None:
    part = db.session.get(BundlePart, part_id)
    return part if part is not None and part.bundle_id == bundle.id else None
