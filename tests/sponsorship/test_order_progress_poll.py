"""Issue 13, item 9: the order page reloaded itself every 10 s while parts were pending and
wiped the message the sponsor was typing to the workers. The page no longer reloads: a small
script asks /pesanan/<ref>/kemajuan for the progress and replaces only the progress block;
without JavaScript a "Muat ulang" link does the same."""

import re

import pytest
from sqlalchemy import select, update

from accounts.models import Role
from extensions import db
from fulfillment.models import FulfillmentItem, ItemStatus
from sponsorship.checkout.models import OrderStatus
from tests.checkout_support import pay_in_browser
from tests.sponsorship.test_thanks import as_user


@pytest.fixture
def app_config(localstripe):
    localstripe.flush()
    return localstripe.app_config()


@pytest.fixture(autouse=True)
def no_jobs(fulfillment_starts):
    return fulfillment_starts  # parts stay pending: nothing delivers them


@pytest.fixture
def pending_order(client, login_as, sponsor, localstripe, catalog, workers, ordered):
    order = ordered(workers(2), catalog.combo, months=1)  # 2 workers × 3 parts
    login_as(sponsor)
    assert pay_in_browser(client, localstripe, order).confirm["status"] == "succeeded"
    db.session.refresh(order)
    assert order.status in (OrderStatus.PAID, OrderStatus.FULFILLING)
    return order


def test_the_order_page_with_pending_parts_never_reloads_itself(client, pending_order):
    reference = pending_order.reference
    page = client.get(f"/pesanan/{reference}").text
    assert "http-equiv" not in page  # no meta refresh to wipe what is typed
    assert f"/pesanan/{reference}/pesan-pekerja" in page  # the message form is there
    block = re.search(r'<div id="order-progress"[^>]*>', page).group(0)
    assert f'data-progress-url="/pesanan/{reference}/kemajuan"' in block
    assert "/static/js/order_progress.js" in page
    assert re.search(rf'<a [^>]*href="/pesanan/{reference}"[^>]*>Muat ulang</a>', page)
    assert "<script>" not in page  # the CSP allows no inline script


def test_the_progress_endpoint_gives_the_current_counts(client, pending_order):
    path = f"/pesanan/{pending_order.reference}/kemajuan"
    first = client.get(path)
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert first.headers["Cache-Control"] == "private, no-store"
    data = first.get_json()
    assert (data["settled"], data["failed"], data["total"], data["done"]) == (0, 0, 6, False)
    assert "0 dari 6" in data["html"] and "Muat ulang" in data["html"]

    item_ids = db.session.scalars(select(FulfillmentItem.id).limit(2)).all()
    db.session.execute(
        update(FulfillmentItem)
        .where(FulfillmentItem.id.in_(item_ids))
        .values(status=ItemStatus.ISSUED)
    )
    db.session.commit()
    data = client.get(path).get_json()
    assert (data["settled"], data["total"], data["done"]) == (2, 6, False)
    assert "2 dari 6" in data["html"]


def test_only_the_orders_sponsor_sees_its_progress(app, client, pending_order, make_user):
    path = f"/pesanan/{pending_order.reference}/kemajuan"
    assert as_user(app, make_user(Role.SPONSOR)).get(path).status_code == 404
    assert as_user(app, make_user(Role.PARTNER)).get(path).status_code == 403
    assert app.test_client().get(path).status_code == 302  # to the sign-in page
    assert client.get("/pesanan/PY-NOPE/kemajuan").status_code == 404
