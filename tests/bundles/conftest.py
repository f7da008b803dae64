"""Fixtures for the catalog tests: dues offers, signed-in partners, API keys, paid orders."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from itertools import count
from typing import Any

import pytest

from accounts.models import Role
from bundles.dues.data import ensure_default_dues_data
from bundles.models import (
    FulfillmentMethod,
    Offer,
    OfferBilling,
    OfferKind,
    Partner,
    PartnerKind,
)
from extensions import db
from partnerhome.api.keys import create_api_key
from sponsorship.checkout.models import Order, OrderLine, OrderLinePart, OrderStatus

_references = count(1)


@pytest.fixture
def dues_tables(app: Any) -> None:
    ensure_default_dues_data()
    db.session.commit()


@pytest.fixture
def insurer(make_partner: Callable[..., Partner]) -> Partner:
    return make_partner(PartnerKind.INSURER, name="BPJS Ketenagakerjaan")


@pytest.fixture
def dues_offer(make_offer: Callable[..., Offer], insurer: Partner, dues_tables: None) -> Offer:
    return make_offer(
        partner=insurer,
        kind=OfferKind.INSURANCE_DUES,
        name_id="Iuran JKK + JKM",
        name_en="Dues JKK + JKM",
        unit_price_idr=0,
        income_idr=1_000_000,
        billing=OfferBilling.MONTHLY,
        fulfillment_method=FulfillmentMethod.DUES_REMITTANCE,
    )


@pytest.fixture
def partner_client(client: Any, login_as: Callable[..., Any], make_partner: Any) -> Any:
    """A client signed in as an approved health-app partner; ``.partner`` is the partner."""
    partner = make_partner(PartnerKind.HEALTH_APP)
    login_as(partner.user)
    client.partner = partner
    return client


@pytest.fixture
def api_key_for() -> Callable[[Partner], dict[str, str]]:
    def make(partner: Partner) -> dict[str, str]:
        _key, plain = create_api_key(partner, name="test", created_by_id=None)
        db.session.commit()
        return {"Authorization": f"Bearer {plain}"}

    return make


@pytest.fixture
def make_paid_part(
    make_user: Any, make_worker: Any, make_bundle: Any
) -> Callable[..., OrderLinePart]:
    """A paid order with one line and one part for ``offer`` (amount, units, paid time)."""

    def factory(
        offer: Offer,
        *,
        amount_idr: int = 25_000,
        units: int = 1,
        paid_at: datetime | None = None,
        status: OrderStatus = OrderStatus.PAID,
    ) -> OrderLinePart:
        sponsor = make_user(Role.SPONSOR)
        worker = make_worker()
        bundle = make_bundle(offers=[offer])
        order = Order(
            reference=f"PYG-TEST-{next(_references):05d}",
            sponsor_id=sponsor.id,
            total_idr=amount_idr,
            status=status,
            paid_at=paid_at or datetime.now(UTC),
        )
        line = OrderLine(
            worker_id=worker.id,
            bundle_id=bundle.id,
            months=1,
            first_month=date(2026, 12, 1),
            total_idr=amount_idr,
        )
        part = OrderLinePart(offer_id=offer.id, quantity=units, amount_idr=amount_idr)
        line.parts.append(part)
        order.lines.append(line)
        db.session.add(order)
        db.session.commit()
        return part

    return factory
