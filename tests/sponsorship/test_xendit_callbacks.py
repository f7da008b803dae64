"""Xendit's callbacks, exactly once: only with our token, checked against the order, stored by
id, re-read from Xendit (so duplicates, late and out-of-order callbacks are harmless); money
the order cannot take (paid twice, cancelled, a VA paid after the prices expired) goes back in
full through Xendit; refunds of parts and orders go back through Xendit too."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.errors import IllegalTransition
from extensions import db, utcnow
from sponsorship.checkout.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    StripeEvent,
    mark_payment_succeeded,
)
from sponsorship.payments.local import start_local_payment
from sponsorship.payments.refunds import refund_order, refund_order_line_part
from sponsorship.payments.services import return_to_cart
from tests.sponsorship.xendit_support import CALLBACK_TOKEN, XenditSandbox, xendit_fixture  # noqa: F401


@pytest.fixture
def app_config(localstripe, partner_sandbox):
    return {**localstripe.app_config(), **XenditSandbox(partner_sandbox).app_config()}


@pytest.fixture
def order(catalog, workers, ordered):
    return ordered(workers(2), catalog.sertakan, months=3)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def status_of(order: Order) -> OrderStatus:
    db.session.rollback()
    return OrderStatus(db.session.get(Order, order.id).status)


def deliver(client, body: str, token: str | None = CALLBACK_TOKEN):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["x-callback-token"] = token
    return client.post("/xendit/callback", data=body, headers=headers)


def paid(xendit, payment) -> str:
    """Simulate the payment at the sandbox; the callback body Xendit sent."""
    assert xendit.simulate(payment.provider_payment_id).status_code == 200
    return xendit.callbacks_for(payment.provider_payment_id)[-1]["body"]


def opened(order, method="va", channel="BCA", **options) -> Payment:
    payment = start_local_payment(order, method, channel, **options)
    db.session.commit()
    return payment


def test_a_callback_without_our_token_is_refused_and_changes_nothing(
    client,
    order,
    xendit,
    fulfillment_starts,
):
    body = paid(xendit, opened(order))
    for token in (None, "", "payung-sandbox-callback-token", CALLBACK_TOKEN.upper()):
        assert deliver(client, body, token).status_code == 401
    assert deliver(client, "not json").status_code == 401
    assert status_of(order) == OrderStatus.AWAITING_PAYMENT
    assert count(StripeEvent) == 0 and fulfillment_starts == []


def test_a_callback_for_another_amount_or_currency_changes_nothing(
    client,
    order,
    xendit,
    fulfillment_starts,
):
    body = json.loads(paid(xendit, opened(order)))
    for field, value in (("amount", order.total_idr - 1), ("currency", "USD")):
        forged = {**body, "data": {**body["data"], field: value}}
        assert deliver(client, json.dumps(forged)).status_code == 400
    assert status_of(order) == OrderStatus.AWAITING_PAYMENT
    assert count(StripeEvent) == 0 and fulfillment_starts == []
    assert deliver(client, json.dumps(body)).status_code == 200  # the true one still pays
    assert status_of(order) == OrderStatus.FULFILLING


def test_a_callback_is_only_a_hint_an_unpaid_request_stays_unpaid(
    client,
    order,
    xendit,
    fulfillment_starts,
):
    first = opened(order, "va", "BNI")
    second = opened(order, "qris", "QRIS")
    body = json.loads(paid(xendit, first))
    # A "succeeded" callback naming the request nobody paid: Xendit says it is pending.
    claim = {
        **body,
        "data": {
            **body["data"],
            "id": "py-forged",
            "payment_request_id": second.provider_payment_id,
        },
    }
    assert deliver(client, json.dumps(claim)).status_code == 200
    assert status_of(order) == OrderStatus.AWAITING_PAYMENT
    assert fulfillment_starts == []


def test_duplicates_and_out_of_order_callbacks_pay_once_and_never_unpay(
    client,
    order,
    xendit,
    fulfillment_starts,
):
    wallet = opened(order, "ewallet", "DANA")
    refused = xendit.post(
        f"/ewallet/{wallet.provider_payment_id}",
        data={"decision": "refuse"},
        allow_redirects=False,
    )
    assert refused.status_code == 303
    failure = xendit.callbacks_for(wallet.provider_payment_id)[-1]["body"]
    success = paid(xendit, opened(order, "qris", "QRIS"))
    for body in (success, success, failure, success, failure):
        assert deliver(client, body).status_code == 200
    assert status_of(order) == OrderStatus.FULFILLING
    assert fulfillment_starts == [order.id]
    assert count(StripeEvent) == 2  # one success, one failure, each stored once
    statuses = set(db.session.scalars(select(Payment.status)))
    assert statuses == {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}


def test_paying_a_qris_code_and_a_va_both_gives_the_second_back_in_full(
    client,
    order,
    xendit,
    fulfillment_starts,
):
    qris, va = opened(order, "qris", "QRIS"), opened(order, "va", "BRI")
    first, second = paid(xendit, qris), paid(xendit, va)
    assert deliver(client, first).status_code == 200
    assert deliver(client, second).status_code == 200
    assert deliver(client, second).status_code == 200
    db.session.rollback()
    va = db.session.get(Payment, va.id)
    assert va.status == PaymentStatus.REFUNDED and va.auto_refund_id.startswith("rfd-")
    refunds = xendit.refunds(va.provider_payment_id)
    assert [(r["id"], r["amount"]) for r in refunds] == [(va.auto_refund_id, order.total_idr)]
    assert xendit.refunds(qris.provider_payment_id) == []
    assert fulfillment_starts == [order.id]
    assert count(Refund) == 0  # the order itself was not refunded


def test_a_va_paid_late_is_honoured_while_the_order_can_still_be_fulfilled(
    client,
    order,
    xendit,
    fulfillment_starts,
):
    va = opened(order, "va", "BCA", expires_at=utcnow() + timedelta(minutes=30))
    xendit.post(f"/_expire/{va.provider_payment_id}")
    assert xendit.simulate(va.provider_payment_id).status_code == 400  # closed for payments
    assert xendit.post(f"/_pay_late/{va.provider_payment_id}").status_code == 200
    body = xendit.callbacks_for(va.provider_payment_id)[-1]["body"]
    assert deliver(client, body).status_code == 200
    assert status_of(order) == OrderStatus.FULFILLING
    assert fulfillment_starts == [order.id]


def test_a_va_paid_after_the_prices_expired_or_the_order_was_cancelled_is_refunded(
    client,
    order,
    xendit,
    sponsor,
    catalog,
    workers,
    ordered,
    fulfillment_starts,
):
    va = opened(order, "va", "MANDIRI")
    db.session.get(Order, order.id).expires_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    assert deliver(client, paid(xendit, va)).status_code == 200
    assert status_of(order) == OrderStatus.AWAITING_PAYMENT
    assert db.session.get(Payment, va.id).status == PaymentStatus.REFUNDED

    other = ordered(workers(1), catalog.sertakan)
    late = opened(other, "va", "BNI")
    return_to_cart(db.session.get(Order, other.id), sponsor)
    db.session.commit()
    assert deliver(client, paid(xendit, late)).status_code == 200
    assert status_of(other) == OrderStatus.CANCELLED
    refunded = db.session.get(Payment, late.id)
    assert refunded.status == PaymentStatus.REFUNDED
    assert [r["id"] for r in xendit.refunds(late.provider_payment_id)] == [refunded.auto_refund_id]
    assert fulfillment_starts == []


def test_a_refund_xendit_refuses_is_retried_with_the_callback(
    client,
    order,
    xendit,
    fulfillment_starts,
):
    qris, va = opened(order, "qris", "QRIS"), opened(order, "va", "BCA")
    assert deliver(client, paid(xendit, qris)).status_code == 200
    second = paid(xendit, va)
    xendit.sandbox.set_faults(down=True, paths=["/xendit/refunds"])
    assert deliver(client, second).status_code == 503  # Xendit will deliver it again
    assert db.session.get(Payment, va.id).status == PaymentStatus.PENDING
    xendit.sandbox.set_faults()
    assert deliver(client, second).status_code == 200
    db.session.rollback()
    assert db.session.get(Payment, va.id).status == PaymentStatus.REFUNDED
    assert len(xendit.refunds(va.provider_payment_id)) == 1


def test_parts_and_orders_paid_by_qris_are_refunded_through_xendit(
    client,
    order,
    xendit,
    make_user,
    fulfillment_starts,
):
    qris = opened(order, "qris", "QRIS")
    assert deliver(client, paid(xendit, qris)).status_code == 200
    db.session.rollback()
    paid_order = db.session.get(Order, order.id)
    part = next(p for line in paid_order.lines for p in line.parts if p.amount_idr > 0)
    refund = refund_order_line_part(part, reason="telco refused")
    db.session.commit()
    assert refund_order_line_part(part, reason="again").id == refund.id
    whole = refund_order(paid_order, reason="sponsor asked", actor_id=make_user().id)
    db.session.commit()
    at_xendit = xendit.refunds(qris.provider_payment_id)
    assert [(r["id"], r["amount"]) for r in at_xendit] == [
        (refund.provider_refund_id, part.amount_idr),
        (whole.provider_refund_id, order.total_idr - part.amount_idr),
    ]
    assert at_xendit[0]["metadata"] == {"reason": "telco refused"}
    assert status_of(order) == OrderStatus.REFUNDED


def test_an_expired_code_says_so_and_offers_another_way(
    client,
    login_as,
    sponsor,
    order,
    xendit,
):
    login_as(sponsor)
    qris = opened(order, "qris", "QRIS")
    db.session.get(Payment, qris.id).expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    page = client.get(f"/pesanan/{order.reference}/bayar/{qris.id}").text
    assert "sudah kedaluwarsa" in page and "<svg" not in page
    fresh = client.post(
        f"/pesanan/{order.reference}/bayar/lokal", data={"method": "qris", "channel": "QRIS"}
    )
    assert fresh.headers["Location"] != f"/pesanan/{order.reference}/bayar/{qris.id}"


def test_a_payment_is_given_back_only_from_pending_or_failed_and_only_once(app, order):
    for status in (PaymentStatus.PENDING, PaymentStatus.FAILED):
        payment = Payment(status=status)
        payment.transition(PaymentStatus.REFUNDED)
        with pytest.raises(IllegalTransition):
            payment.transition(PaymentStatus.SUCCEEDED)
    with pytest.raises(IllegalTransition):
        Payment(status=PaymentStatus.SUCCEEDED).transition(PaymentStatus.REFUNDED)
    db.session.add(
        Payment(order_id=order.id, provider_payment_id="pr-x", amount_idr=1, gateway="xendit")
    )
    db.session.commit()
    assert mark_payment_succeeded("pr-x", PaymentStatus.REFUNDED) is True
    assert mark_payment_succeeded("pr-x", PaymentStatus.REFUNDED) is False
    assert mark_payment_succeeded("pr-x") is False  # given back: never paid after all
