"""Issue 13, item 12: /saya/data (a worker's details and consent) was 454 px wide on a 360 px
phone. With long names, a long regency and heirs it now fits the screen: long values wrap."""

from datetime import UTC, datetime

import pytest

from accounts.models import Role
from extensions import db
from tests.e2e.conftest import PHONE, assert_quiet, skip_without_chromium, snapshot
from workers.models import Heir, HeirRelation

pytestmark = [pytest.mark.e2e, skip_without_chromium]


def signed_in_page(app, open_page, site, user):
    """A phone's browser already signed in as ``user`` (its session cookie, made here)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    page = open_page(viewport=PHONE, javascript=False)
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": site}])
    return page


def test_my_details_fit_a_360_px_phone(app, open_page, site, make_user, make_worker):
    user = make_user(Role.WORKER, phone_e164="+6281234567890")
    agreed = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    worker = make_worker(
        full_name="Bartholomeus Christoffelus Wijayakusumaningratdiningrat",
        phone_e164="+6281234567890",
        occupation="ojek_pangkalan",
        province_code="71",
        regency="Kabupaten Kepulauan Siau Tagulandang Biaro",
        user_id=user.id,
        insurer_consent_at=agreed,
        listing_consent_at=agreed,
        consent_confirmed_at=agreed,
    )
    worker.heirs.append(
        Heir(
            full_name="Maria Magdalena Kusumawardhaniningtyas",
            relation=HeirRelation.SPOUSE,
            position=1,
        )
    )
    db.session.commit()

    page = signed_in_page(app, open_page, site, user)
    page.goto("/saya/data")
    page.locator("#consent-title").wait_for()
    snapshot(page, "my-details-360")
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"/saya/data is {width}px wide"
    overflowing = page.evaluate(
        """[...document.querySelectorAll("main .card *")]
           .filter((e) => e.getBoundingClientRect().right
                          > e.closest(".card").getBoundingClientRect().right + 0.5)
           .map((e) => e.tagName + " " + e.textContent.trim().slice(0, 30))"""
    )
    assert overflowing == [], overflowing  # nothing sticks out of its card either
    assert_quiet(page)
