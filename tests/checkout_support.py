"""pytest plugin for checkout: a small catalog, carts, orders, a sponsor's browser paying with
localstripe, signed webhook events, and counters for fulfillment starts.

Fixtures: ``catalog`` (insurer dues, a health app with a code pool, Telkomsel-only data: the
ComboFit parts, built by the one catalogue builder in ``tests.fulfillment.support``; three
bundles), ``checkout_world`` (localstripe settings for the app; use it as ``app_config``),
``fulfillment_starts`` (counts ``start_fulfillment`` calls, jobs not enqueued),
``ordered`` (a factory: an order for some workers, straight from the cart).
"""

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from flask.testing import FlaskClient

from accounts.models import Role, User
from bundles.dues.data import ensure_default_dues_data
from bundles.models import OfferBilling, PartnerKind
from bundles.seed import combofit_offers
from extensions import db, utcnow
from fulfillment import services
from sponsorship.checkout.cart import add_to_cart, cart_for
from sponsorship.checkout.models import Order, PayerKind
from sponsorship.checkout.services import place_order
from tests.fulfillment.support import add_pool_codes, approved_partner
from tests.stripe_support import CARD_SUCCEEDS, LocalStripe
from workers.models import Worker

TELKOMSEL = "+6281234{:05d}"  # 0812…: Telkomsel
INDOSAT = "+6285712{:05d}"  # 0857…: another network


@pytest.fixture
def catalog(make_bundle):
    """The ComboFit parts as ``bundles.seed`` builds them (through ``tests.fulfillment.support``,
    the one catalogue builder of the tests), priced for checkout: dues, a health app with 400
    pool codes, Telkomsel-only data; and three bundles of them."""
    insurer = approved_partner(PartnerKind.INSURER, "BPJS Ketenagakerjaan")
    health = approved_partner(PartnerKind.HEALTH_APP, "Fita")
    telco = approved_partner(PartnerKind.TELCO, "Telkomsel")
    offers = combofit_offers(
        insurer=insurer,
        health_app=health,
        telco=telco,
        health={
            "name_id": "Fita Premium 30 hari",
            "name_en": "Fita Premium 30 days",
            "unit_price_idr": 25_000,
            "billing": OfferBilling.ONCE,
        },
        dues={
            "name_id": "Iuran BPJS JKK+JKM",
            "name_en": "BPJS dues JKK+JKM",
            "unit_price_idr": 0,
        },
        quota={
            "name_id": "Kuota Telkomsel 5 GB",
            "name_en": "Telkomsel data 5 GB",
            "unit_price_idr": 20_000,
            "billing": OfferBilling.ONCE,
        },
    )
    dues, app_offer, data = offers.dues, offers.health, offers.quota
    db.session.add_all([dues, app_offer, data])
    db.session.flush()
    add_pool_codes(app_offer, 400)
    ensure_default_dues_data()  # the dues rates in force, seeded once
    db.session.commit()
    return SimpleNamespace(
        dues=dues,
        app=app_offer,
        data=data,
        sertakan=make_bundle(offers=[dues], name="Sertakan", platform_fee_idr=1_000),
        combo=make_bundle(offers=[dues, app_offer, data], name="ComboFit", platform_fee_idr=2_000),
        sehat=make_bundle(offers=[app_offer], name="Sehat"),
    )


@pytest.fixture
def sponsor(make_user) -> User:
    return make_user(Role.SPONSOR, display_name="PT Peduli Pekerja")


@pytest.fixture
def workers(make_worker) -> Callable[..., list[Worker]]:
    """``workers(n, telkomsel=True, **fields)``: n consenting, listed workers."""
    counter = iter(range(1, 1_000_000))

    def factory(n: int, *, telkomsel: bool = True, **fields: Any) -> list[Worker]:
        made = []
        for _ in range(n):
            number = next(counter)
            phone = (TELKOMSEL if telkomsel else INDOSAT).format(number)
            made.append(
                make_worker(
                    phone_e164=phone,
                    insurer_consent_at=utcnow(),
                    listing_consent_at=utcnow(),
                    **fields,
                )
            )
        return made

    return factory


@pytest.fixture
def ordered(sponsor: User) -> Callable[..., Order]:
    """``ordered(workers, bundle, months=1, payer=PERSON, today=None)``: an order awaiting
    payment, made through the cart."""

    def factory(
        chosen: list[Worker],
        bundle: Any,
        *,
        months: int = 1,
        payer: PayerKind = PayerKind.PERSON,
        today: date | None = None,
        who: User | None = None,
    ) -> Order:
        buyer = who or sponsor
        add_to_cart(buyer, [w.id for w in chosen], bundle_id=bundle.id, months=months)
        cart_for(buyer).payer_kind = payer
        order = place_order(buyer, today=today)
        db.session.commit()
        return order

    return factory


@pytest.fixture
def fulfillment_starts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Order ids each time fulfillment really started; its jobs are not run."""

    started: list[int] = []
    real_start = services.start_fulfillment

    def counting_start(order: Order) -> Any:
        started.append(order.id)
        return real_start(order)

    monkeypatch.setattr(services, "start_fulfillment", counting_start)
    monkeypatch.setattr(services, "enqueue_items", lambda item_ids: None)
    return started


# --- Stripe ----------------------------------------------------------------------------------


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def intent_event(
    payment_intent_id: str, event_type: str = "payment_intent.succeeded", event_id: str = ""
) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{payment_intent_id}_{event_type.rsplit('.', 1)[-1]}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": {"id": payment_intent_id, "object": "payment_intent"}},
        }
    ).encode()


@dataclass
class PayAttempt:
    confirm: dict[str, Any]
    final_location: str | None


_SETUP_SECRET = re.compile(r'data-setup-secret="([^"]+)"')


def setup_secret_of(page_html: str) -> str:
    found = _SETUP_SECRET.search(page_html)
    assert found, "the pay page has no card form"
    return found.group(1)


def pay_in_browser(
    client: FlaskClient,
    localstripe: LocalStripe,
    order: Order,
    card: str = CARD_SUCCEEDS,
    *,
    authenticate: bool = True,
    authenticate_setup: bool = True,
    setup_secret: str | None = None,
) -> PayAttempt:
    """What checkout.js does: confirm the SetupIntent with the card (as Stripe.js would),
    ask the server to pay, pass 3-D Secure if asked (``authenticate``), then open the return
    page. ``authenticate_setup`` answers a 3-D Secure challenge when the card is handed over."""
    if setup_secret is None:
        page = client.get(f"/pesanan/{order.reference}/bayar")
        assert page.status_code == 200, page.status_code
        setup_secret = setup_secret_of(page.text)
    setup = localstripe.confirm_card_setup(setup_secret, card, authenticate=authenticate_setup)
    confirm = client.post(
        f"/pesanan/{order.reference}/bayar/kartu", json={"setup_intent": setup["id"]}
    ).get_json()
    if confirm["status"] == "requires_action":
        localstripe.confirm_card_payment(confirm["client_secret"], authenticate=authenticate)
    if confirm["status"] in ("requires_action", "succeeded", "processing"):
        back = client.get(confirm["return_url"])
        return PayAttempt(confirm, back.headers.get("Location"))
    return PayAttempt(confirm, None)
