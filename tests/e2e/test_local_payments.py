"""Issue 15 in the browser: a sponsor on a small phone pays one order by QRIS, one by bank
transfer to a virtual account (without JavaScript) and one by e-wallet (DANA), through
xendit-python against the sandbox playing Xendit, whose callbacks reach the site. The test
operator "pays" QRIS and VA with the sandbox's simulate endpoint, as Xendit's test mode does;
the e-wallet payment is approved on the wallet's (sandbox) page. Each order is paid once."""

import re

import pytest
from sqlalchemy import select

from accounts.models import Role
from bundles.dues.data import ensure_default_dues_data
from extensions import db
from fulfillment import clock
from sponsorship.checkout.cart import add_to_cart
from sponsorship.checkout.models import Order, Payment, PaymentStatus
from sponsorship.checkout.services import place_order
from sponsorship.payments import local_views
from tests.e2e.conftest import PHONE, assert_quiet, sign_in, skip_without_chromium
from tests.fulfillment.conftest import fulfillment_config
from tests.sponsorship.xendit_support import XenditSandbox, xendit_fixture  # noqa: F401

pytestmark = [pytest.mark.e2e, skip_without_chromium]


@pytest.fixture
def app_config(sandbox, localstripe):
    localstripe.flush()
    return {
        **fulfillment_config(sandbox, localstripe),
        **XenditSandbox(sandbox).app_config(),
        "WTF_CSRF_ENABLED": True,
    }


@pytest.fixture(autouse=True)
def _real_clock_again():
    yield
    clock.reset()


def an_order(sponsor, catalog, workers) -> Order:
    add_to_cart(sponsor, [w.id for w in workers(1)], bundle_id=catalog.sertakan.id, months=1)
    order = place_order(sponsor)
    db.session.commit()
    return order


def payment_of(order: Order) -> Payment:
    db.session.rollback()
    return db.session.scalars(
        select(Payment).where(Payment.order_id == order.id, Payment.provider == "xendit")
    ).one()


def test_a_sponsor_pays_by_qris_by_va_and_by_e_wallet(
    app, site, open_page, xendit, make_user, catalog, workers, t, monkeypatch
):
    monkeypatch.setattr(local_views, "POLL_SECONDS", 1)
    app.config["SITE_URL"] = site  # the e-wallet sends the sponsor back here
    xendit.send_callbacks_to(f"{site}/xendit/callback")
    ensure_default_dues_data()
    sponsor = make_user(Role.SPONSOR)
    by_qris, by_va, by_wallet = (an_order(sponsor, catalog, workers) for _ in range(3))

    # QRIS: the code on the page, paid by the operator; the page moves on by itself.
    page = open_page(viewport=PHONE)
    sign_in(page, sponsor.email)
    page.goto(f"/pesanan/{by_qris.reference}/bayar")
    page.get_by_role("button", name=t("Pay by QRIS")).click()
    page.locator("svg.qr").wait_for()
    assert page.locator("svg.qr").bounding_box()["width"] <= PHONE["width"]
    amount = page.locator("#pay-amount").inner_text()
    assert re.fullmatch(r"Rp[\d.]+", amount)
    assert xendit.simulate(payment_of(by_qris).provider_payment_id).status_code == 200
    page.wait_for_url(re.compile(rf"/pesanan/{by_qris.reference}$"))
    assert t("Thank you! Your payment was received.") not in page.content()  # via the poll
    assert_quiet(page)

    # VA, without JavaScript: bank, number, amount and deadline are on the page; after the
    # transfer the sponsor presses "I have paid".
    plain = open_page(viewport=PHONE, javascript=False)
    sign_in(plain, sponsor.email)
    plain.goto(f"/pesanan/{by_va.reference}/bayar")
    plain.get_by_role("button", name=t("VA %(bank)s", bank="BRI")).click()
    number = plain.locator("#va-number").inner_text()
    assert number.isdigit() and plain.locator("#va-bank").inner_text() == "BRI"
    assert "WIB" in plain.locator("#pay-deadline").inner_text()
    assert plain.locator("[data-copy]").first.is_hidden()  # copy buttons need JavaScript
    va = payment_of(by_va)
    assert va.va_number == number
    assert xendit.simulate(va.provider_payment_id).status_code == 200
    plain.get_by_role("button", name=t("I have paid — check now")).click()
    plain.wait_for_url(re.compile(rf"/pesanan/{by_va.reference}$"))
    assert t("Thank you! Your payment was received.") in plain.content()

    # E-wallet: the wallet's page, approved there, and back to the order.
    page.goto(f"/pesanan/{by_wallet.reference}/bayar")
    page.get_by_role("button", name="DANA").click()
    page.wait_for_url(re.compile(r"/xendit/ewallet/pr-"))
    page.get_by_role("button", name="Bayar").click()
    page.wait_for_url(re.compile(rf"/pesanan/{by_wallet.reference}$"))
    assert t("Thank you! Your payment was received.") in page.content()

    db.session.rollback()
    for order in (by_qris, by_va, by_wallet):
        db.session.refresh(order)
        assert order.is_paid, order.status
        assert payment_of(order).status == PaymentStatus.SUCCEEDED
    assert_quiet(page)
