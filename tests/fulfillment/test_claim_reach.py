"""The worker pages on a cheap phone: Chromium at 360 × 740 with JavaScript off, nothing wider
than the screen. The pages come from the test client with their stylesheet inlined."""

import re
import shutil
from typing import Any

import pytest

from extensions import db
from fulfillment.models import ClaimCode
from tests.fulfillment.test_claim import build_line, claim

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {}


def inline_css(client: Any, html: str) -> str:
    def replace(match: re.Match[str]) -> str:
        response = client.get(match.group(1))
        css = response.get_data(as_text=True)
        response.close()
        return f"<style>{css}</style>"

    return re.sub(r'<link rel="stylesheet" href="(/static/[^"?]+)[^"]*">', replace, html)


def line_id(claim_id: int) -> int:
    return db.session.get(ClaimCode, claim_id).order_line_id


def test_worker_pages_fit_360_px_without_javascript(app, client):
    sync_api = pytest.importorskip("playwright.sync_api")
    line = build_line()
    pages = {"claim": inline_css(client, app.test_client().get("/klaim").text)}
    claim(client, line)
    for name, path in {
        "bundle": f"/saya/paket/{line['claim_id']}",
        "card": f"/saya/paket/{line['claim_id']}/kartu",
        "home": "/saya",
        "phone": "/saya/nomor",
        "heirs": "/saya/ahli-waris",
        "thanks": f"/saya/terima-kasih/{line_id(line['claim_id'])}",
    }.items():
        pages[name] = inline_css(client, client.get(path).text)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(
                viewport={"width": 360, "height": 740}, java_script_enabled=False
            )
            page = context.new_page()
            for name, html in pages.items():
                page.set_content(html)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 360, f"{name} is {width}px wide"
                assert page.get_by_text(line["voucher"]).count() == (name == "bundle")
        finally:
            browser.close()
