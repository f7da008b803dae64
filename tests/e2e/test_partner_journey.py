"""Journey 1, in the browser: a health-app company signs up as a partner and sends its profile,
an admin (in another browser) approves it, and the partner lists an offer, uploads a CSV of
voucher codes and sees them counted — on the offer and on its dashboard."""

from datetime import timedelta

import pytest

from accounts.models import Role
from core.dates import jakarta_today
from tests.conftest import PASSWORD
from tests.e2e.conftest import (
    assert_protected,
    assert_quiet,
    sign_in,
    skip_without_chromium,
    snapshot,
)

pytestmark = [pytest.mark.e2e, skip_without_chromium]

EMAIL = "ayu@sehat-nusantara.example"


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}  # no payment and no partner API in this journey


def test_a_partner_signs_up_is_approved_lists_an_offer_and_uploads_codes(open_page, make_user, t):
    partner = open_page()

    # Sign up as a partner and send the profile for review.
    assert_protected(partner.goto("/daftar"))
    partner.check("input[name=role][value=partner]")
    partner.fill("input[name=name]", "Sehat Nusantara")
    partner.fill("input[name=email]", EMAIL)
    partner.fill("input[name=password]", PASSWORD)
    partner.fill("input[name=password_confirm]", PASSWORD)
    partner.check("input[name=accept_terms]")
    partner.get_by_role("button", name=t("Create account")).click()
    partner.get_by_role("heading", name=t("Partner profile")).wait_for()
    partner.fill("input[name=name]", "Sehat Nusantara")
    partner.check("input[name=kind][value=health_app]")
    partner.fill("input[name=contact_name]", "Ayu Lestari")
    partner.fill("input[name=contact_email]", EMAIL)
    partner.fill("input[name=contact_phone]", "021 555 0102")
    partner.get_by_role("button", name=t("Send for review")).click()
    partner.get_by_role("heading", name=t("Waiting for approval")).wait_for()
    assert partner.get_by_role("link", name=t("New offer")).count() == 0

    # An admin, in a browser of their own, approves the pending partner.
    admin_user = make_user(Role.ADMIN)
    admin = open_page()
    sign_in(admin, admin_user.email)
    admin.locator("nav.subnav").get_by_role("link", name=t("Partners"), exact=True).click()
    admin.get_by_role("link", name="Sehat Nusantara").click()
    admin.get_by_role("heading", name="Sehat Nusantara").wait_for()
    admin.get_by_role("button", name=t("Approve")).click()
    admin.get_by_role("button", name=t("Suspend")).wait_for()  # only an approved partner has it

    # Back in the partner's browser: the dashboard is open; list an offer.
    partner.reload()
    partner.get_by_role("link", name=t("New offer")).first.click()
    partner.select_option("select[name=kind]", "health_app")
    partner.fill("input[name=name_id]", "Premium Sehat 30 hari")
    partner.fill("input[name=name_en]", "Sehat Premium 30 days")
    partner.fill("input[name=unit_price_idr]", "20000")
    partner.check("input[name=billing][value=once]")
    partner.fill("input[name=premium_days]", "30")
    partner.check("input[name=fulfillment_method][value=code_pool]")
    partner.fill("input[name=low_stock_threshold]", "2")
    partner.check("input[name=is_active]")
    partner.get_by_role("button", name=t("Save offer")).click()
    partner.get_by_role("heading", name="Premium Sehat 30 hari").wait_for()
    assert partner.get_by_text(t("Offer saved.")).is_visible()

    # Upload three codes from a CSV file, as picked in the file dialog.
    expiry = (jakarta_today() + timedelta(days=365)).isoformat()
    csv = "code,expires_on\n" + "".join(f"SEHAT-{n:04d}-ABCD,{expiry}\n" for n in range(3))
    partner.set_input_files(
        "input[type=file][name=file]",
        files=[{"name": "kode.csv", "mimeType": "text/csv", "buffer": csv.encode()}],
    )
    partner.get_by_role("button", name=t("Upload codes")).click()
    partner.get_by_text(t("%(count)s codes added to the pool.", count="3")).wait_for()
    available = partner.locator(".stat", has_text=t("Available"))
    assert available.inner_text().split()[0] == "3"
    uploads = partner.locator("table", has_text="kode.csv")
    assert uploads.locator("td.num").inner_text() == "3"
    snapshot(partner, "partner-offer-codes")

    # The dashboard counts the codes in stock.
    partner.goto("/mitra")
    in_stock = partner.locator(".stat", has_text=t("Codes in stock"))
    assert in_stock.inner_text().split()[0] == "3"
    assert partner.get_by_role("link", name="Premium Sehat 30 hari").first.is_visible()
    assert_quiet(partner, admin)
