"""Paying an order by QRIS, virtual account or e-wallet, as a sponsor does it: the pay page,
the code or number (seen without JavaScript), Xendit's callback or the "I have paid" button,
the e-wallet's page and return. All through xendit-python against the sandbox playing Xendit;
the order is paid once and fulfillment starts once."""

import re
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import func, select

from accounts.models import Role
from extensions import db
from sponsorship.checkout.models import Order, OrderStatus, Payment, PaymentStatus
from sponsorship.payments.local import start_local_payment
from tests.sponsorship.xendit_support import CALLBACK_TOKEN, XenditSandbox, xendit_fixture  # noqa: F401


@pytest.fixture
def app_config(localstripe, partner_sandbox):
    localstripe.flush()  # the pay page makes the sponsor's Stripe customer; no key from before
    return {**localstripe.app_config(), **XenditSandbox(partner_sandbox).app_config()}


@pytest.fixture
def order(catalog, workers, ordered):
    return ordered(workers(2), catalog.sertakan, months=3)


@pytest.fixture
def signed_in(client, login_as, sponsor):
    return login_as(sponsor)


def status_of(order: Order) -> OrderStatus:
    db.session.refresh(order)
    return OrderStatus(order.status)


def choose(client, order, method, channel=""):
    return client.post(
        f"/pesanan/{order.reference}/bayar/lokal", data={"method": method, "channel": channel}
    )


def payment_of(order, method) -> Payment:
    db.session.rollback()
    return db.session.scalars(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.method == method)
        .order_by(Payment.id.desc())
    ).first()


def deliver(client, body: str, token: str | None = CALLBACK_TOKEN):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["x-callback-token"] = token
    return client.post("/xendit/callback", data=body, headers=headers)


def test_the_pay_page_offers_qris_every_bank_and_e_wallet(signed_in, order):
    page = signed_in.get(f"/pesanan/{order.reference}/bayar").text
    for value in ("QRIS", "BCA", "BNI", "BRI", "MANDIRI", "OVO", "DANA", "SHOPEEPAY"):
        assert f'name="channel" value="{value}"' in page
    assert "Bayar dengan QRIS" in page


def test_paying_by_qris_shows_a_code_and_the_callback_pays_the_order_once(
    signed_in,
    order,
    xendit,
    fulfillment_starts,
):
    answer = choose(signed_in, order, "qris")
    payment = payment_of(order, "qris")
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/pesanan/{order.reference}/bayar/{payment.id}"
    assert payment.gateway == "xendit" and payment.channel == "QRIS"
    page = signed_in.get(answer.headers["Location"]).text
    assert (
        re.search(r'<svg [^>]*class="qr"', page) and "<path" in page
    )  # the code is in the HTML itself
    assert re.search(r"Rp[\d.]+", page).group(0) in page
    assert "Sudah bayar" in page  # the no-JavaScript check button

    assert xendit.simulate(payment.provider_payment_id).status_code == 200
    (callback,) = xendit.callbacks_for(payment.provider_payment_id)
    for _ in range(3):  # Xendit retries; each delivery is harmless
        assert deliver(signed_in, callback["body"]).status_code == 200
    assert status_of(order) == OrderStatus.FULFILLING
    assert fulfillment_starts == [order.id]
    assert payment_of(order, "qris").status == PaymentStatus.SUCCEEDED
    poll = signed_in.get(f"/pesanan/{order.reference}/bayar/{payment.id}/status").get_json()
    assert poll == {"paid": True, "done": True, "url": f"/pesanan/{order.reference}"}


def test_a_va_page_shows_bank_number_amount_and_deadline_and_the_button_checks(
    signed_in,
    order,
    xendit,
    fulfillment_starts,
):
    location = choose(signed_in, order, "va", "MANDIRI").headers["Location"]
    payment = payment_of(order, "va")
    page = signed_in.get(location).text
    assert payment.va_number and payment.va_number in page
    assert "Mandiri" in page and "WIB" in page  # the deadline, in Jakarta time
    assert f'data-copy="{payment.va_number}"' in page and "hidden" in page
    assert choose(signed_in, order, "va", "MANDIRI").headers["Location"] == location  # same VA

    checked = signed_in.post(f"{location}/cek")
    assert checked.headers["Location"] == location  # not paid yet
    assert status_of(order) == OrderStatus.AWAITING_PAYMENT
    xendit.simulate(payment.provider_payment_id)  # no callback delivered: the button asks
    checked = signed_in.post(f"{location}/cek")
    assert checked.headers["Location"] == f"/pesanan/{order.reference}"
    assert status_of(order) == OrderStatus.FULFILLING
    assert fulfillment_starts == [order.id]


