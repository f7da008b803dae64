"""The ComboFit catalogue, built in one place: the demo (``demo.py``), the test helpers
(``tests/fulfillment/support.py``) and the benchmarks (through those helpers) all make it here.

ComboFit Jamsostek is three parts: a health app's premium (a code pool, or the health API),
BPJS Ketenagakerjaan dues (JKK + JKM, remitted) and Telkomsel data (the telco API). What each
caller says differently (names, prices, descriptions, the partner API's address) it passes as
keyword fields; what makes an offer that part of ComboFit is fixed here. The caller adds
the offers and the bundle to the session (in its order: it sets their ids).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import insert

from bundles.codes.pools import DIGEST_PURPOSE
from bundles.models import (
    Bundle,
    BundlePart,
    FulfillmentMethod,
    Offer,
    OfferKind,
    Operator,
    Partner,
    PoolCode,
    PoolCodeStatus,
)
from extensions import db, utcnow
from vault import digest, encrypt

DUES_INCOME_IDR = 1_000_000  # the income band ComboFit's dues are paid at
QUOTA_MB = 5 * 1024
QUOTA_DAYS = 30
PREMIUM_DAYS = 30
INSERT_BATCH = 2_000


@dataclass(frozen=True, slots=True)
class ComboFitOffers:
    health: Offer
    dues: Offer
    quota: Offer


def combofit_offers(
    *,
    insurer: Partner,
    health_app: Partner,
    telco: Partner,
    health_method: FulfillmentMethod = FulfillmentMethod.CODE_POOL,
    health: dict[str, Any],
    dues: dict[str, Any],
    quota: dict[str, Any],
) -> ComboFitOffers:
    """The three offers, with each caller's names and prices (``health``, ``dues``, ``quota``:
    more Offer fields)."""
    offers = ComboFitOffers(
        health=Offer(
            partner=health_app,
            kind=OfferKind.HEALTH_APP,
            premium_days=PREMIUM_DAYS,
            fulfillment_method=health_method,
            **health,
        ),
        dues=Offer(
            partner=insurer,
            kind=OfferKind.INSURANCE_DUES,
            income_idr=DUES_INCOME_IDR,
            fulfillment_method=FulfillmentMethod.DUES_REMITTANCE,
            **dues,
        ),
        quota=Offer(
            partner=telco,
            kind=OfferKind.DATA_QUOTA,
            quota_mb=QUOTA_MB,
            validity_days=QUOTA_DAYS,
            operator=Operator.TELKOMSEL,
            fulfillment_method=FulfillmentMethod.PARTNER_API,
            **quota,
        ),
    )
    return offers


def combofit_bundle(offers: ComboFitOffers, **fields: Any) -> Bundle:
    """The published bundle ComboFit Jamsostek of the three offers (``fields``: slug, …)."""
    bundle = Bundle(
        name="ComboFit Jamsostek",
        is_published=True,
        parts=[
            BundlePart(offer=offers.health, quantity=1),
            BundlePart(offer=offers.dues, quantity=1),
            BundlePart(offer=offers.quota, quantity=1),
        ],
        **fields,
    )
    return bundle


def add_pool_codes(offer: Offer, codes: Iterable[str], *, expires_on: date) -> None:
    """Put ``codes`` in the offer's pool, available (``offer`` must be flushed)."""
    now = utcnow()
    rows = [
        {
            "offer_id": offer.id,
            "code_encrypted": encrypt(code),
            "code_digest": digest(code, purpose=DIGEST_PURPOSE),
            "status": PoolCodeStatus.AVAILABLE,
            "expires_on": expires_on,
            "created_at": now,
        }
        for code in codes
    ]
    for start in range(0, len(rows), INSERT_BATCH):
        db.session.execute(insert(PoolCode), rows[start : start + INSERT_BATCH])
