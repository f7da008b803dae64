"""Admin orders and refunds: search, one order's story, refunding an order or one part with a
reason through the refund service, once; bad requests change nothing."""

import socket
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from accounts.models import Role
from admin.models import AuditEvent
from admin.orders import queries as order_queries
from admin.orders import refunding as admin_refunding
from extensions import db
from sponsorship.checkout.models import Order, OrderLinePart, OrderStatus, Refund
from sponsorship.payments.stripe_gateway import StripeGateway
from tests.fulfillment.support import make_sponsor


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def created_on(order, day):
    db.session.execute(
        update(Order).where(Order.id == order.id).values(created_at=datetime(*day, 3, tzinfo=UTC))
    )
    db.session.commit()


def test_orders_are_found_by_reference_sponsor_status_and_dates(
    admin, paid_order, count_queries, monkeypatch
):
    ani, budi = make_sponsor(), make_sponsor()
    first = paid_order(sponsor=ani)
    second = paid_order(sponsor=ani)
    third = paid_order(sponsor=budi)
    third.status = OrderStatus.REFUNDED
    db.session.commit()
    created_on(first, (2026, 1, 5))
    created_on(second, (2026, 2, 5))
    created_on(third, (2026, 3, 5))

    def found(**args):
        page = admin.get("/admin/pesanan/", query_string=args)
        assert page.status_code == 200
        return [
            ref for ref in (first.reference, second.reference, third.reference) if ref in page.text
        ]

    assert found() == [first.reference, second.reference, third.reference]
    assert found(q=second.reference.lower()) == [second.reference]
    assert found(email=budi.email.upper()) == [third.reference]
    assert found(status="refunded") == [third.reference]
    assert found(**{"from": "2026-02-01", "to": "2026-03-05"}) == [
        second.reference,
        third.reference,
    ]
    assert found(email=ani.email, **{"to": "2026-01-31"}) == [first.reference]

    monkeypatch.setattr(order_queries, "PER_PAGE", 2)
    newest = admin.get("/admin/pesanan/").text
    assert third.reference in newest and first.reference not in newest
    assert "page=2" in newest
    assert first.reference in admin.get("/admin/pesanan/?page=2").text

    with count_queries() as statements:
        assert admin.get("/admin/pesanan/").status_code == 200
    # the admin, count, page, sponsors' emails, refunded sums
    assert len(statements) == 5


def test_bad_dates_say_so_and_list_nothing(admin, paid_order):
    order = paid_order()
    for dates in (
        {"from": "2026-13-01"},
        {"to": "kemarin"},
        {"from": "2026-02-02", "to": "2026-02-01"},
    ):
        page = admin.get("/admin/pesanan/", query_string=dates)
        assert page.status_code == 400
        assert "alert-error" in page.text
        assert order.reference not in page.text
    assert admin.get("/admin/pesanan/refund?from=31-01-2026").status_code == 400


def test_the_order_page_shows_lines_parts_payments_and_refunds(admin, paid_order, stripe_refunds):
    order = paid_order()
    part = order.lines[0].parts[0]
    page = admin.get(f"/admin/pesanan/{order.reference}")
    assert page.status_code == 200
    assert order.payments[0].provider_payment_id in page.text
    assert f"#{part.id}" in page.text
    assert 'name="refund-reason"' in page.text
    assert admin.get("/admin/pesanan/PY-NOPE0000").status_code == 404


def test_a_whole_order_is_refunded_once_with_its_reason(
    admin, admin_user, paid_order, stripe_refunds, monkeypatch
):
    order = paid_order()
    calls = []
    service = admin_refunding.refund_order_service
    monkeypatch.setattr(
        admin_refunding, "refund_order_service", lambda *a, **k: calls.append(1) or service(*a, **k)
    )
    form = {
        "refund-target": "order",
        "refund-reason": "Sponsor asked by phone",
        "refund-understood": "y",
    }

    response = admin.post(f"/admin/pesanan/{order.reference}/refund", data=form)
    assert response.status_code == 302
    again = admin.post(f"/admin/pesanan/{order.reference}/refund", data=form, follow_redirects=True)

    assert "tidak ada lagi yang dikembalikan" in again.text
    assert len(calls) == 1
    assert len(stripe_refunds.refunds) == 1
    refund = db.session.scalars(select(Refund)).one()
    assert (refund.amount_idr, refund.reason, refund.created_by_id) == (
        order.total_idr,
        "Sponsor asked by phone",
        admin_user.id,
    )
    assert db.session.get(Order, order.id).status == OrderStatus.REFUNDED
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.object_id, event.actor_id, event.reason) == (
        "order.refund",
        str(order.id),
        admin_user.id,
        "Sponsor asked by phone",
    )
    assert event.details["amount_idr"] == order.total_idr


