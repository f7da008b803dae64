"""What the partner's pages and API load by id, always within the signed-in partner: another
partner's offer or key reads as none (a 404, never a 403, so ids reveal nothing). The own-offer
lookup is ``bundles.offers.own_offer``, shared with the bundle editor's rules."""

from sqlalchemy import select

from bundles.models import ApiKey, Partner
from extensions import db


def own_api_key(partner: Partner, key_id: int) -> ApiKey | None:
    return db.session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.partner_id == partner.id)
    )
