"""Journeys 2 and 3, in the browser.

2. A sponsor filters the worker directory (fishers in Central Java), covers the three who match
   with ComboFit (health-app voucher from a code pool, BPJS dues remitted to the insurer, data
   top-up through the telco's API — the partner sandbox), pays with a localstripe test card
   typed into the Stripe.js card element, and sees every part of every worker issued on the
   order page. Each worker's SMS with the bundle code is in the dev outbox.
3. One of those workers, on a 360 × 740 phone with JavaScript off, reads the bundle code in the
   dev outbox, types it at /klaim with spaces and in lower case, proves the phone with the
   one-time code (also from the outbox), and sees every part and the membership card.

Also: a declined card shows its message and leaves the order unpaid.
"""

import re
from typing import Any

import pytest
from sqlalchemy import select

from accounts.models import Role
from bundles.dues.data import ensure_default_dues_data
from core.identity import mask_phone
from extensions import db
from fulfillment import clock
from i18n import local_date
from sponsorship.checkout.models import Order, OrderStatus
from tests.e2e.conftest import (
    PHONE,
    assert_protected,
    assert_quiet,
    code_in,
    outbox_message,
    sign_in,
    skip_without_chromium,
    snapshot,
)
from tests.fulfillment.support import make_combofit, make_workers, run_until_settled
from tests.stripe_support import CARD_DECLINED_ON_CHARGE, CARD_DECLINED_ON_SAVE, CARD_SUCCEEDS
from workers.models import Worker, WorkerSelection, WorkerSelectionItem

pytestmark = [pytest.mark.e2e, skip_without_chromium]

CLAIM_CODE = r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}-[0-9A-Z]"


@pytest.fixture(autouse=True)
def _real_clock_again():
    yield
    clock.reset()  # settle_fulfillment moves fulfillment's clock on


def type_card(page: Any, number: str) -> None:
    """Type a card into localstripe's Stripe.js card element and pay."""
    page.wait_for_selector("#pay-form:not([hidden])")
    page.fill("#card-element input[placeholder=number]", number)
    page.fill("#card-element input[placeholder=exp_month]", "12")
    page.fill("#card-element input[placeholder=exp_year]", "30")
    page.fill("#card-element input[placeholder=cvc]", "123")
    page.fill("#card-element input[placeholder=postal_code]", "16110")
    snapshot(page, f"pay-{number[-4:]}")
    page.click("#pay-button")


