"""Invoices for companies and local governments: issued over the threshold or on request,
numbered, with the buyer's legal details, due date and how to pay; as a page and a PDF in
Indonesian, for the order's sponsor and admins only. Receipts and yearly statements carry
an organisation's NPWP."""

import re
from datetime import datetime, time, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from accounts.models import Role
from accounts.organisations import save_profile, start_profile
from bundles.dues.services import due_date
from bundles.models import PoolCode
from core.dates import JAKARTA, jakarta_today
from extensions import db
from i18n import rupiah
from sponsorship.checkout.models import OrderLine, OrderStatus, Payment
from sponsorship.checkout.services import PAYMENT_GRACE
from sponsorship.invoices.models import Invoice
from sponsorship.invoices.services import InvoiceError, invoice_of, issue_invoice
from tests.pdf_support import pdf_text
from tests.sponsorship.invoice_support import NPWP_PRINTED, company, place_through_cart
from tests.sponsorship.xendit_support import xendit_fixture  # noqa: F401

__all__ = ["company"]  # a fixture


@pytest.fixture
def app_config(xendit):
    return xendit.app_config()  # invoice VAs are opened at the sandbox playing Xendit


NUMBER = re.compile(r"^INV/(\d{4})/(\d{2})/(\d{6})$")


def invoices() -> int:
    return db.session.scalar(select(func.count()).select_from(Invoice))


@pytest.fixture
def core_font(app, tmp_path):
    app.config["RECEIPT_FONT_DIR"] = str(tmp_path)  # a core font: the PDF text reads back


def test_an_order_from_the_threshold_on_gets_an_invoice_when_placed(
    app, client, login_as, company, catalog, workers
):
    chosen = workers(3)
    app.config["INVOICE_THRESHOLD_IDR"] = 3 * 17_800  # exactly this order's total
    login_as(company)
    order = place_through_cart(client, company, [w.id for w in chosen], catalog.sertakan)
    assert order.total_idr == 3 * 17_800
    invoice = invoice_of(order)
    assert invoice is not None and not invoice.on_request
    today = jakarta_today()
    assert NUMBER.match(invoice.number).groups() == (f"{today:%Y}", f"{today:%m}", "000001")
    assert invoice.issued_on == today
    # Due 14 days on, or when the order's prices expire if that comes first.
    expected_due = min(today + timedelta(days=14), order.expires_at.astimezone(JAKARTA).date())
    assert invoice.due_on == expected_due
    assert (invoice.buyer_name, invoice.npwp) == ("PT Maju Bersama Tbk", "012345678901000")
    assert invoice.address.startswith("Jl. Jend. Sudirman")
    assert (invoice.total_idr, invoice.va_bank) == (order.total_idr, "BCA")
    page = client.get(f"/pesanan/{order.reference}")
    assert invoice.number in page.text


def test_a_smaller_order_gets_an_invoice_only_when_asked(
    app, client, login_as, company, catalog, workers
):
    app.config["INVOICE_THRESHOLD_IDR"] = 5_000_000
    login_as(company)
    plain = place_through_cart(client, company, [workers(1)[0].id], catalog.sertakan)
    assert invoice_of(plain) is None
    asked = place_through_cart(
        client, company, [workers(1)[0].id], catalog.sertakan, invoice="y", invoice_bank="BNI"
    )
    invoice = invoice_of(asked)
    assert (invoice.on_request, invoice.va_bank, invoice.total_idr) == (True, "BNI", 17_800)
    assert invoice.number.endswith("/000001")
    cart = client.get("/keranjang")
    assert cart.status_code == 200


def test_an_unknown_bank_falls_back_to_bca(app, client, login_as, company, catalog, workers):
    login_as(company)
    order = place_through_cart(
        client, company, [workers(1)[0].id], catalog.sertakan, invoice="y", invoice_bank="XYZ"
    )
    assert invoice_of(order).va_bank == "BCA"


def test_the_order_page_offers_an_invoice_and_issues_it_once(
    client, login_as, company, catalog, workers, ordered
):
    order = ordered(workers(2), catalog.sertakan, who=company)
    login_as(company)
    page = client.get(f"/pesanan/{order.reference}")
    assert "Minta tagihan" in page.text
    first = client.post(f"/pesanan/{order.reference}/tagihan", data={"invoice_bank": "BRI"})
    assert first.headers["Location"].endswith(f"/pesanan/{order.reference}/tagihan")
    again = client.post(f"/pesanan/{order.reference}/tagihan", data={"invoice_bank": "MANDIRI"})
    assert again.status_code == 302
    assert invoices() == 1
    assert invoice_of(order).va_bank == "BRI"  # the first request's invoice stands
    bad = client.post(f"/pesanan/{order.reference}/tagihan", data={"invoice_bank": "XYZ"})
    assert bad.headers["Location"].endswith(f"/pesanan/{order.reference}")


