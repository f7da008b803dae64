"""Browser journeys: the app served by werkzeug on 127.0.0.1 (a port of its own), Debian's
headless Chromium driven by Playwright, CSRF on and the real Content-Security-Policy, the
partner sandbox and localstripe behind it. Fulfillment jobs run eagerly in the server.

Fixtures: ``app_config`` (localstripe, the partner sandbox, CSRF on), ``site`` (the base URL),
``open_page(viewport=..., javascript=True)`` (a fresh browser context — its own cookies, as
another person's browser — and a page whose console errors and uncaught script errors are
collected in ``page.console_errors``), ``t`` (a UI string as the Indonesian pages show it).

Helpers: ``sign_in`` (email and password, as a sponsor, partner or admin does),
``assert_quiet`` (no console errors), ``outbox_message`` (read a message from the dev outbox
page, as a tester reads an SMS), ``snapshot`` (a screenshot when PAYUNG_E2E_SCREENSHOTS names
a folder, to look at the layout by eye).
"""

import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import gettext
from werkzeug.serving import make_server

from tests.conftest import PASSWORD
from tests.fulfillment.conftest import fulfillment_config
from tests.sandbox_support import PartnerSandbox
from tests.stripe_support import LocalStripe

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
try:
    from playwright import sync_api as playwright_api
except ImportError:  # pragma: no cover (requirements-dev.txt has it)
    playwright_api = None
skip_without_chromium = pytest.mark.skipif(
    playwright_api is None or not CHROMIUM.exists(),
    reason="needs playwright and Debian's chromium",
)


@pytest.fixture
def app_config(sandbox: PartnerSandbox, localstripe: LocalStripe) -> dict[str, Any]:
    localstripe.flush()
    return {**fulfillment_config(sandbox, localstripe), "WTF_CSRF_ENABLED": True}


@pytest.fixture
def site(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module (a sync Playwright may not outlive its module:
    other modules start their own)."""
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def open_page(chromium: Any, site: str) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []

    def new_page(*, viewport: dict[str, int] = DESKTOP, javascript: bool = True) -> Any:
        context = chromium.new_context(
            viewport=viewport, java_script_enabled=javascript, base_url=site, locale="id-ID"
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.console_errors = errors
        return page

    yield new_page
    for context in contexts:
        context.close()


@pytest.fixture
def t(app: Flask) -> Callable[..., str]:
    """``t("Ready")`` → the text as the (Indonesian) page shows it."""

    def translate(text: str, **values: Any) -> str:
        with app.test_request_context():
            return gettext(text, **values)

    return translate


def sign_in(page: Any, email: str, password: str = PASSWORD) -> None:
    assert_protected(page.goto("/masuk"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("main form[method=post] button[type=submit]")
    page.wait_for_url(lambda url: "/masuk" not in url)


def assert_protected(response: Any) -> None:
    """The page came with the real Content-Security-Policy and a CSRF token in its form."""
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy
    assert response.frame.locator("input[name=csrf_token]").count() >= 1


def assert_quiet(*pages: Any) -> None:
    for page in pages:
        assert page.console_errors == [], page.console_errors


def outbox_message(page: Any, phone: str, containing: Any, *, excluding: Any = None) -> str:
    """The newest message to ``phone`` whose text contains ``containing`` (text or pattern)
    and not ``excluding``, read from the dev outbox page as a tester reads an SMS."""
    page.goto("/dev/outbox")
    rows = page.locator("tbody tr", has_text=phone).filter(has_text=containing)
    if excluding is not None:
        rows = rows.filter(has_not_text=excluding)
    row = rows.first
    row.wait_for()
    return row.locator(".message-body").inner_text()


def code_in(text: str, pattern: str) -> str:
    found = re.search(pattern, text)
    assert found, f"no {pattern!r} in {text!r}"
    return found.group(0)


def snapshot(page: Any, name: str) -> None:
    folder = os.environ.get("PAYUNG_E2E_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