def fits_the_screen(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def page_weight(page: Any) -> int:
    """Bytes of HTML, CSS and JavaScript the browser fetched for this page (images excluded)."""
    return page.evaluate(
        """[...performance.getEntriesByType("navigation"),
            ...performance.getEntriesByType("resource")]
           .filter((e) => ["navigation", "link", "script", "css"].includes(e.initiatorType))
           .reduce((total, e) => total + e.encodedBodySize, 0)"""
    )


# --- journey 2 -----------------------------------------------------------------------------


def sponsor_covers_and_pays(page: Any, t: Any, sponsor_email: str, bundle_id: int) -> str:
    """The sponsor finds the workers with the directory filters, covers them with ComboFit for
    three months and pays by card; returns the order reference shown on the order page."""
    sign_in(page, sponsor_email)
    directory = page.get_by_role("link", name=t("Worker directory"), exact=True)
    directory.filter(visible=True).first.click()
    page.get_by_role("heading", name=t("Worker directory")).wait_for()
    page.get_by_text(t("Filters"), exact=True).click()
    page.select_option("select[name=occupation]", "fisher")
    page.select_option("select[name=province]", label="Jawa Tengah")
    page.get_by_role("button", name=t("Apply filters")).click()
    page.wait_for_url(re.compile(r"province=33"))
    cards = page.locator("li.worker-card")
    assert cards.count() == 3
    assert page.locator(".results-count").inner_text().startswith("3 ")
    for n in range(3):
        assert "Jawa Tengah" in cards.nth(n).inner_text()

    page.fill("#cover-n", "3")
    page.get_by_role("button", name=t("Cover matching workers")).click()
    page.get_by_role("heading", name=t("Your selection")).wait_for()
    page.get_by_role("link", name=t("Continue to checkout")).click()
    page.check(f"input[name=bundle][value='{bundle_id}']")
    page.check("input[name=months][value='3']")
    page.get_by_role("button", name=t("Put in my cart")).click()
    page.wait_for_url(re.compile(r"/keranjang$"))
    assert "ComboFit Jamsostek" in page.locator("main").inner_text()
    page.click("form[action='/keranjang/pesan'] button[type=submit]")
    page.wait_for_url(re.compile(r"/pesanan/PY-"))
    page.click("a[href$='/bayar']")
    type_card(page, CARD_SUCCEEDS)
    page.get_by_text(t("Thank you! Your payment was received.")).wait_for()
    return page.url.rsplit("/", 1)[-1]


def settle_fulfillment() -> None:
    """What Celery beat does in production: sweep until no part is in progress (parts the
    partners answered at once are issued already)."""

    db.session.rollback()
    run_until_settled(step_s=15)


# --- journey 3 -----------------------------------------------------------------------------


def worker_claims_on_a_small_phone(
    page: Any, sms_inbox: Any, t: Any, worker: Worker
) -> dict[str, str]:
    """The worker reads the bundle code in the outbox (``sms_inbox`` stands for the phone's
    SMS app), claims it at /klaim in the phone's browser (``page``), proves the phone with the
    SMS code and opens the bundle and the card; returns what the pages showed."""
    sms = outbox_message(sms_inbox, worker.phone_e164, "/klaim")
    assert "ComboFit" in sms
    typed = code_in(sms, CLAIM_CODE).lower().replace("-", " ")  # as read aloud and typed

    assert_protected(page.goto("/klaim"))
    page.get_by_role("heading", name=t("Claim your bundle")).wait_for()
    fits_the_screen(page)
    weight = page_weight(page)
    # A first load, compressed as sent: the HTML and the stylesheet (the lower bound proves the
    # stylesheet was counted), inside the 14 KB a slow mobile link carries in one round trip.
    assert 4_000 < weight <= 14 * 1024, weight
    page.fill("input[name=code]", typed)
    page.get_by_role("button", name=t("Continue")).click()
    page.get_by_role("heading", name=t("Enter your code")).wait_for()
    assert mask_phone(worker.phone_e164) in page.locator("main").inner_text()

    otp_sms = outbox_message(
        sms_inbox, worker.phone_e164, re.compile(r"\b\d{6}\b"), excluding="/klaim"
    )
    page.fill("input[name=code]", code_in(otp_sms, r"\b\d{6}\b"))
    page.get_by_role("button", name=t("Claim the bundle")).click()
    page.get_by_role("heading", name="ComboFit Jamsostek").wait_for()
    fits_the_screen(page)
    snapshot(page, "claim-bundle")
    parts = page.locator("section.claim-part")
    assert parts.count() == 3
    for n in range(3):
        assert t("Ready") in parts.nth(n).inner_text()
    health = parts.filter(has_text="Fita Premium 30 hari")
    voucher = health.locator(".claim-secret").inner_text()
    data = parts.filter(has_text="Kuota 5 GB").inner_text()
    assert mask_phone(worker.phone_e164) in data and "5 GB" in data
    dues = parts.filter(has_text="Iuran BPJS JKK + JKM")
    kpj = dues.locator("dd.claim-secret").inner_text()
    assert re.fullmatch(r"\d{8,13}", kpj), kpj
    dues_text = dues.inner_text()

    page.get_by_role("link", name=t("Show my membership card")).click()
    page.get_by_role("heading", name=t("Membership card")).wait_for()
    fits_the_screen(page)
    snapshot(page, "claim-card")
    card = page.locator(".member-card").inner_text()
    assert page.locator("svg.qr").count() == 1
    return {"voucher": voucher, "kpj": kpj, "dues": dues_text, "card": card}


@pytest.mark.slow  # ~25-45 s on a busy two-core machine
def test_a_sponsor_covers_three_workers_and_one_of_them_claims_on_a_small_phone(
    app, open_page, sandbox, make_user, t
):
    sandbox.configure(topup_pending_polls=0)  # the telco answers at once
    ensure_default_dues_data()
    combo = make_combofit(codes=5)
    fishers = make_workers(3, occupation="fisher", province_code="33", regency="Kab. Rembang")
    make_workers(2, occupation="fisher")  # in West Java
    make_workers(1, province_code="33", regency="Kab. Rembang")  # a farmer
    sponsor_user = make_user(Role.SPONSOR, display_name="PT Peduli Pekerja")

    # Journey 2: the sponsor's browser.
    sponsor = open_page()
    reference = sponsor_covers_and_pays(sponsor, t, sponsor_user.email, combo.bundle.id)
    settle_fulfillment()
    sponsor.reload()
    sponsor.get_by_role("heading", name=re.compile(reference)).wait_for()
    snapshot(sponsor, "order-issued")
    heading = sponsor.get_by_role("heading", level=1).inner_text()
    assert t("Done") in heading
    rows = sponsor.locator("table.order-lines tbody tr")
    assert rows.count() == 3
    for n in range(3):
        badges = rows.nth(n).locator(".part-list .badge").all_inner_texts()
        assert badges == [t("Issued")] * 3, badges
    assert t("%(done)s of %(total)s", done="9", total="9") in sponsor.locator("main").inner_text()

    # Each worker's SMS is in the dev outbox.
    outbox = open_page(viewport=PHONE, javascript=False)
    for worker in fishers:
        assert "ComboFit" in outbox_message(outbox, worker.phone_e164, "/klaim")

    # Journey 3: the first of them, on a cheap phone with JavaScript off.
    phone = open_page(viewport=PHONE, javascript=False)
    shown = worker_claims_on_a_small_phone(phone, outbox, t, fishers[0])
    db.session.rollback()
    worker = db.session.get(Worker, fishers[0].id)
    with app.test_request_context():
        covered_until = local_date(worker.covered_until)
    assert covered_until in shown["dues"] and covered_until in shown["card"]
    assert shown["kpj"] in shown["card"]
    assert shown["voucher"].startswith("FITA-")
    order = db.session.scalar(select(Order).where(Order.reference == reference))
    assert order.status == OrderStatus.FULFILLED
    assert_quiet(sponsor, outbox, phone)


# --- a declined card -----------------------------------------------------------------------


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


def test_a_declined_card_shows_its_message_and_the_order_stays_unpaid(
    open_page, sponsor, catalog, workers, fulfillment_starts, t
):
    page = open_page(viewport={"width": 360, "height": 800})
    selection = selection_of(sponsor, workers(1))
    sign_in(page, sponsor.email)
    page.goto(f"/keranjang/tambah/{selection.id}")
    page.check(f"input[name=bundle][value='{catalog.sertakan.id}']")
    page.check("input[name=months][value='3']")
    page.get_by_role("button", name=t("Put in my cart")).click()
    page.wait_for_url(re.compile(r"/keranjang$"))
    page.click("form[action='/keranjang/pesan'] button[type=submit]")
    page.wait_for_url(re.compile(r"/pesanan/PY-"))
    page.click("a[href$='/bayar']")
    # Refused by Stripe.js in the browser (the card cannot be saved): our words, not Stripe's.
    type_card(page, CARD_DECLINED_ON_SAVE)
    page.wait_for_selector("#card-errors:not([hidden])")
    shown = page.inner_text("#card-errors")
    assert shown == t("Your bank refused this payment. Contact your bank or use another card.")
    assert "declined" not in shown
    # Refused when charged (the server answers): the same words.
    page.reload()
    type_card(page, CARD_DECLINED_ON_CHARGE)
    page.wait_for_selector("#card-errors:not([hidden])")
    assert page.inner_text("#card-errors") == shown
    snapshot(page, "pay-declined")
    page.goto(page.url.removesuffix("/bayar"))
    assert t("Awaiting payment") in page.get_by_role("heading", level=1).inner_text()
    order = db.session.scalars(select(Order)).one()
    db.session.refresh(order)
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert fulfillment_starts == []
    assert [e for e in page.console_errors if "402" not in e] == []
