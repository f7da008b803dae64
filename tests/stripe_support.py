"""pytest plugin: a private localstripe for the test session, and what a sponsor's browser does.

Fixtures: ``localstripe`` (session) starts ``devtools.localstripe_local`` on a free port of
127.0.0.1 and stops it at the end; ``stripe_gateway`` (per test) empties localstripe and gives a
``StripeGateway`` pointed at it. ``LocalStripe.app_config()`` gives the app settings for it.

Stripe.js confirms payments in the browser. localstripe's Stripe.js mock cannot confirm a card
payment by itself (it only completes a 3-D Secure step), so ``pay_with_card`` does on the server
what Stripe.js does in a browser: make a card PaymentMethod, confirm the intent with it, and
pass or fail 3-D Secure as the mock's dialog would. No module here imports ``stripe``.
"""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from sponsorship.payments.stripe_gateway import StripeGateway

REPO_ROOT = Path(__file__).resolve().parents[1]

# Test cards as localstripe 1.15.10 treats them (it knows fewer than Stripe).
CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED_ON_CHARGE = "4000000000000341"  # card_declined whenever it is charged
CARD_DECLINED_ON_SAVE = "4000000000000002"  # declined only when saved on a customer
CARD_NEEDS_3DS = "4000002500003155"  # requires_action until 3-D Secure is passed
CARD_NEEDS_3DS_THEN_DECLINED = "4000008260003178"


class LocalStripeError(RuntimeError):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"localstripe answered {status}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class CardPayment:
    """How a payment attempt ended, as Stripe.js would report it to the page."""

    status: str
    payment_method_id: str
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True)
class LocalStripe:
    base_url: str
    log_path: Path
    secret_key: str = "sk_test_payung_localstripe"
    publishable_key: str = "pk_test_payung_localstripe"
    webhook_secret: str = "whsec_payung_localstripe"

    @property
    def js_url(self) -> str:
        return f"{self.base_url}/js.stripe.com/v3/"

    def app_config(self) -> dict[str, str]:
        return {
            "STRIPE_API_BASE": self.base_url,
            "STRIPE_JS_URL": self.js_url,
            "STRIPE_SECRET_KEY": self.secret_key,
            "STRIPE_PUBLISHABLE_KEY": self.publishable_key,
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
        }

    def gateway(self, **options: Any) -> StripeGateway:
        return StripeGateway(
            secret_key=self.secret_key,
            webhook_secret=self.webhook_secret,
            api_base=self.base_url,
            **options,
        )

    def flush(self) -> None:
        """Forget every object (registered webhook endpoints stay)."""
        self.request("DELETE", "/_config/data")

    def request(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        as_browser: bool = False,
    ) -> dict[str, Any]:
        """Call localstripe with the secret key, or as Stripe.js does with the publishable key
        in the body. Raises LocalStripeError for an error answer."""
        body = None
        headers = {}
        if as_browser:
            data = {**(data or {}), "key": self.publishable_key}
        else:
            headers["Authorization"] = f"Bearer {self.secret_key}"
        if data is not None:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 (base_url is our own http://127.0.0.1)
            self.base_url + path, data=body, headers=headers, method=method
        )
        try:
            with _opener.open(request, timeout=10) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            with error:
                raise LocalStripeError(error.code, json.loads(error.read() or b"{}")) from None
        return json.loads(text) if text else {}

    def pay_with_card(
        self, payment_intent_id: str, card_number: str = CARD_SUCCEEDS, *, authenticate: bool = True
    ) -> CardPayment:
        """Pay an intent as a sponsor typing this card would; ``authenticate`` is the answer
        to a 3-D Secure challenge. A decline is reported, not raised, as Stripe.js does."""
        method = self.request("POST", "/v1/payment_methods", _card(card_number))
        path = f"/v1/payment_intents/{payment_intent_id}"
        # localstripe answers "Not implemented" to confirm(payment_method=...): set it first.
        self.request("POST", path, {"payment_method": method["id"]})
        try:
            self.request("POST", f"{path}/confirm", {})
        except LocalStripeError as error:
            if error.status != 402:
                raise
        intent = self.request("GET", path)
        if intent["status"] == "requires_action":
            intent = self.confirm_card_payment(intent["client_secret"], authenticate=authenticate)
        failure = intent.get("last_payment_error") or {}
        return CardPayment(
            status=intent["status"],
            payment_method_id=method["id"],
            error_code=failure.get("code"),
            error_message=failure.get("message"),
        )

    def confirm_card_payment(
        self, client_secret: str, *, authenticate: bool = True
    ) -> dict[str, Any]:
        """What localstripe's ``stripe.confirmCardPayment(client_secret)`` does in the browser
        for an intent that ``requires_action``: pass (or fail) 3-D Secure. Returns the intent;
        a card declined after authentication is reported in it, not raised."""
        payment_intent_id = client_secret.split("_secret_")[0]
        try:
            self.request(
                "POST",
                f"/v1/payment_intents/{payment_intent_id}/_authenticate",
                {"client_secret": client_secret, "success": authenticate},
                as_browser=True,
            )
        except LocalStripeError as error:
            if error.status != 402:
                raise
        return self.request("GET", f"/v1/payment_intents/{payment_intent_id}")

    def confirm_card_setup(
        self, client_secret: str, card_number: str = CARD_SUCCEEDS, *, authenticate: bool = True
    ) -> dict[str, Any]:
        """What ``stripe.confirmCardSetup(client_secret, {payment_method: {card}})`` sends from
        the browser (publishable key only), answering a 3-D Secure challenge with
        ``authenticate``. Returns the SetupIntent; raises LocalStripeError for a decline."""
        setup_id = client_secret.split("_secret_")[0]
        confirm = f"/v1/setup_intents/{setup_id}/confirm"
        browser = {"client_secret": client_secret, "use_stripe_sdk": True}
        setup = self.request(
            "POST", confirm, {**browser, "payment_method_data": _card(card_number)}, as_browser=True
        )
        if setup["status"] == "requires_action":
            step = confirm if authenticate else f"/v1/setup_intents/{setup_id}/cancel"
            setup = self.request("POST", step, browser, as_browser=True)
        return setup

    def save_card(
        self, customer_id: str, card_number: str = CARD_SUCCEEDS, *, authenticate: bool = True
    ) -> str:
        """Keep a card on a customer as Stripe.js ``confirmCardSetup`` does and return its
        PaymentMethod id. Raises LocalStripeError when the card is declined."""
        setup = self.request(
            "POST", "/v1/setup_intents", {"customer": customer_id, "usage": "off_session"}
        )
        setup = self.confirm_card_setup(
            setup["client_secret"], card_number, authenticate=authenticate
        )
        if setup["status"] != "succeeded":
            raise LocalStripeError(402, {"error": {"code": "setup_intent_authentication_failure"}})
        # Stripe attaches the card to the SetupIntent's customer; localstripe does not.
        self.request(
            "POST",
            f"/v1/payment_methods/{setup['payment_method']}/attach",
            {"customer": customer_id},
        )
        return setup["payment_method"]


