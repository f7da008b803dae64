"""The admin console's front page: the platform's figures from the coverage ledger and the
order books, a way to every section, and nothing of it for anyone but admins."""

from datetime import date

from accounts.models import Role
from admin.figures import platform_figures
from bundles.models import PartnerStatus
from extensions import db
from fulfillment.models import FulfillmentItem, ItemStatus
from fulfillment.services import start_fulfillment
from sponsorship.checkout.models import Refund
from workers.coverage import extend_coverage

TODAY = date(2026, 3, 20)
ADMIN_PAGES = [
    "/admin/",
    "/admin/pesanan/",
    "/admin/pesanan/refund",
    "/admin/pesan/",
    "/admin/audit/",
]


def test_the_figures_count_cover_money_failures_and_waiting_partners(
    admin, paid_order, make_worker, make_partner, fulfillment_starts, count_queries
):
    order = paid_order(workers=2)
    line = order.lines[0]
    extend_coverage(  # to 31 May: active on 20 March
        line.worker,
        months=3,
        first_month=date(2026, 3, 1),
        order_line_id=line.id,
        programmes=["JKK", "JKM"],
    )
    make_worker(covered_until=date(2026, 3, 31))  # lapsing
    make_worker(covered_until=date(2025, 12, 31))  # in arrears
    make_worker()  # never covered
    start_fulfillment(order)
    item = db.session.query(FulfillmentItem).first()
    item.status = ItemStatus.FAILED
    db.session.add(Refund(order_id=order.id, amount_idr=5_000, reason="test"))
    make_partner(status=PartnerStatus.PENDING)
    db.session.commit()

    figures = platform_figures(TODAY)
    assert (figures.covered_now, figures.lapsing, figures.lapsed) == (2, 1, 1)
    assert figures.ever_covered == 3 and round(figures.lapse_rate, 3) == 0.333
    assert (figures.months_funded, figures.failed_items, figures.pending_partners) == (3, 1, 1)
    assert (figures.paid_idr, figures.refunded_idr) == (order.total_idr, 5_000)

    with count_queries() as statements:
        page = admin.get("/admin/")
    assert page.status_code == 200
    assert len(statements) == 3  # the admin, cover stages, the other figures
    for url in ADMIN_PAGES[1:]:
        assert f'href="{url}"' in page.text


def test_nobody_else_opens_the_console(client, login_as, make_user):
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 302, url  # to the sign-in page
    for role in (Role.SPONSOR, Role.PARTNER, Role.WORKER):
        login_as(make_user(role))
        for url in ADMIN_PAGES:
            assert client.get(url).status_code == 403, (role, url)
