"""Issue 13, item 12 (admin side): an item page an admin can read — labels instead of enum
values, details as key/value instead of JSON, times in WIB — and a void (which refunds the
sponsor and cannot be undone) only after the admin confirms it, without JavaScript."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from accounts.models import Role
from admin.models import AuditEvent
from bundles.models import FulfillmentMethod, PoolCode, PoolCodeStatus
from extensions import db
from fulfillment.models import EventKind, FulfillmentEvent, FulfillmentItem, ItemStatus
from fulfillment.services import start_fulfillment
from sponsorship.checkout.models import Refund
from tests.fulfillment.support import (
    make_combofit,
    make_paid_order,
    make_workers,
    run_until_settled,
)
from workers.models import Worker


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN)


def fulfilled_order(pay=None, *, codes=5):
    combo = make_combofit(codes=codes)
    order = make_paid_order(combo.bundle, make_workers(1), pay=pay)
    start_fulfillment(order)
    db.session.commit()
    run_until_settled(step_s=600)
    return combo, order


def item_by(method):
    return db.session.scalar(select(FulfillmentItem).where(FulfillmentItem.method == method))


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def visible_text(html: str) -> str:
    """Roughly what a browser shows: no tags, no attribute values."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", html))


# --- c) a void is confirmed before it refunds -------------------------------------------------


def test_an_unconfirmed_void_is_refused_and_changes_nothing(
    app, sandbox, client, login_as, admin, pay
):
    fulfilled_order(pay)
    item = item_by(FulfillmentMethod.CODE_POOL)
    assert item.status == ItemStatus.ISSUED
    login_as(admin)
    page = client.get(f"/admin/fulfillment/{item.id}").text
    checkbox = re.search(r'<input[^>]*name="void-understood"[^>]*>', page).group(0)
    assert 'type="checkbox"' in checkbox and "required" in checkbox

    response = client.post(
        f"/admin/fulfillment/{item.id}/void", data={"void-reason": "partner says code invalid"}
    )

    assert response.status_code == 422
    assert "Centang kotak untuk mengonfirmasi" in response.text
    assert "partner says code invalid" in response.text  # what was typed is kept
    db.session.refresh(item)
    assert item.status == ItemStatus.ISSUED
    assert count(Refund) == count(AuditEvent) == 0
    assert not db.session.scalars(
        select(FulfillmentEvent).where(FulfillmentEvent.kind == EventKind.VOIDED)
    ).all()
    assert PoolCodeStatus.VOID not in db.session.scalars(select(PoolCode.status)).all()


def test_a_confirmed_void_refunds_the_sponsor(app, sandbox, client, login_as, admin, pay):
    fulfilled_order(pay)
    item = item_by(FulfillmentMethod.CODE_POOL)
    login_as(admin)
    response = client.post(
        f"/admin/fulfillment/{item.id}/void",
        data={"void-reason": "partner says code invalid", "void-understood": "y"},
    )
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.status == ItemStatus.REFUNDED
    assert count(Refund) == 1


# --- e) labels and key/value details instead of enum values and JSON ------------------------


def test_the_item_page_shows_labels_and_readable_details(app, sandbox, client, login_as, admin):
    fulfilled_order(codes=0)  # the pool is empty: the voucher part fails
    failed = item_by(FulfillmentMethod.CODE_POOL)
    dues = item_by(FulfillmentMethod.DUES_REMITTANCE)
    assert failed.status == ItemStatus.FAILED and dues.status == ItemStatus.ISSUED
    login_as(admin)

    page = client.get(f"/admin/fulfillment/{failed.id}").text
    shown = visible_text(page)
    assert "Kumpulan kode" in shown  # the method, not "code_pool"
    assert "code_pool" not in shown
    assert "Mencoba ulang → Gagal" in shown  # the history's statuses, translated
    assert "retrying" not in shown and "failed" not in shown
    assert "{&#34;" not in page and '{"' not in shown  # no raw JSON
    assert "Kode kesalahan" in shown  # the event's details as key/value

    page = client.get(f"/admin/fulfillment/{dues.id}").text
    shown = visible_text(page)
    assert "Penyetoran iuran" in shown and "dues_remittance" not in shown
    assert "Terlindungi sampai" in shown  # delivery "covered_until", labelled
    assert "covered_until" not in shown
    worker = db.session.scalar(select(Worker))
    assert worker.phone_e164 not in page and worker.phone_e164[3:] not in page


def test_the_item_list_and_page_show_jakarta_time(app, sandbox, client, login_as, admin):
    fulfilled_order(codes=0)
    item = item_by(FulfillmentMethod.CODE_POOL)
    db.session.execute(
        update(FulfillmentItem)
        .where(FulfillmentItem.id == item.id)
        .values(next_attempt_at=datetime(2026, 12, 1, 20, 30, 5, tzinfo=UTC))
    )
    db.session.commit()
    login_as(admin)
    for path in ("/admin/fulfillment", f"/admin/fulfillment/{item.id}"):
        shown = visible_text(client.get(path).text)
        assert "2 Des 2026 03.30.05 WIB" in shown, path  # 20:30 UTC is 03:30 the next day
        assert "UTC" not in shown
