"""Issue 13, item 9, in the browser: while the parts of a paid order are being delivered, the
sponsor types a message to the workers on the order page; the progress block follows the
delivery by itself and the half-typed message stays (the page used to reload every 10 s)."""

import re

import pytest

from accounts.models import Role
from bundles.dues.data import ensure_default_dues_data
from extensions import db
from fulfillment import clock
from fulfillment import progress_views as order_progress_views
from fulfillment.services import start_fulfillment
from sponsorship.checkout.models import Order
from tests.e2e.conftest import PHONE, assert_quiet, sign_in, skip_without_chromium
from tests.fulfillment.support import (
    make_combofit,
    make_paid_order,
    make_workers,
    run_until_settled,
)

pytestmark = [pytest.mark.e2e, skip_without_chromium]


@pytest.fixture(autouse=True)
def _real_clock_again():
    yield
    clock.reset()


def test_the_progress_updates_and_the_typed_message_stays(
    app, open_page, sandbox, make_user, t, monkeypatch
):
    monkeypatch.setattr(order_progress_views, "POLL_SECONDS", 1)
    sandbox.configure(topup_pending_polls=0)
    ensure_default_dues_data()
    combo = make_combofit(codes=5)
    sponsor = make_user(Role.SPONSOR)
    order = make_paid_order(combo.bundle, make_workers(2), sponsor=sponsor, months=1)
    db.session.commit()  # paid; nothing delivered yet

    page = open_page(viewport=PHONE)
    sign_in(page, sponsor.email)
    page.goto(f"/pesanan/{order.reference}")
    block = page.locator("#order-progress")
    assert t("%(done)s of %(total)s", done="0", total="6") in block.inner_text()
    typed = "Semoga sehat selalu, Pak"
    page.fill("textarea[name=message]", typed)
    page.focus("textarea[name=message]")

    start_fulfillment(db.session.get(Order, order.id))
    db.session.commit()
    run_until_settled(step_s=15)  # what the sweeper does meanwhile
    done = t("%(done)s of %(total)s", done="6", total="6")
    page.wait_for_function(
        "text => document.getElementById('order-progress').innerText.includes(text)", arg=done
    )
    page.wait_for_timeout(2_500)  # more polls: still nothing reloads
    assert page.input_value("textarea[name=message]") == typed
    assert page.evaluate("document.activeElement.name") == "message"
    assert t("Delivery has finished.") in block.inner_text()
    assert re.search(rf"/pesanan/{order.reference}$", page.url)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert_quiet(page)
