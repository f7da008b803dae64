"""The partner dashboard: sales, stock, delivered codes, and the settlement statement."""

import csv
import io
from datetime import UTC, datetime

import pytest

from bundles.codes.pools import CodeRow, issue_pool_code, upload_pool_codes
from bundles.models import FulfillmentMethod, OfferBilling
from extensions import db
from fulfillment.models import ClaimCode, FulfillmentItem, ItemStatus
from sponsorship.checkout.models import OrderStatus, Refund


@pytest.fixture
def pool(partner_client, make_offer):
    offer = make_offer(
        partner=partner_client.partner,
        name_id="Premium Sehat",
        fulfillment_method=FulfillmentMethod.CODE_POOL,
        billing=OfferBilling.MONTHLY,
        premium_days=30,
        low_stock_threshold=5,
    )
    upload_pool_codes(
        offer,
        [CodeRow(n, f"DASH-{n:04d}", datetime(2030, 1, 1).date()) for n in range(1, 4)],
    )
    db.session.commit()
    return offer


NOV = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
DEC = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def test_the_dashboard_shows_sales_stock_and_delivery(partner_client, pool, make_paid_part):
    make_paid_part(pool, amount_idr=50_000, units=2)
    make_paid_part(pool, amount_idr=25_000, units=1, status=OrderStatus.AWAITING_PAYMENT)
    issue_pool_code(pool)
    db.session.commit()
    page = partner_client.get("/mitra").text
    assert "Premium Sehat" in page
    assert "Rp50.000" in page  # the unpaid order does not count
    assert "Stok menipis" in page  # 2 left, alert below 5
    delivered = partner_client.get("/mitra/kode-terkirim").text
    assert "…0001" in delivered  # only the end of the code
    assert "DASH-0001" not in delivered


def test_the_statement_nets_refunds_and_exports_csv(partner_client, pool, make_paid_part):
    sold = make_paid_part(pool, amount_idr=75_000, units=3, paid_at=NOV)
    make_paid_part(pool, amount_idr=25_000, units=1, paid_at=NOV)
    make_paid_part(pool, amount_idr=10_000, units=1, paid_at=DEC)
    db.session.add(
        Refund(
            order_id=sold.line.order_id,
            order_line_part_id=sold.id,
            amount_idr=75_000,
            reason="code failed",
            created_at=datetime(2026, 11, 20, tzinfo=UTC),
        )
    )
    db.session.commit()

    page = partner_client.get("/mitra/penyelesaian?periode=2026-11").text
    assert "Rp100.000" in page  # sales
    assert "Rp25.000" in page  # owed after the refund
    export = partner_client.get("/mitra/penyelesaian.csv?periode=2026-11")
    assert export.mimetype == "text/csv"
    assert "payung-settlement-2026-11.csv" in export.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0] == ["date", "type", "order", "offer_id", "offer", "units", "amount_idr"]
    kinds = [(row[1], int(row[6])) for row in rows[1:-3]]
    assert sorted(kinds) == [("refund", -75_000), ("sale", 25_000), ("sale", 75_000)]
    assert rows[-1][1:] == ["owed_to_partner", "", "", "", "", "25000"]
    december = partner_client.get("/mitra/penyelesaian.csv?periode=2026-12").text
    assert december.strip().endswith("owed_to_partner,,,,,10000")


def test_a_partner_never_sees_another_partners_money_or_codes(
    partner_client, pool, make_offer, make_paid_part
):
    foreign = make_offer(name_id="Punya Orang", fulfillment_method=FulfillmentMethod.CODE_POOL)
    upload_pool_codes(foreign, [CodeRow(1, "FOREIGN-0001", datetime(2030, 1, 1).date())])
    make_paid_part(foreign, amount_idr=999_000, paid_at=NOV)
    issue_pool_code(foreign)
    db.session.commit()
    for path in ("/mitra", "/mitra/penyelesaian?periode=2026-11", "/mitra/kode-terkirim"):
        text = partner_client.get(path).text
        assert "Punya Orang" not in text and "Rp999.000" not in text, path
    assert "999000" not in partner_client.get("/mitra/penyelesaian.csv?periode=2026-11").text


def test_a_suspended_partner_still_reads_its_settlement(partner_client, pool, make_paid_part):
    make_paid_part(pool, amount_idr=30_000, paid_at=NOV)
    partner_client.partner.status = "suspended"
    partner_client.partner.status_reason = "Audit"
    db.session.commit()
    assert "Audit" in partner_client.get("/mitra").text
    assert "Rp30.000" in partner_client.get("/mitra/penyelesaian?periode=2026-11").text
    assert partner_client.get("/mitra/penawaran").status_code == 302


def test_the_dashboard_query_count_does_not_grow_with_offers(
    partner_client, make_offer, count_queries
):
    make_offer(partner=partner_client.partner, fulfillment_method=FulfillmentMethod.CODE_POOL)
    with count_queries() as queries:
        partner_client.get("/mitra")
    few = len(queries)
    for _ in range(6):
        make_offer(partner=partner_client.partner, fulfillment_method=FulfillmentMethod.CODE_POOL)
    with count_queries() as queries:
        assert partner_client.get("/mitra").status_code == 200
    assert len(queries) == few


def test_delivered_and_claimed_units_come_from_fulfillment(partner_client, pool, make_paid_part):
    def delivered(part, *, claimed):
        line = part.line
        db.session.add(
            FulfillmentItem(
                order_id=line.order_id,
                order_line_id=line.id,
                order_line_part_id=part.id,
                offer_id=part.offer_id,
                method="code_pool",
                status=ItemStatus.ISSUED,
                idempotency_key=f"test-{part.id}",
            )
        )
        db.session.add(
            ClaimCode(
                order_line_id=line.id,
                worker_id=line.worker_id,
                code_digest=f"{part.id:064d}",
                claimed_at=datetime.now(UTC) if claimed else None,
            )
        )
        db.session.commit()

    delivered(make_paid_part(pool, units=3), claimed=True)
    delivered(make_paid_part(pool, units=2), claimed=False)
    page = partner_client.get("/mitra").text
    row = page[page.index("Premium Sehat</a>") :].split("</tr>")[0]
    cells = [cell.split(">")[-1] for cell in row.split("</td>")[:-1]]
    assert cells[-2:] == ["5", "3"]  # delivered units, claimed units