def test_an_e_wallet_sends_the_sponsor_to_approve_and_back(
    signed_in,
    order,
    xendit,
    fulfillment_starts,
):
    answer = choose(signed_in, order, "ewallet", "SHOPEEPAY")
    payment = payment_of(order, "ewallet")
    assert answer.headers["Location"] == f"/pesanan/{order.reference}/bayar/{payment.id}"
    page = signed_in.get(answer.headers["Location"]).text
    wallet_page = payment.redirect_url
    assert wallet_page.startswith(xendit.api_base + "/ewallet/pr-")
    assert f'href="{wallet_page}"' in page and f'url={wallet_page}"' in page  # link, refresh
    assert "ShopeePay" in page
    assert "SHOPEEPAY" in requests.get(wallet_page, timeout=10).text
    approved = requests.post(
        wallet_page, data={"decision": "approve"}, allow_redirects=False, timeout=10
    )
    assert approved.status_code == 303
    back = approved.headers["Location"]
    assert back.endswith(f"/pesanan/{order.reference}/bayar/kembali")
    returned = signed_in.get(urlsplit(back).path)
    assert returned.headers["Location"] == f"/pesanan/{order.reference}"
    assert status_of(order) == OrderStatus.FULFILLING
    assert fulfillment_starts == [order.id]


def test_a_refused_e_wallet_payment_leaves_the_order_to_pay_another_way(
    signed_in,
    order,
    xendit,
    fulfillment_starts,
):
    choose(signed_in, order, "ewallet", "OVO")
    wallet_page = payment_of(order, "ewallet").redirect_url
    requests.post(wallet_page, data={"decision": "refuse"}, allow_redirects=False, timeout=10)
    returned = signed_in.get(f"/pesanan/{order.reference}/bayar/kembali")
    assert returned.headers["Location"] == f"/pesanan/{order.reference}/bayar"
    assert status_of(order) == OrderStatus.AWAITING_PAYMENT
    assert payment_of(order, "ewallet").status == PaymentStatus.FAILED
    assert fulfillment_starts == []


def test_a_method_or_channel_that_is_not_offered_is_refused(signed_in, order):
    for method, channel in (("va", "PERMATA"), ("ewallet", "GOPAY"), ("cash", ""), ("", "")):
        answer = choose(signed_in, order, method, channel)
        assert answer.headers["Location"] == f"/pesanan/{order.reference}/bayar"
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_the_sandbox_being_down_is_a_clear_message_and_records_nothing(
    signed_in,
    order,
    xendit,
):
    xendit.sandbox.set_faults(down=True)
    answer = choose(signed_in, order, "qris")
    assert answer.headers["Location"] == f"/pesanan/{order.reference}"
    page = signed_in.get(answer.headers["Location"]).text
    assert "Layanan pembayaran" in page
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_another_sponsor_cannot_see_or_check_the_payment(
    client,
    login_as,
    make_user,
    order,
    xendit,
):
    payment = start_local_payment(order, "qris", "QRIS")
    db.session.commit()
    login_as(make_user(Role.SPONSOR))
    base = f"/pesanan/{order.reference}/bayar/{payment.id}"
    assert client.get(base).status_code == 404
    assert client.post(f"{base}/cek").status_code == 404
    assert client.get(f"{base}/status").status_code == 404


def test_an_answer_lost_after_xendit_made_the_code_gives_the_same_code_on_retry(
    signed_in, order, xendit, fulfillment_starts
):
    xendit.sandbox.set_faults(drop_after_effect_rate=1.0, paths=["/xendit/payment_requests"])
    lost = choose(signed_in, order, "va", "BCA")
    assert lost.headers["Location"] == f"/pesanan/{order.reference}"  # "try again"
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    xendit.sandbox.set_faults()
    choose(signed_in, order, "va", "BCA")
    payment = payment_of(order, "va")
    # The operator's page (make run's "bank app") lists one VA for the order, not two.
    listed = requests.get(f"{xendit.api_base}/_pay", timeout=10).text
    assert listed.count(order.reference) == 1 and payment.va_number in listed
    paid = requests.post(
        f"{xendit.api_base}/_pay/{payment.provider_payment_id}", allow_redirects=False, timeout=10
    )
    assert paid.status_code == 303
    (callback,) = xendit.callbacks_for(payment.provider_payment_id)
    assert deliver(signed_in, callback["body"]).status_code == 200
    assert status_of(order) == OrderStatus.FULFILLING
    assert fulfillment_starts == [order.id]
