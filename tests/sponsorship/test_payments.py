"""Paying an order with a card through localstripe, as the sponsor's browser does it: the pay
page, the SetupIntent confirmed by "Stripe.js", the server confirming the PaymentIntent, 3-D
Secure, declines, and the return page. The order becomes paid once, fulfillment starts once."""

import re
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from extensions import db
from sponsorship.checkout.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    StripeCustomer,
)
from sponsorship.payments import services as payments
from sponsorship.payments.services import PaymentMismatch, mark_order_paid
from tests.checkout_support import pay_in_browser, setup_secret_of
from tests.stripe_support import (
    CARD_DECLINED_ON_CHARGE,
    CARD_NEEDS_3DS,
    CARD_NEEDS_3DS_THEN_DECLINED,
    CARD_SUCCEEDS,
)

DECLINED = "Bank Anda menolak pembayaran ini. Hubungi bank Anda atau gunakan kartu lain."


@pytest.fixture
def app_config(localstripe):
    localstripe.flush()
    return localstripe.app_config()


@pytest.fixture
def order(catalog, workers, ordered):
    return ordered(workers(2), catalog.sertakan, months=3)


@pytest.fixture
def signed_in(client, login_as, sponsor):
    return login_as(sponsor)


def status_of(order: Order) -> OrderStatus:
    db.session.refresh(order)
    return OrderStatus(order.status)


def test_a_sponsor_pays_with_a_test_card_and_the_order_is_paid_once(
    signed_in, localstripe, order, fulfillment_starts
):
    attempt = pay_in_browser(signed_in, localstripe, order, CARD_SUCCEEDS)
    assert attempt.confirm["status"] == "succeeded"
    assert attempt.final_location == f"/pesanan/{order.reference}"
    assert status_of(order) == OrderStatus.FULFILLING
    assert fulfillment_starts == [order.id]
    payment = db.session.scalars(select(Payment)).one()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.amount_idr == order.total_idr
    intent = localstripe.request("GET", f"/v1/payment_intents/{payment.provider_payment_id}")
    assert intent["amount"] == order.total_idr * 100  # IDR travels as two-decimal
    assert intent["currency"] == "idr"
    assert intent["metadata"]["order_reference"] == order.reference
    # The return page again, and the order page: nothing more happens.
    signed_in.get(f"/pesanan/{order.reference}/selesai")
    page = signed_in.get(f"/pesanan/{order.reference}")
    assert "Dibayar" in page.text
    assert "js/order_progress.js" in page.text  # its progress updates while delivering
    assert fulfillment_starts == [order.id]


def test_a_declined_card_says_so_and_leaves_the_order_unpaid(
    signed_in, localstripe, order, fulfillment_starts
):
    attempt = pay_in_browser(signed_in, localstripe, order, CARD_DECLINED_ON_CHARGE)
    assert attempt.confirm["status"] == "declined"
    assert attempt.confirm["message"] == DECLINED  # our words, never Stripe's English
    assert status_of(order) == OrderStatus.AWAITING_PAYMENT
    assert fulfillment_starts == []
    page = signed_in.get(f"/pesanan/{order.reference}")
    assert DECLINED in page.text and "Your card was declined" not in page.text
    # Another card on the same order, with the fresh SetupIntent the answer carried.
    retry = pay_in_browser(
        signed_in,
        localstripe,
        order,
        CARD_SUCCEEDS,
        setup_secret=attempt.confirm["setup_client_secret"],
    )
    assert retry.confirm["status"] == "succeeded"
    assert status_of(order) == OrderStatus.FULFILLING
    assert fulfillment_starts == [order.id]
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_3d_secure_is_passed_in_the_browser_then_the_return_page_confirms(
    signed_in, localstripe, order, fulfillment_starts
):
    attempt = pay_in_browser(signed_in, localstripe, order, CARD_NEEDS_3DS)
    assert attempt.confirm["status"] == "requires_action"
    assert attempt.confirm["client_secret"]
    assert attempt.final_location == f"/pesanan/{order.reference}"
    assert status_of(order) == OrderStatus.FULFILLING
    assert fulfillment_starts == [order.id]


def test_failed_3d_secure_sends_the_sponsor_back_to_pay(
    signed_in, localstripe, order, fulfillment_starts
):
    attempt = pay_in_browser(signed_in, localstripe, order, CARD_NEEDS_3DS, authenticate=False)
    assert attempt.final_location == f"/pesanan/{order.reference}/bayar"
    assert status_of(order) == OrderStatus.AWAITING_PAYMENT
    # The pay page offers a fresh card form: the used SetupIntent is not handed out again.
    page = signed_in.get(f"/pesanan/{order.reference}/bayar")
    assert setup_secret_of(page.text)
    assert fulfillment_starts == []


def test_declined_after_3d_secure_leaves_the_order_unpaid(
    signed_in, localstripe, order, fulfillment_starts
):
    attempt = pay_in_browser(signed_in, localstripe, order, CARD_NEEDS_3DS_THEN_DECLINED)
    assert status_of(order) == OrderStatus.AWAITING_PAYMENT
    assert fulfillment_starts == []
    shown = signed_in.get(attempt.final_location).text  # the return page's message
    assert DECLINED in shown and "Your card was declined" not in shown