def test_an_organisation_without_its_npwp_is_asked_for_it_first(
    client, login_as, make_user, catalog, workers, ordered
):
    government = make_user(Role.SPONSOR)
    start_profile(government, "government", "Pemkot Bogor")  # as signed up: no NPWP yet
    db.session.commit()
    order = ordered(workers(1), catalog.sertakan, who=government)
    login_as(government)
    response = client.post(f"/pesanan/{order.reference}/tagihan", data={"invoice_bank": "BCA"})
    assert response.headers["Location"].endswith("/akun/organisasi")
    assert invoices() == 0


def test_only_an_order_awaiting_payment_gets_an_invoice(app, company, catalog, workers, ordered):
    order = ordered(workers(1), catalog.sertakan, who=company)
    order.transition(OrderStatus.PAID)
    db.session.commit()
    with pytest.raises(InvoiceError):
        issue_invoice(order)
    db.session.rollback()
    assert invoices() == 0


def test_the_invoice_page_is_indonesian_with_everything_needed_to_pay(
    client, login_as, company, catalog, workers, ordered
):
    order = ordered(workers(3), catalog.sertakan, who=company)
    login_as(company)
    client.post(f"/pesanan/{order.reference}/tagihan", data={"invoice_bank": "BCA"})
    invoice = invoice_of(order)
    page = client.get(f"/pesanan/{order.reference}/tagihan")
    assert page.status_code == 200
    text = page.text
    for expected in (invoice.number, "PT Maju Bersama Tbk", NPWP_PRINTED, "Jatuh tempo"):
        assert expected in text
    assert "Jl. Jend. Sudirman No. 5, Jakarta Selatan 12190" in text
    assert text.count('class="invoice-line"') == 3
    with force_locale("id"):
        assert rupiah(order.total_idr) in text
    for line in order.lines:
        assert line.worker.full_name not in text  # first name and initial only
        assert line.worker.phone_e164 not in text


