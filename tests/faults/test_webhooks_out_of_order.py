"""Stripe's events out of order, twice, and about orders Payung does not know — with fulfillment
really running (eager jobs against the partner sandbox), not just counted. Each case ends with
SQL checks: the order paid exactly once, one fulfillment item per priced part, each part issued
once at the partners. ``tests/sponsorship/test_webhooks.py`` covers the signature matrix,
success-then-failure without fulfillment, and 5× concurrent deliveries of 20 (and 200) payments.
"""

import json
import time

from sqlalchemy import func, select

from extensions import db
from fulfillment.models import FulfillmentItem, ItemStatus
from sponsorship.checkout.models import (
    Order,
    OrderLine,
    OrderLinePart,
    OrderStatus,
    Payment,
    PaymentStatus,
    StripeEvent,
)
from tests.checkout_support import intent_event, sign
from tests.fulfillment.support import run_until_settled
from tests.sponsorship.test_webhooks import post_event, with_intent
from tests.stripe_support import CARD_DECLINED_ON_CHARGE, CARD_SUCCEEDS

SECRET = "whsec_payung_localstripe"
WORKERS = 2


def deliver(client, payload: bytes) -> str:
    response = post_event(client, payload, sign(payload, SECRET))
    assert response.status_code == 200, response.text
    return response.get_json()["received"]


def charge_refunded(payment_intent_id: str, event_id: str) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "charge.refunded",
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": f"ch_{payment_intent_id}",
                    "object": "charge",
                    "payment_intent": payment_intent_id,
                    "refunded": True,
                }
            },
        }
    ).encode()


def count(*where, model=FulfillmentItem) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def assert_paid_and_fulfilled_once(order: Order, sandbox) -> None:
    run_until_settled(step_s=15)  # the top-ups answer "pending" and are polled
    db.session.refresh(order)
    assert order.status == OrderStatus.FULFILLED
    payments = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).all()
    assert [p.status for p in payments] == [PaymentStatus.SUCCEEDED]
    parts = count(OrderLine.order_id == order.id, model=OrderLinePart.__table__.join(OrderLine))
    assert parts == 3 * WORKERS  # ComboFit: dues, health app, data
    assert count(FulfillmentItem.order_id == order.id) == parts  # one item per part, not two
    assert count(FulfillmentItem.status == ItemStatus.ISSUED) == parts
    stats = sandbox.stats()
    assert stats["duplicate_effects"] == 0
    assert stats["effects_by_kind"] == {
        "insurer.registration": WORKERS,
        "insurer.dues": WORKERS,
        "telco.topup": WORKERS,
    }


def test_refund_and_failure_news_before_the_success_then_the_success_twice(
    client, localstripe, sandbox, catalog, workers, ordered
):
    localstripe.flush()
    order = ordered(workers(WORKERS), catalog.combo)
    intent_id = with_intent(order)
    localstripe.pay_with_card(intent_id, CARD_DECLINED_ON_CHARGE)
    # A stray refund notice (Payung's refunds are its own; the event pays and un-pays nothing),
    # then the decline as it happened, before the payment went through.
    assert deliver(client, charge_refunded(intent_id, "evt_early_refund")) == "ok"
    assert deliver(client, intent_event(intent_id, "payment_intent.payment_failed")) == "ok"
    db.session.refresh(order)
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert count() == 0
    assert db.session.scalars(select(Payment)).one().status == PaymentStatus.FAILED

    assert localstripe.pay_with_card(intent_id, CARD_SUCCEEDS).status == "succeeded"
    success = intent_event(intent_id)
    assert deliver(client, success) == "ok"
    assert deliver(client, success) == "duplicate"  # Stripe's retry of the same event
    # The same news under another event id, and the old failure delivered late again.
    assert deliver(client, intent_event(intent_id, event_id="evt_resent_success")) == "ok"
    late_failure = intent_event(intent_id, "payment_intent.payment_failed", "evt_late_failure")
    assert deliver(client, late_failure) == "ok"

    assert_paid_and_fulfilled_once(order, sandbox)
    assert count(model=StripeEvent) == 5


def test_a_failure_delivered_after_the_success_it_preceded_still_pays_once(
    client, localstripe, sandbox, catalog, workers, ordered
):
    localstripe.flush()
    order = ordered(workers(WORKERS), catalog.combo)
    intent_id = with_intent(order)
    localstripe.pay_with_card(intent_id, CARD_DECLINED_ON_CHARGE)
    localstripe.pay_with_card(intent_id, CARD_SUCCEEDS)
    # Both events arrive only now, the failure first: the intent is re-read, so the failure
    # event itself pays the order, and the success after it changes nothing.
    assert deliver(client, intent_event(intent_id, "payment_intent.payment_failed")) == "ok"
    assert deliver(client, intent_event(intent_id)) == "ok"
    assert_paid_and_fulfilled_once(order, sandbox)


def test_events_for_orders_payung_does_not_know_change_nothing(
    client, localstripe, sandbox, catalog, workers, ordered
):
    localstripe.flush()
    order = ordered(workers(WORKERS), catalog.combo)  # ours, never paid
    gateway = localstripe.gateway()
    try:  # a real, paid intent at Stripe that no Payung order points to
        stranger = gateway.create_payment_intent(
            amount_idr=50_000,
            order_reference="PAY-ELSEWHERE",
            idempotency_key="fault-stranger",
            metadata={"order_id": str(order.id)},  # even a misleading order id
        )
    finally:
        gateway.close()
    assert localstripe.pay_with_card(stranger.id).status == "succeeded"
    for payload in (
        intent_event(stranger.id),
        intent_event(stranger.id, "payment_intent.payment_failed"),
        charge_refunded(stranger.id, "evt_stranger_refund"),
        intent_event("pi_never_heard_of"),
    ):
        assert deliver(client, payload) == "ok"
    db.session.refresh(order)
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert count(model=Payment) == 0
    assert count() == 0
    assert sandbox.stats()["effects_total"] == 0
    assert count(model=StripeEvent) == 4
