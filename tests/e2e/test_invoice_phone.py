"""Issue 15, item 5, in Chromium on a 360 px phone without JavaScript: a company enters its
NPWP, asks for an invoice at checkout, reads it (it fits the screen), pays its virtual
account in the sandbox playing Xendit, and the invoice then says it is paid."""

from typing import Any

import pytest

from accounts.models import Role
from accounts.organisations import organisation_of
from extensions import db
from sponsorship.checkout.cart import add_to_cart
from sponsorship.checkout.models import Order, Payment
from sponsorship.invoices.models import Invoice
from tests.e2e.conftest import (
    PHONE,
    assert_protected,
    assert_quiet,
    sign_in,
    skip_without_chromium,
    snapshot,
)
from tests.sponsorship.xendit_support import xendit_fixture  # noqa: F401

pytestmark = [pytest.mark.e2e, skip_without_chromium]


@pytest.fixture
def app_config(app_config: dict[str, Any], xendit) -> dict[str, Any]:
    return {**app_config, **xendit.app_config()}


def fits(page: Any) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def test_a_company_gets_an_invoice_and_pays_its_va_on_a_phone(
    app, open_page, make_user, catalog, workers, xendit
):
    company = make_user(Role.SPONSOR, display_name="Tim CSR")
    chosen = workers(3)
    page = open_page(viewport=PHONE, javascript=False)
    sign_in(page, company.email)

    assert_protected(page.goto("/akun/organisasi"))
    page.check("input[name=kind][value=company]")
    page.fill("input[name=legal_name]", "PT Sinar Harapan Nusantara Sejahtera Abadi Tbk")
    page.fill("textarea[name=address]", "Jl. Letjen. S. Parman Kav. 28, Jakarta Barat 11470")
    page.fill("input[name=npwp]", "01.234.567.8-901")
    page.click("main form button[type=submit]")
    assert "NPWP terdiri dari 15 angka" in page.locator("main").inner_text()
    page.fill("input[name=npwp]", "01.234.567.8-901.000")
    page.click("main form button[type=submit]")
    page.locator(".alert", has_text="tersimpan").wait_for()
    db.session.rollback()
    assert organisation_of(company).npwp == "012345678901000"
    fits(page)

    add_to_cart(company, [w.id for w in chosen], bundle_id=catalog.sertakan.id, months=1)
    db.session.commit()
    page.goto("/keranjang")
    page.check("input[name=invoice]")
    page.select_option("select[name=invoice_bank]", "BNI")
    page.click("form[action$='/keranjang/pesan'] button[type=submit]")
    page.wait_for_url("**/pesanan/*")
    page.click("a[href$='/tagihan']")
    page.locator(".invoice-number").wait_for()
    db.session.rollback()
    invoice = db.session.query(Invoice).one()
    order = db.session.get(Order, invoice.order_id)
    text = page.locator("main").inner_text()
    for expected in (invoice.number, "01.234.567.8-901.000", "BNI", invoice.va_number):
        assert expected in text, expected
    snapshot(page, "invoice-360")
    fits(page)

    assert (
        xendit.simulate(db.session.get(Payment, invoice.payment_id).provider_payment_id).status_code
        == 200
    )
    page.click("a[href*='/bayar/']")  # the VA page, then "I have paid" (a plain form)
    page.click("#check-payment")
    page.goto(f"/pesanan/{order.reference}/tagihan")
    assert "Lunas" in page.locator("main").inner_text()
    db.session.rollback()
    assert db.session.get(Order, order.id).is_paid
    assert_quiet(page)