def test_the_invoice_pdf_is_indonesian_and_carries_the_npwp(
    client, login_as, company, catalog, workers, ordered, core_font
):
    order = ordered(workers(2), catalog.combo, months=3, who=company)
    login_as(company)
    client.post(f"/pesanan/{order.reference}/tagihan", data={"invoice_bank": "BNI"})
    invoice = invoice_of(order)
    response = client.get(f"/pesanan/{order.reference}/tagihan.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert invoice.number.replace("/", "-") in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    with force_locale("id"):
        total = rupiah(order.total_idr)
    for expected in (
        "Tagihan",
        invoice.number,
        order.reference,
        "PT Maju Bersama Tbk",
        "Jl. Jend. Sudirman",
        NPWP_PRINTED,
        "Jatuh tempo",
        "Cara membayar",
        "Fita Premium 30 hari",
        total,
    ):
        assert expected in text, expected


def test_the_embedded_font_pdf_is_well_formed(client, login_as, company, catalog, workers, ordered):
    order = ordered(workers(1), catalog.sertakan, who=company)
    login_as(company)
    client.post(f"/pesanan/{order.reference}/tagihan", data={"invoice_bank": "BCA"})
    response = client.get(f"/pesanan/{order.reference}/tagihan.pdf")
    assert response.data.startswith(b"%PDF") and b"/FontFile2" in response.data


def test_nobody_else_sees_or_asks_for_an_invoice(
    client, login_as, make_user, company, catalog, workers, ordered
):
    order = ordered(workers(1), catalog.sertakan, who=company)
    login_as(company)
    client.post(f"/pesanan/{order.reference}/tagihan", data={"invoice_bank": "BCA"})
    ref = order.reference
    pages = (f"/pesanan/{ref}/tagihan", f"/pesanan/{ref}/tagihan.pdf")
    posts = (f"/pesanan/{ref}/tagihan", f"/pesanan/{ref}/tagihan/va")

    client.post("/keluar")
    for url in pages:
        assert client.get(url).status_code == 302  # to sign in
    other = make_user(Role.SPONSOR)
    login_as(other)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 404, url
        assert NPWP_PRINTED not in response.text
    for url in posts:
        assert client.post(url, data={"invoice_bank": "BNI"}).status_code == 404, url
    assert invoice_of(order).va_bank == "BCA"
    login_as(make_user(Role.PARTNER))
    for url in pages:
        assert client.get(url).status_code == 403
    login_as(make_user(Role.ADMIN))
    for url in pages:
        assert client.get(url).status_code == 200
    assert client.post(posts[0], data={"invoice_bank": "BNI"}).status_code == 403
    # An order without an invoice has no invoice page, even for its sponsor.
    bare = ordered(workers(1), catalog.sertakan, who=company)
    login_as(company)
    assert client.get(f"/pesanan/{bare.reference}/tagihan").status_code == 404


def test_receipts_and_the_yearly_statement_carry_the_npwp(
    client, login_as, company, catalog, workers, ordered, core_font
):
    order = ordered(workers(1), catalog.sertakan, who=company)
    order.transition(OrderStatus.PAID)
    db.session.commit()
    year = order.paid_at.astimezone(JAKARTA).year
    login_as(company)
    receipt = client.get(f"/pesanan/{order.reference}/kuitansi")
    assert NPWP_PRINTED in receipt.text and "PT Maju Bersama Tbk" in receipt.text
    receipt_pdf = pdf_text(client.get(f"/pesanan/{order.reference}/kuitansi.pdf").data)
    assert NPWP_PRINTED in receipt_pdf and "Jl. Jend. Sudirman" in receipt_pdf
    statement = client.get(f"/laporan/{year}")
    assert NPWP_PRINTED in statement.text
    statement_pdf = pdf_text(client.get(f"/laporan/{year}.pdf").data)
    assert NPWP_PRINTED in statement_pdf and "PT Maju Bersama Tbk" in statement_pdf


def test_a_person_s_receipt_has_no_npwp(
    client, login_as, sponsor, catalog, workers, ordered, core_font
):
    order = ordered(workers(1), catalog.sertakan)
    order.transition(OrderStatus.PAID)
    db.session.commit()
    login_as(sponsor)
    assert "NPWP" not in client.get(f"/pesanan/{order.reference}/kuitansi").text
    assert "NPWP" not in pdf_text(client.get(f"/pesanan/{order.reference}/kuitansi.pdf").data)


# --- the virtual account, at the sandbox playing Xendit -------------------------------------


def test_the_invoice_s_va_is_opened_at_the_gateway_and_paying_it_pays_the_order(
    client, login_as, company, catalog, workers, xendit, fulfillment_starts
):
    login_as(company)
    order = place_through_cart(
        client,
        company,
        [w.id for w in workers(2)],
        catalog.sertakan,
        invoice="y",
        invoice_bank="BRI",
    )
    invoice = invoice_of(order)
    payment = db.session.get(Payment, invoice.payment_id)
    assert (payment.gateway, payment.method, payment.channel) == ("xendit", "va", "BRI")
    assert (invoice.va_bank, invoice.va_number) == ("BRI", payment.va_number)
    assert invoice.va_amount_idr == payment.amount_idr == order.total_idr
    assert invoice.va_expires_at == payment.expires_at <= order.expires_at
    assert invoice.due_on == invoice.va_expires_at.astimezone(JAKARTA).date()
    at_xendit = xendit.get(f"/payment_requests/{payment.provider_payment_id}").json()
    assert at_xendit["reference_id"] == order.reference and at_xendit["amount"] == order.total_idr
    page = client.get(f"/pesanan/{order.reference}/tagihan")
    assert payment.va_number in page.text and "BRI" in page.text
    pdf = client.get(f"/pesanan/{order.reference}/tagihan.pdf")
    assert pdf.status_code == 200

    assert xendit.simulate(payment.provider_payment_id).status_code == 200
    # The gateway's own path learns it (here the sponsor's "I have paid"; the callback too).
    client.post(f"/pesanan/{order.reference}/bayar/{payment.id}/cek")
    db.session.refresh(order)
    assert order.is_paid and order.status in (OrderStatus.PAID, OrderStatus.FULFILLING)
    assert fulfillment_starts == [order.id]  # once
    paid_page = client.get(f"/pesanan/{order.reference}/tagihan")
    assert "Lunas" in paid_page.text
    assert payment.va_number not in paid_page.text  # nothing left to pay into


def test_without_the_gateway_the_invoice_comes_without_a_va_and_opens_it_later(
    client, login_as, company, catalog, workers, ordered, sandbox
):
    order = ordered(workers(1), catalog.sertakan, who=company)
    login_as(company)
    sandbox.set_faults(down=True)
    client.post(f"/pesanan/{order.reference}/tagihan", data={"invoice_bank": "MANDIRI"})
    invoice = invoice_of(order)
    assert invoice is not None and invoice.va_number is None
    page = client.get(f"/pesanan/{order.reference}/tagihan")
    assert "Buka virtual account" in page.text
    retry = client.post(f"/pesanan/{order.reference}/tagihan/va")
    assert retry.status_code == 302
    db.session.refresh(invoice)
    assert invoice.va_number is None  # still down: nothing changed
    sandbox.set_faults()
    client.post(f"/pesanan/{order.reference}/tagihan/va")
    db.session.refresh(invoice)
    assert invoice.va_number and invoice.va_bank == "MANDIRI"
    assert db.session.get(Payment, invoice.payment_id).va_number == invoice.va_number


def test_the_invoice_of_a_cancelled_order_says_not_to_pay(
    client, login_as, company, catalog, workers, ordered
):
    order = ordered(workers(1), catalog.sertakan, who=company)
    login_as(company)
    client.post(f"/pesanan/{order.reference}/tagihan", data={"invoice_bank": "BCA"})
    invoice = invoice_of(order)
    assert invoice.va_number
    order.transition(OrderStatus.CANCELLED)
    db.session.commit()
    page = client.get(f"/pesanan/{order.reference}/tagihan")
    assert "Jangan transfer" in page.text
    assert invoice.va_number not in page.text
    assert invoice.va_number not in client.get(f"/pesanan/{order.reference}").text


def test_a_long_address_wraps_and_prints_in_full_on_the_pdf(
    client, login_as, make_user, catalog, workers, ordered, core_font
):
    government = make_user(Role.SPONSOR)
    address = (
        "Kompleks Perkantoran Pemerintah Kabupaten Kepulauan Siau Tagulandang Biaro, "
        "Jl. Raya Ondong-Ulu Km. 3, Kelurahan Bahu, Kecamatan Siau Barat, Sulawesi Utara 95861"
    )
    save_profile(
        government,
        kind="government",
        legal_name="Pemerintah Kabupaten Kepulauan Siau Tagulandang Biaro",
        address=address,
        npwp="0012345678901000",
    )
    db.session.commit()
    order = ordered(workers(1), catalog.sertakan, who=government)
    login_as(government)
    client.post(f"/pesanan/{order.reference}/tagihan", data={"invoice_bank": "BCA"})
    text = pdf_text(client.get(f"/pesanan/{order.reference}/tagihan.pdf").data)
    assert "Kompleks Perkantoran" in text and "Sulawesi Utara 95861" in text  # not cut off
    assert "0012 3456 7890 1000" in text


def test_an_invoiced_order_holds_its_prices_and_codes_for_the_invoice_s_term(
    app, client, login_as, company, catalog, workers
):
    """The card checkout holds an order 72 hours; an invoice is paid by transfer on its own
    terms, so issuing it extends the hold (prices and pool codes alike) to its due day, as far
    as the first month's dues allow, and the invoice is due then, not in three days."""
    login_as(company)
    plain = place_through_cart(client, company, [w.id for w in workers(2)], catalog.sehat)
    held_72_hours = plain.expires_at
    order = place_through_cart(
        client, company, [w.id for w in workers(2)], catalog.sehat, invoice="y"
    )
    invoice = invoice_of(order)
    first_month = db.session.scalar(
        select(func.min(OrderLine.first_month)).where(OrderLine.order_id == order.id)
    )
    today = jakarta_today()
    term_end = datetime.combine(today + timedelta(days=14), time.max, tzinfo=JAKARTA)
    dues_end = datetime.combine(due_date(first_month), time.max, tzinfo=JAKARTA)
    expected = max(min(term_end, dues_end), held_72_hours)
    db.session.refresh(order)
    assert order.expires_at == expected
    assert invoice.due_on == expected.astimezone(JAKARTA).date()
    holds = set(
        db.session.scalars(
            select(PoolCode.reserved_until).where(PoolCode.reserved_order_id == order.id)
        )
    )
    assert holds == {expected + PAYMENT_GRACE}
    # The order without an invoice keeps the card checkout's hold, and so do its codes.
    db.session.refresh(plain)
    assert plain.expires_at == held_72_hours
    plain_holds = set(
        db.session.scalars(
            select(PoolCode.reserved_until).where(PoolCode.reserved_order_id == plain.id)
        )
    )
    assert plain_holds == {held_72_hours + PAYMENT_GRACE}
