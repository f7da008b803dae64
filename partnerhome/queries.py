"""What the partner's pages and API load by id, always within the signed-in partner: another
partner's offer or key reads as none (a 404, never a 403, so ids reveal nothing)."""

from sqlalchemy import select

from bundles.models import ApiKey, Offer, Partner
from extensions import db


def own_offer(partner: Partner, offer_id: int) -> Offer | None:
    offer = db.session.get(Offer, offer_id)
    if offer is None or offer.partner_id != partner.id:
        return None
    return offer


def own_api_key(partner: Partner, key_id: int) -> ApiKey | None:
    return db.session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.partner_id == partner.id)
    )
