"""Issue 13, item 12 (admin side): a refund cannot be undone, so the admin confirms it first (a
required checkbox checked on the server, no JavaScript needed), and the audit log shows
Jakarta time (WIB) like the rest of the site."""

import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from admin.models import AuditEvent
from extensions import db
from sponsorship.checkout.models import Order, OrderStatus, Refund


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_refund_form_asks_to_confirm(admin, paid_order, stripe_refunds):
    order = paid_order()
    page = admin.get(f"/admin/pesanan/{order.reference}").text
    checkbox = re.search(r'<input[^>]*name="refund-understood"[^>]*>', page).group(0)
    assert 'type="checkbox"' in checkbox and "required" in checkbox


def test_an_unconfirmed_part_refund_is_refused_and_changes_nothing(
    admin, paid_order, stripe_refunds
):
    order = paid_order()
    part = next(p for p in order.lines[0].parts if p.amount_idr > 0)
    for target in (f"part-{part.id}", "order"):
        response = admin.post(
            f"/admin/pesanan/{order.reference}/refund",
            data={"refund-target": target, "refund-reason": "Voucher never arrived"},
        )
        assert response.status_code == 422
        assert "Centang kotak untuk mengonfirmasi" in response.text
        assert "Voucher never arrived" in response.text  # what was typed is kept
    assert stripe_refunds.refunds == []
    assert count(Refund) == count(AuditEvent) == 0
    assert db.session.get(Order, order.id).status == OrderStatus.PAID


def test_a_confirmed_part_refund_goes_through(admin, paid_order, stripe_refunds):
    order = paid_order()
    part = next(p for p in order.lines[0].parts if p.amount_idr > 0)
    response = admin.post(
        f"/admin/pesanan/{order.reference}/refund",
        data={
            "refund-target": f"part-{part.id}",
            "refund-reason": "Voucher never arrived",
            "refund-understood": "y",
        },
    )
    assert response.status_code == 302
    assert [r["amount_idr"] for r in stripe_refunds.refunds] == [part.amount_idr]


def test_the_audit_log_shows_jakarta_time(admin, admin_user):
    db.session.add(
        AuditEvent(
            actor_id=admin_user.id,
            action="partner.approve",
            object_type="partner",
            object_id="7",
            created_at=datetime(2026, 12, 1, 20, 30, 5, tzinfo=UTC),
        )
    )
    db.session.commit()
    page = admin.get("/admin/audit/").text
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", page))
    assert "2 Des 2026 03.30.05 WIB" in shown  # 20:30 UTC is 03:30 the next morning in Jakarta
    assert "UTC" not in shown
    assert 'datetime="2026-12-01T20:30:05+00:00"' in page  # machines still read the moment
