"""Stripe's webhook: only correctly signed, fresh events are taken; each event id once; the
intent is re-read from Stripe, so duplicates, late and out-of-order events cannot pay an order
twice or un-pay it; many deliveries at once still make exactly one paid order each."""

import json
import random
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from extensions import db
from sponsorship.checkout.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    StripeEvent,
)
from sponsorship.payments.stripe_gateway import gateway_from_config
from tests.checkout_support import intent_event, sign
from tests.conftest import ON_POSTGRES
from tests.stripe_support import CARD_DECLINED_ON_CHARGE, CARD_SUCCEEDS

SECRET = "whsec_payung_localstripe"


@pytest.fixture
def app_config(localstripe):
    localstripe.flush()
    return localstripe.app_config()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def with_intent(order: Order) -> str:
    """Give the order its PaymentIntent, as the pay page does."""
    intent = gateway_from_config().create_payment_intent(
        amount_idr=order.total_idr,
        order_reference=order.reference,
        idempotency_key=f"order-{order.reference}-payment-intent",
        metadata={"order_id": str(order.id)},
    )
    db.session.add(
        Payment(order_id=order.id, provider_payment_id=intent.id, amount_idr=intent.amount_idr)
    )
    db.session.commit()
    return intent.id


def post_event(client, payload: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post("/stripe/webhook", data=payload, headers=headers)


@pytest.fixture
def paid_intent(localstripe, catalog, workers, ordered):
    order = ordered(workers(1), catalog.sertakan)
    intent_id = with_intent(order)
    assert localstripe.pay_with_card(intent_id, CARD_SUCCEEDS).status == "succeeded"
    return order, intent_id


# --- the signature matrix -----------------------------------------------------------------------


def tampered(payload: bytes) -> tuple[bytes, str]:
    signature = sign(payload, SECRET)
    return payload.replace(b"succeeded", b"succeeded ", 1), signature


@pytest.mark.parametrize(
    "make_request",
    [
        pytest.param(tampered, id="tampered body"),
        pytest.param(lambda p: (p, sign(p, "whsec_someone_else")), id="wrong secret"),
        pytest.param(lambda p: (p, None), id="missing header"),
        pytest.param(lambda p: (p, ""), id="empty header"),
        pytest.param(lambda p: (p, sign(p, SECRET, int(time.time()) - 3600)), id="stale"),
        pytest.param(lambda p: (p, sign(p, SECRET, int(time.time()) + 3600)), id="an hour ahead"),
        pytest.param(lambda p: (p, "t=1,v1=nonsense"), id="garbage header"),
    ],
)
def test_a_badly_signed_event_is_refused_and_changes_nothing(
    client, paid_intent, fulfillment_starts, make_request
):
    order, intent_id = paid_intent
    payload, signature = make_request(intent_event(intent_id))
    response = post_event(client, payload, signature)
    assert response.status_code == 400
    assert count(StripeEvent) == 0
    db.session.refresh(order)
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert fulfillment_starts == []


def test_a_valid_event_pays_the_order_once(client, paid_intent, fulfillment_starts):
    order, intent_id = paid_intent
    payload = intent_event(intent_id)
    first = post_event(client, payload, sign(payload, SECRET))
    again = post_event(client, payload, sign(payload, SECRET))
    assert (first.status_code, first.get_json()) == (200, {"received": "ok"})
    assert (again.status_code, again.get_json()) == (200, {"received": "duplicate"})
    db.session.refresh(order)
    assert order.status == OrderStatus.FULFILLING
    assert count(StripeEvent) == 1
    assert fulfillment_starts == [order.id]


@pytest.mark.parametrize("offset", [-200, 200], ids=["200 s ago", "200 s ahead"])
def test_an_event_signed_within_five_minutes_either_way_is_taken(
    client, paid_intent, fulfillment_starts, offset
):
    order, intent_id = paid_intent
    payload = intent_event(intent_id)
    response = post_event(client, payload, sign(payload, SECRET, int(time.time()) + offset))
    assert (response.status_code, response.get_json()) == (200, {"received": "ok"})
    db.session.refresh(order)
    assert order.status == OrderStatus.FULFILLING
    assert fulfillment_starts == [order.id]


def test_an_event_that_claims_success_for_an_unpaid_intent_pays_nothing(
    client, catalog, workers, ordered, fulfillment_starts
):
    order = ordered(workers(1), catalog.sertakan)
    intent_id = with_intent(order)  # never paid
    payload = intent_event(intent_id)
    assert post_event(client, payload, sign(payload, SECRET)).status_code == 200
    db.session.refresh(order)
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert fulfillment_starts == []


def test_events_out_of_order_never_unpay_or_pay_twice(
    client, localstripe, catalog, workers, ordered, fulfillment_starts
):
    order = ordered(workers(1), catalog.sertakan)
    intent_id = with_intent(order)
    localstripe.pay_with_card(intent_id, CARD_DECLINED_ON_CHARGE)
    localstripe.pay_with_card(intent_id, CARD_SUCCEEDS)
    # The success arrives first, then the earlier failure, then a stray cancellation.
    for event_type in (
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
    ):
        payload = intent_event(intent_id, event_type)
        assert post_event(client, payload, sign(payload, SECRET)).status_code == 200
    db.session.refresh(order)
    assert order.status == OrderStatus.FULFILLING
    assert db.session.scalars(select(Payment)).one().status == PaymentStatus.SUCCEEDED
    assert fulfillment_starts == [order.id]
    assert count(StripeEvent) == 3


def test_a_failure_event_records_the_decline_and_leaves_the_order_unpaid(
    client, localstripe, catalog, workers, ordered, fulfillment_starts
):
    order = ordered(workers(1), catalog.sertakan)
    intent_id = with_intent(order)
    localstripe.pay_with_card(intent_id, CARD_DECLINED_ON_CHARGE)
    payload = intent_event(intent_id, "payment_intent.payment_failed")
    assert post_event(client, payload, sign(payload, SECRET)).status_code == 200
    payment = db.session.scalars(select(Payment)).one()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == "card_declined"  # the reason, shown in our words
    db.session.refresh(order)
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert fulfillment_starts == []


def test_events_about_other_objects_are_recorded_once_and_ignored(client, fulfillment_starts):
    payload = json.dumps(
        {
            "id": "evt_customer",
            "object": "event",
            "type": "customer.created",
            "created": int(time.time()),
            "data": {"object": {"id": "cus_1", "object": "customer"}},
        }
    ).encode()
    assert post_event(client, payload, sign(payload, SECRET)).status_code == 200
    unknown = intent_event("pi_unknown")
    assert post_event(client, unknown, sign(unknown, SECRET)).status_code == 200
    assert count(StripeEvent) == 2
    assert fulfillment_starts == []


# --- a real server, many deliveries at once ------------------------------------------------------


@dataclass
class LiveServer:
    url: str


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def deliver(url: str, payload: bytes) -> int:
    request = urllib.request.Request(  # noqa: S310 (our own http://127.0.0.1 server)
        url + "/stripe/webhook",
        data=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload, SECRET)},
        method="POST",
    )
    try:
        with _opener.open(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def storm(live_server, localstripe, orders_count, ordered, catalog, workers, starts) -> None:
    """``orders_count`` paid orders; each success event delivered five times, all at once."""
    orders = [ordered(workers(1), catalog.sertakan) for _ in range(orders_count)]
    intents = [with_intent(order) for order in orders]
    for intent_id in intents:
        assert localstripe.pay_with_card(intent_id).status == "succeeded"
    deliveries = [intent_event(intent_id) for intent_id in intents for _ in range(5)]
    random.Random(5).shuffle(deliveries)
    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(lambda p: deliver(live_server.url, p), deliveries))
    assert statuses == [200] * len(deliveries)
    db.session.rollback()
    paid = db.session.scalar(
        select(func.count()).select_from(Order).where(Order.status == OrderStatus.FULFILLING)
    )
    assert paid == orders_count
    assert sorted(starts) == sorted(order.id for order in orders)  # one start per order
    assert count(StripeEvent) == orders_count