def test_one_part_is_refunded_once(admin, admin_user, paid_order, stripe_refunds, count_queries):
    order = paid_order()
    part = next(p for p in order.lines[0].parts if p.amount_idr > 0)
    form = {
        "refund-target": f"part-{part.id}",
        "refund-reason": "Voucher never arrived",
        "refund-understood": "y",
    }

    assert admin.post(f"/admin/pesanan/{order.reference}/refund", data=form).status_code == 302
    assert admin.post(f"/admin/pesanan/{order.reference}/refund", data=form).status_code == 302

    assert len(stripe_refunds.refunds) == 1
    assert stripe_refunds.refunds[0]["amount_idr"] == part.amount_idr
    refund = db.session.scalars(select(Refund)).one()
    assert refund.order_line_part_id == part.id
    assert db.session.get(Order, order.id).status == OrderStatus.PAID
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.details["part_id"]) == ("order.part_refund", part.id)
    page = admin.get(f"/admin/pesanan/{order.reference}").text
    assert "Voucher never arrived" in page
    with count_queries() as statements:
        listed = admin.get("/admin/pesanan/refund").text
    assert order.reference in listed and "Voucher never arrived" in listed
    assert len(statements) == 5  # the admin, count, page, order references, admins' emails


def test_refusals_change_nothing(admin, paid_order, stripe_refunds):
    order, other = paid_order(), paid_order()
    forms = [
        {"refund-target": "order", "refund-reason": ""},
        {"refund-target": "order", "refund-reason": "   ok  "},
        {"refund-target": "order"},
        {"refund-target": "part-abc", "refund-reason": "A proper reason"},
        {"refund-target": "part-99999999999", "refund-reason": "A proper reason"},
        {"refund-target": "other", "refund-reason": "A proper reason"},
        {"refund-target": f"part-{other.lines[0].parts[0].id}", "refund-reason": "A proper reason"},
    ]
    for form in forms:
        form = form | {"refund-understood": "y"}  # each is refused for its own reason
        response = admin.post(f"/admin/pesanan/{order.reference}/refund", data=form)
        assert response.status_code == 422, form
        assert "alert-error" in response.text
    assert stripe_refunds.refunds == []
    assert count(Refund) == count(AuditEvent) == 0
    assert db.session.get(Order, order.id).status == OrderStatus.PAID


def test_a_refused_refund_shows_why_and_saves_nothing(app, admin, paid_order, localstripe):
    order = paid_order()
    # Stripe cannot be reached: a real gateway pointed at a port where nothing listens.
    app.extensions["stripe_gateway"] = StripeGateway(
        secret_key=localstripe.secret_key,
        webhook_secret=localstripe.webhook_secret,
        api_base=f"http://127.0.0.1:{closed_port()}",
    )
    part = db.session.scalars(select(OrderLinePart).where(OrderLinePart.amount_idr > 0)).first()
    for target in ("order", f"part-{part.id}"):
        response = admin.post(
            f"/admin/pesanan/{order.reference}/refund",
            data={
                "refund-target": target,
                "refund-reason": "Sponsor asked",
                "refund-understood": "y",
            },
        )
        assert response.status_code == 422
    assert count(Refund) == count(AuditEvent) == 0
    assert db.session.get(Order, order.id).status == OrderStatus.PAID


def test_only_admins_see_orders_or_refund(client, login_as, make_user, paid_order, stripe_refunds):
    order = paid_order()
    urls = ["/admin/pesanan/", "/admin/pesanan/refund", f"/admin/pesanan/{order.reference}"]
    assert all(client.get(url).status_code == 302 for url in urls)  # to the sign-in page
    login_as(make_user(Role.SPONSOR))
    assert all(client.get(url).status_code == 403 for url in urls)
    refused = client.post(
        f"/admin/pesanan/{order.reference}/refund",
        data={"refund-target": "order", "refund-reason": "Sponsor asked"},
    )
    assert refused.status_code == 403
    assert count(Refund) == 0 and stripe_refunds.refunds == []
