"""In Debian's headless Chromium: a sponsor signs in, takes a selection to the cart, orders,
types a localstripe test card into the Stripe.js card element and pays — with CSRF on, our
Content-Security-Policy on, and only checkout.js as JavaScript. A declined card shows its
message and leaves the order unpaid."""

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from extensions import db
from sponsorship.checkout_models import Order, OrderStatus
from sponsorship.models import WorkerSelection, WorkerSelectionItem
from tests.conftest import PASSWORD
from tests.stripe_support import CARD_DECLINED_ON_CHARGE, CARD_SUCCEEDS

CHROMIUM = Path("/usr/bin/chromium")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def app_config(localstripe):
    localstripe.flush()
    return {**localstripe.app_config(), "WTF_CSRF_ENABLED": True}


@pytest.fixture
def site(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def browser_page(site):
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 360, "height": 800})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.set_default_timeout(15_000)
        page.console_errors = errors  # type: ignore[attr-defined]
        yield page
        browser.close()


def selection_of(sponsor, chosen) -> WorkerSelection:
    selection = WorkerSelection(sponsor_id=sponsor.id, worker_count=len(chosen), filters={})
    db.session.add(selection)
    db.session.flush()
    for n, worker in enumerate(chosen):
        db.session.add(
            WorkerSelectionItem(selection_id=selection.id, worker_id=worker.id, position=n)
        )
    db.session.commit()
    return selection


def order_and_open_pay_page(page, site, sponsor, selection, catalog) -> None:
    page.goto(f"{site}/masuk")
    page.fill("input[name=email]", sponsor.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form[method=post] button[type=submit]")
    page.wait_for_url(re.compile(r"/sponsor"))
    page.goto(f"{site}/pilihan/{selection.id}")
    page.click(f"a[href='/keranjang/tambah/{selection.id}']")
    page.check(f"input[name=bundle][value='{catalog.sertakan.id}']")
    page.check("input[name=months][value='3']")
    page.click("button[type=submit].btn-cta")
    page.wait_for_url(re.compile(r"/keranjang$"))
    snapshot(page, "cart")
    page.click("form[action='/keranjang/pesan'] button[type=submit]")
    page.wait_for_url(re.compile(r"/pesanan/PY-"))
    page.click("a[href$='/bayar']")
    page.wait_for_url(re.compile(r"/bayar$"))


def snapshot(page, name: str) -> None:
    """Keep a screenshot when PAYUNG_E2E_SCREENSHOTS names a folder (to look at the 360 px
    layout by eye)."""
    folder = os.environ.get("PAYUNG_E2E_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def type_card(page, number: str) -> None:
    page.wait_for_selector("#pay-form:not([hidden])")
    frame = page
    frame.fill("#card-element input[placeholder=number]", number)
    frame.fill("#card-element input[placeholder=exp_month]", "12")
    frame.fill("#card-element input[placeholder=exp_year]", "30")
    frame.fill("#card-element input[placeholder=cvc]", "123")
    frame.fill("#card-element input[placeholder=postal_code]", "16110")
    snapshot(page, f"pay-{number[-4:]}")
    page.click("#pay-button")


def test_a_sponsor_pays_in_the_browser(
    browser_page, site, sponsor, catalog, workers, fulfillment_starts
):
    page = browser_page
    selection = selection_of(sponsor, workers(3))
    order_and_open_pay_page(page, site, sponsor, selection, catalog)
    type_card(page, CARD_SUCCEEDS)
    page.wait_for_url(re.compile(r"/pesanan/PY-[A-Z0-9]+$"))
    assert "Pembayaran Anda sudah diterima" in page.content()
    snapshot(page, "order-paid")
    order = db.session.scalars(select(Order)).one()
    db.session.refresh(order)
    assert order.status == OrderStatus.FULFILLING
    assert fulfillment_starts == [order.id]
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_a_declined_card_shows_its_message_in_the_browser(
    browser_page, site, sponsor, catalog, workers, fulfillment_starts
):
    page = browser_page
    selection = selection_of(sponsor, workers(1))
    order_and_open_pay_page(page, site, sponsor, selection, catalog)
    type_card(page, CARD_DECLINED_ON_CHARGE)
    page.wait_for_selector("#card-errors:not([hidden])")
    assert "declined" in page.inner_text("#card-errors")
    snapshot(page, "pay-declined")
    order = db.session.scalars(select(Order)).one()
    db.session.refresh(order)
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert fulfillment_starts == []