def test_twenty_payments_delivered_five_times_at_once(
    live_server, localstripe, ordered, catalog, workers, fulfillment_starts
):
    storm(live_server, localstripe, 20, ordered, catalog, workers, fulfillment_starts)


@pytest.mark.slow
@pytest.mark.skipif(not ON_POSTGRES, reason="200×5 concurrent deliveries need PostgreSQL")
def test_two_hundred_payments_delivered_five_times_at_once_on_postgres(
    live_server, localstripe, ordered, catalog, workers, fulfillment_starts
):
    storm(live_server, localstripe, 200, ordered, catalog, workers, fulfillment_starts)


def test_localstripe_itself_delivers_the_signed_event(
    live_server, localstripe, catalog, workers, ordered, fulfillment_starts
):
    order = ordered(workers(1), catalog.sertakan)
    intent_id = with_intent(order)
    gateway = gateway_from_config()
    gateway.register_webhook_endpoint(
        live_server.url + "/stripe/webhook", endpoint_id="payung-test"
    )
    try:
        localstripe.pay_with_card(intent_id)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            db.session.rollback()
            if db.session.get(Order, order.id).status != OrderStatus.AWAITING_PAYMENT:
                break
            time.sleep(0.2)
    finally:
        gateway.register_webhook_endpoint(
            live_server.url + "/stripe/webhook", endpoint_id="payung-test", events=[]
        )
    db.session.rollback()
    assert db.session.get(Order, order.id).status == OrderStatus.FULFILLING
    assert (
        db.session.scalar(select(StripeEvent.type).where(StripeEvent.object_id == intent_id))
        == "payment_intent.succeeded"
    )
    assert fulfillment_starts == [order.id]
