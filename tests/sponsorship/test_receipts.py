"""Receipts, yearly statements and refunds: what the sponsor gets on paper, in Indonesian,
and what comes back to the card (never more than was paid)."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from extensions import db
from sponsorship.checkout.models import OrderLinePart, OrderStatus, Refund
from sponsorship.payments.receipts import yearly_statement
from sponsorship.payments.refunds import refund_order, refund_order_line_part
from tests.checkout_support import pay_in_browser
from tests.pdf_support import pdf_text
from workers.coverage import extend_coverage


@pytest.fixture
def app_config(localstripe):
    localstripe.flush()
    return localstripe.app_config()


@pytest.fixture
def paid_order(client, login_as, sponsor, localstripe, catalog, workers, ordered):
    order = ordered(workers(3), catalog.combo, months=3)
    login_as(sponsor)
    assert pay_in_browser(client, localstripe, order).confirm["status"] == "succeeded"
    db.session.refresh(order)
    return order


@pytest.fixture(autouse=True)
def no_jobs(fulfillment_starts):
    return fulfillment_starts


def test_the_receipt_is_in_indonesian_with_every_worker_and_part(client, paid_order, workers):
    page = client.get(f"/pesanan/{paid_order.reference}/kuitansi")
    assert page.status_code == 200
    assert "Kuitansi" in page.text
    assert paid_order.reference in page.text
    assert "Iuran BPJS JKK+JKM" in page.text and "Fita Premium 30 hari" in page.text
    assert page.text.count('class="receipt-line"') == 3
    assert "Rp" in page.text
    for line in paid_order.lines:
        assert line.worker.phone_e164 not in page.text
        assert line.worker.full_name not in page.text


def test_the_pdf_receipt_embeds_a_unicode_font_and_needs_no_network(client, paid_order):
    response = client.get(f"/pesanan/{paid_order.reference}/kuitansi.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert b"/FontFile2" in response.data  # DejaVu Sans embedded
    assert paid_order.reference.encode() in response.data  # in the document title
    assert "attachment" in response.headers["Content-Disposition"]


def test_the_pdf_receipt_falls_back_to_a_core_font(app, client, paid_order, tmp_path):
    app.config["RECEIPT_FONT_DIR"] = str(tmp_path)  # no fonts there
    response = client.get(f"/pesanan/{paid_order.reference}/kuitansi.pdf")
    text = pdf_text(response.data)
    assert "Kuitansi" in text
    assert "Iuran BPJS JKK+JKM" in text
    assert b"/FontFile2" not in response.data


def test_an_unpaid_order_has_no_receipt(client, login_as, sponsor, catalog, workers, ordered):
    order = ordered(workers(1), catalog.sertakan)
    login_as(sponsor)
    assert client.get(f"/pesanan/{order.reference}/kuitansi").status_code == 404
    assert client.get(f"/pesanan/{order.reference}/kuitansi.pdf").status_code == 404


def test_a_partial_refund_of_one_part_shows_on_the_order_and_receipt(
    client, localstripe, paid_order
):
    part = db.session.scalars(
        select(OrderLinePart)
        .join(OrderLinePart.line)
        .where(OrderLinePart.offer_id.is_not(None))
        .order_by(OrderLinePart.id)
    ).all()[1]
    refund = refund_order_line_part(part, reason="Kode voucher habis")
    db.session.commit()
    assert refund.amount_idr == part.amount_idr
    again = refund_order_line_part(part, reason="Kode voucher habis")
    db.session.commit()
    assert again.id == refund.id  # never twice
    intent = localstripe.request(
        "GET", f"/v1/payment_intents/{paid_order.payments[0].provider_payment_id}"
    )
    assert intent["latest_charge"]["amount_refunded"] == part.amount_idr * 100
    page = client.get(f"/pesanan/{paid_order.reference}")
    assert "Kode voucher habis" in page.text
    receipt = client.get(f"/pesanan/{paid_order.reference}/kuitansi")
    assert "dikembalikan" in receipt.text.lower()


def test_an_admin_refunds_the_rest_of_an_order_once(
    client, login_as, make_user, localstripe, paid_order
):
    part = paid_order.lines[0].parts[0]
    refund_order_line_part(part, reason="Tidak terkirim")
    db.session.commit()
    admin = make_user(Role.ADMIN)
    login_as(admin)
    response = client.post(
        f"/pesanan/{paid_order.reference}/refund", data={"reason": "Permintaan sponsor"}
    )
    assert response.status_code == 302
    again = client.post(
        f"/pesanan/{paid_order.reference}/refund", data={"reason": "Permintaan sponsor"}
    )
    assert again.status_code == 302
    db.session.refresh(paid_order)
    assert paid_order.status == OrderStatus.REFUNDED
    total = db.session.scalar(select(func.sum(Refund.amount_idr)))
    assert total == paid_order.total_idr  # capped: the part refund counted
    intent = localstripe.request(
        "GET", f"/v1/payment_intents/{paid_order.payments[0].provider_payment_id}"
    )
    assert intent["latest_charge"]["amount_refunded"] == paid_order.total_idr * 100
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 2
    assert refund_order(paid_order, reason="x", actor_id=admin.id) is None


def test_only_admins_refund_and_a_reason_is_required(
    client, login_as, sponsor, make_user, paid_order
):
    assert (
        client.post(
            f"/pesanan/{paid_order.reference}/refund", data={"reason": "Saya mau"}
        ).status_code
        == 403
    )
    login_as(make_user(Role.ADMIN))
    client.post(f"/pesanan/{paid_order.reference}/refund", data={"reason": ""})
    db.session.refresh(paid_order)
    assert paid_order.status == OrderStatus.FULFILLING
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0


def test_the_yearly_statement_sums_months_workers_and_refunds(
    client, login_as, sponsor, localstripe, catalog, workers, ordered
):
    login_as(sponsor)
    shared = workers(1)[0]
    first = ordered([shared, *workers(1)], catalog.sertakan, months=3)
    pay_in_browser(client, localstripe, first)
    second = ordered([shared], catalog.sertakan, months=6)
    pay_in_browser(client, localstripe, second)
    db.session.refresh(first)
    db.session.refresh(second)
    first.paid_at = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)
    second.paid_at = datetime(2026, 5, 31, 18, 0, tzinfo=UTC)  # 1 June in Jakarta
    for line in first.lines:  # the first order's dues went through: its months are cover
        extend_coverage(
            line.worker,
            months=line.months,
            first_month=line.first_month,
            order_line_id=line.id,
            programmes=["JKK", "JKM"],
        )
    refund_order_line_part(second.lines[0].parts[0], reason="Tidak terkirim")
    db.session.execute(
        Refund.__table__.update().values(created_at=datetime(2026, 7, 1, 2, 0, tzinfo=UTC))
    )
    db.session.commit()
    page = client.get("/laporan/2026")
    assert page.status_code == 200

    statement = yearly_statement(sponsor, 2026)
    by_month = {m.month.month: m for m in statement.months}
    assert by_month[2].paid_idr == first.total_idr
    assert by_month[6].paid_idr == second.total_idr
    assert by_month[5].paid_idr == 0
    assert by_month[7].refunded_idr == second.lines[0].parts[0].amount_idr
    assert statement.workers_covered == 2
    assert statement.months_funded == 3 + 3  # the second order's dues were refunded, not cover
    assert statement.net_idr == first.total_idr + second.total_idr - by_month[7].refunded_idr
    assert "Laporan tahunan 2026" in page.text
    pdf = client.get("/laporan/2026.pdf")
    assert pdf.data.startswith(b"%PDF")
    assert "2026" in client.get("/laporan").text