# localstripe runs on this machine: never send its traffic through a proxy.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _card(number: str) -> dict[str, Any]:
    expiry_year = date.today().year + 3
    return {
        "type": "card",
        "card": {"number": number, "exp_month": 12, "exp_year": expiry_year, "cvc": "123"},
    }


@contextmanager
def running_localstripe(log_dir: Path, *, startup_timeout: float = 20.0) -> Iterator[LocalStripe]:
    """Start ``devtools.localstripe_local`` on a free port, yield it, stop it with SIGTERM."""
    ready_path = log_dir / "localstripe.out"
    log_path = log_dir / "localstripe.log"
    with ready_path.open("wb") as stdout, log_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "devtools.localstripe_local", "--port", "0"],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        base_url = _wait_until_ready(process, ready_path, log_path, startup_timeout)
        yield LocalStripe(base_url=base_url, log_path=log_path)
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def _wait_until_ready(
    process: subprocess.Popen[bytes], ready_path: Path, log_path: Path, timeout: float
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited early:\n{log_path.read_text()}")
        announced = ready_path.read_text().strip()
        if announced:
            base_url = announced.rsplit(" ", 1)[-1]
            try:
                with _opener.open(f"{base_url}/js.stripe.com/v3/", timeout=2):
                    return base_url
            except OSError:
                pass
        time.sleep(0.05)
    raise RuntimeError(
        f"localstripe did not answer within {timeout:.0f} s:\n{log_path.read_text()}"
    )


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    with running_localstripe(tmp_path_factory.mktemp("localstripe")) as server:
        yield server


@pytest.fixture
def stripe_gateway(localstripe: LocalStripe) -> Iterator[StripeGateway]:
    localstripe.flush()
    gateway = localstripe.gateway()
    yield gateway
    gateway.close()
