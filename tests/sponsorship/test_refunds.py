"""Partial refunds: exactly one part's price, through Stripe (localstripe), never twice."""

import threading

import pytest
from sqlalchemy import func, select

from accounts.models import User
from extensions import db
from sponsorship.checkout.models import OrderLinePart, OrderStatus, Refund
from sponsorship.payments.refunds import RefundError, refund_order_line_part
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers


@pytest.fixture
def app_config(localstripe):
    return localstripe.app_config()


@pytest.fixture
def pay(localstripe):
    def paid_intent(total_idr, reference):
        gateway = localstripe.gateway()
        intent = gateway.create_payment_intent(
            amount_idr=total_idr,
            order_reference=reference,
            idempotency_key=f"t-{reference}",
            metadata={},
        )
        gateway.close()
        assert localstripe.pay_with_card(intent.id).status == "succeeded"
        return intent.id

    return paid_intent


def stripe_refunds(localstripe, intent_id):
    data = localstripe.request("GET", f"/v1/refunds?payment_intent={intent_id}")["data"]
    return [r for r in data if r["payment_intent"] == intent_id]


def an_order(pay=None):
    combo = make_combofit(codes=1)
    order = make_paid_order(combo.bundle, make_workers(1), pay=pay)
    db.session.commit()
    return order


def test_a_part_is_refunded_exactly_once(app, localstripe, pay, make_user):
    admin = make_user()
    order = an_order(pay)
    part = order.lines[0].parts[2]
    refund = refund_order_line_part(part, reason="telco refused", actor_id=admin.id)
    db.session.commit()
    again = refund_order_line_part(part, reason="clicked twice")
    db.session.commit()

    assert again.id == refund.id
    assert (refund.amount_idr, refund.reason, refund.created_by_id) == (
        part.amount_idr,
        "telco refused",
        admin.id,
    )
    intent = order.payments[0].provider_payment_id
    at_stripe = stripe_refunds(localstripe, intent)
    assert [(r["id"], r["amount"], r["metadata"]["reason"]) for r in at_stripe] == [
        (refund.provider_refund_id, part.amount_idr * 100, "telco refused")
    ]


def test_two_workers_refunding_one_part_at_once_refund_it_once(app, localstripe, pay):
    order = an_order(pay)
    part_id = order.lines[0].parts[0].id
    outcomes = []

    def refund_in_own_session():
        with app.app_context():
            try:
                part = db.session.get(OrderLinePart, part_id)
                outcomes.append(refund_order_line_part(part, reason="race").id)
                db.session.commit()
            except Exception as error:  # the loser of the unique index
                db.session.rollback()
                outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=refund_in_own_session) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 1
    intent = order.payments[0].provider_payment_id
    assert len(stripe_refunds(localstripe, intent)) == 1
    assert len(outcomes) == 2


def test_refusals_change_nothing(app, localstripe, pay):
    order = an_order(pay)
    free = order.lines[0].parts[0]
    free.amount_idr = 0
    with pytest.raises(RefundError, match="nothing_to_refund"):
        refund_order_line_part(free, reason="x")
    unpaid = an_order()  # a payment Stripe never saw
    with pytest.raises(RefundError, match="gateway"):
        refund_order_line_part(unpaid.lines[0].parts[0], reason="x")
    unpaid.payments[0].status = "failed"
    with pytest.raises(RefundError, match="no_payment"):
        refund_order_line_part(unpaid.lines[0].parts[0], reason="x")
    too_much = order.lines[0].parts[1]
    too_much.amount_idr = order.payments[0].amount_idr + 1
    with pytest.raises(RefundError, match="over_refund"):
        refund_order_line_part(too_much, reason="x")
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0
    assert stripe_refunds(localstripe, order.payments[0].provider_payment_id) == []


def test_an_order_refunded_part_by_part_says_refunded_never_done(
    app, localstripe, pay, client, login_as
):
    combo = make_combofit(codes=1)
    combo.bundle.platform_fee_idr = 0
    order = make_paid_order(combo.bundle, make_workers(1), pay=pay)
    order.transition(OrderStatus.FULFILLING)
    order.transition(OrderStatus.FULFILLED)
    db.session.commit()
    sponsor = db.session.get(User, order.sponsor_id)
    first, *others = order.lines[0].parts

    refund_order_line_part(first, reason="voucher could not be delivered")
    db.session.commit()
    login_as(sponsor)
    listed = client.get("/pesanan").text
    assert "Selesai" in listed and "Sebagian dikembalikan" in listed

    for part in others:
        refund_order_line_part(part, reason="nothing could be delivered")
    db.session.commit()
    db.session.refresh(order)
    assert order.status == OrderStatus.REFUNDED
    for page in (client.get("/pesanan").text, client.get(f"/pesanan/{order.reference}").text):
        assert "Dana dikembalikan" in page
        assert "Selesai" not in page and "Sebagian dikembalikan" not in page