def test_the_pay_page_explains_that_only_the_card_needs_javascript(signed_in, localstripe, order):
    page = signed_in.get(f"/pesanan/{order.reference}/bayar")
    assert "<noscript>" in page.text
    assert "JavaScript" in page.text
    assert re.search(r'<script src="[^"]*/js\.stripe\.com/v3/" defer>', page.text)
    assert "/static/js/checkout.js" in page.text
    assert "<script>" not in page.text  # no inline scripts (CSP)
    csp = page.headers["Content-Security-Policy"]
    assert localstripe.base_url in csp
    # One Stripe customer per sponsor, one intent per order, however often the page opens.
    signed_in.get(f"/pesanan/{order.reference}/bayar")
    assert db.session.scalar(select(func.count()).select_from(StripeCustomer)) == 1
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_only_the_sponsor_can_pay_their_order(
    client, login_as, make_user, localstripe, order, fulfillment_starts
):
    login_as(make_user(Role.SPONSOR))
    assert client.get(f"/pesanan/{order.reference}/bayar").status_code == 404
    assert (
        client.post(
            f"/pesanan/{order.reference}/bayar/kartu", json={"setup_intent": "seti_123"}
        ).status_code
        == 404
    )
    login_as(make_user(Role.ADMIN))
    assert client.get(f"/pesanan/{order.reference}").status_code == 200  # admins may look
    assert client.get(f"/pesanan/{order.reference}/bayar").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


@pytest.mark.parametrize("body", [None, {}, {"setup_intent": 42}, {"setup_intent": "pi_123"}])
def test_a_confirm_request_without_a_setup_intent_changes_nothing(
    signed_in, localstripe, order, body
):
    signed_in.get(f"/pesanan/{order.reference}/bayar")
    response = signed_in.post(f"/pesanan/{order.reference}/bayar/kartu", json=body)
    assert response.status_code == 400
    assert response.get_json()["status"] == "error"
    assert status_of(order) == OrderStatus.AWAITING_PAYMENT
    assert db.session.scalars(select(Payment)).one().attempts == 1  # only the card form's


def test_another_sponsors_card_setup_is_refused(
    signed_in, localstripe, order, catalog, workers, ordered, make_user, client, login_as
):
    page = signed_in.get(f"/pesanan/{order.reference}/bayar")
    mine = localstripe.confirm_card_setup(setup_secret_of(page.text))
    stranger = make_user(Role.SPONSOR)
    theirs = ordered(workers(1), catalog.sertakan, who=stranger)
    login_as(stranger)
    client.get(f"/pesanan/{theirs.reference}/bayar")
    response = client.post(
        f"/pesanan/{theirs.reference}/bayar/kartu", json={"setup_intent": mine["id"]}
    )
    assert response.status_code == 409
    assert status_of(theirs) == OrderStatus.AWAITING_PAYMENT


def test_an_intent_for_another_amount_or_order_never_marks_paid(
    app, localstripe, order, fulfillment_starts
):
    gateway = payments.gateway_from_config()
    intent = gateway.create_payment_intent(
        amount_idr=order.total_idr + 1,
        order_reference=order.reference,
        idempotency_key="mismatch-test",
        metadata={},
    )
    localstripe.pay_with_card(intent.id)
    paid = gateway.retrieve_payment_intent(intent.id)
    with pytest.raises(PaymentMismatch):
        mark_order_paid(order, paid)
    with pytest.raises(PaymentMismatch):
        mark_order_paid(order, replace(paid, amount_idr=order.total_idr, order_reference="PY-X"))
    db.session.rollback()
    assert status_of(order) == OrderStatus.AWAITING_PAYMENT
    assert fulfillment_starts == []


def test_marking_paid_twice_starts_fulfillment_once(app, localstripe, order, fulfillment_starts):
    gateway = payments.gateway_from_config()
    intent = gateway.create_payment_intent(
        amount_idr=order.total_idr,
        order_reference=order.reference,
        idempotency_key="twice-test",
        metadata={},
    )
    localstripe.pay_with_card(intent.id)
    paid = gateway.retrieve_payment_intent(intent.id)
    assert mark_order_paid(order, paid) is True
    assert mark_order_paid(order, paid) is False
    db.session.commit()
    assert status_of(order) == OrderStatus.FULFILLING
    assert order.paid_at is not None
    assert fulfillment_starts == [order.id]


def test_going_back_to_the_cart_cancels_the_intent(
    signed_in, localstripe, order, fulfillment_starts
):
    signed_in.get(f"/pesanan/{order.reference}/bayar")
    payment = db.session.scalars(select(Payment)).one()
    response = signed_in.post(f"/pesanan/{order.reference}/kembali-ke-keranjang")
    assert response.headers["Location"] == "/keranjang"
    assert status_of(order) == OrderStatus.CANCELLED
    intent = localstripe.request("GET", f"/v1/payment_intents/{payment.provider_payment_id}")
    assert intent["status"] == "canceled"
    assert "2" in signed_in.get("/keranjang").text


def test_a_paid_order_cannot_go_back_to_the_cart(signed_in, localstripe, order, fulfillment_starts):
    pay_in_browser(signed_in, localstripe, order, CARD_SUCCEEDS)
    response = signed_in.post(f"/pesanan/{order.reference}/kembali-ke-keranjang")
    assert response.headers["Location"] == f"/pesanan/{order.reference}"
    assert status_of(order) == OrderStatus.FULFILLING


def test_the_pay_page_notices_a_payment_that_went_through_meanwhile(
    signed_in, localstripe, order, fulfillment_starts
):
    page = signed_in.get(f"/pesanan/{order.reference}/bayar")
    setup = localstripe.confirm_card_setup(setup_secret_of(page.text), CARD_NEEDS_3DS)
    confirm = signed_in.post(
        f"/pesanan/{order.reference}/bayar/kartu", json={"setup_intent": setup["id"]}
    ).get_json()
    localstripe.confirm_card_payment(confirm["client_secret"])  # then the browser closed
    again = signed_in.get(f"/pesanan/{order.reference}/bayar")
    assert again.headers["Location"] == f"/pesanan/{order.reference}"
    assert status_of(order) == OrderStatus.FULFILLING
    assert fulfillment_starts == [order.id]
