"""The Stripe adapter against a real localstripe, driven by the real ``stripe`` library."""

import hashlib
import hmac
import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from sponsorship.payments.gateway_types import (
    IntentStatus,
    InvalidWebhook,
    PaymentDeclined,
    PaymentGatewayError,
    PaymentIntentInfo,
    RefundStatus,
)
from sponsorship.payments.stripe_gateway import (
    StripeGateway,
    gateway_from_config,
)
from tests.stripe_support import (
    CARD_DECLINED_ON_CHARGE,
    CARD_DECLINED_ON_SAVE,
    CARD_NEEDS_3DS,
    CARD_NEEDS_3DS_THEN_DECLINED,
    CARD_SUCCEEDS,
    REPO_ROOT,
    LocalStripe,
    LocalStripeError,
    running_localstripe,
    stop_process,
)

WEBHOOK_SECRET = "whsec_test_matrix"


def new_intent(
    gateway: StripeGateway, amount_idr: int = 16_800, **overrides: Any
) -> PaymentIntentInfo:
    options: dict[str, Any] = {
        "amount_idr": amount_idr,
        "order_reference": "PAY-0001",
        "idempotency_key": f"order-PAY-0001-{time.monotonic_ns()}",
        "metadata": {"sponsor": "42"},
    }
    options.update(overrides)
    return gateway.create_payment_intent(**options)


def new_customer(gateway: StripeGateway) -> str:
    return gateway.create_customer(
        email="sponsor@example.test", name="Budi Santoso", idempotency_key="customer-user-42"
    )


def intent_count(localstripe: LocalStripe) -> int:
    return localstripe.request("GET", "/v1/payment_intents?limit=100")["total_count"]


# --- amounts and idempotency ------------------------------------------------------------------


def test_rupiah_travel_as_two_decimal_amounts_and_come_back_as_rupiah(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    intent = new_intent(stripe_gateway, 16_800)

    at_stripe = localstripe.request("GET", f"/v1/payment_intents/{intent.id}")
    assert (at_stripe["amount"], at_stripe["currency"]) == (1_680_000, "idr")
    assert at_stripe["metadata"] == {"sponsor": "42", "order_reference": "PAY-0001"}
    assert intent.amount_idr == 16_800
    assert intent.status is IntentStatus.REQUIRES_PAYMENT_METHOD
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert intent.order_reference == "PAY-0001"
    assert stripe_gateway.retrieve_payment_intent(intent.id) == intent


def test_an_amount_that_is_not_whole_rupiah_is_refused_on_the_way_back(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    odd = localstripe.request(
        "POST", "/v1/payment_intents", {"amount": 1_680_050, "currency": "idr"}
    )

    with pytest.raises(PaymentGatewayError, match="whole number of rupiah"):
        stripe_gateway.retrieve_payment_intent(odd["id"])


@pytest.mark.parametrize("amount_idr", [0, -16_800, 16_800.0, True, "16800"])
def test_bad_amounts_are_refused_before_reaching_stripe(
    stripe_gateway: StripeGateway, localstripe: LocalStripe, amount_idr: Any
) -> None:
    with pytest.raises(ValueError, match="amount_idr"):
        new_intent(stripe_gateway, amount_idr)

    assert intent_count(localstripe) == 0


def test_reusing_an_idempotency_key_returns_the_same_intent(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    first = new_intent(stripe_gateway, idempotency_key="order-PAY-0001-attempt-1")
    again = new_intent(stripe_gateway, idempotency_key="order-PAY-0001-attempt-1")

    assert again == first
    assert intent_count(localstripe) == 1


def test_reusing_an_idempotency_key_for_another_amount_is_refused(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    new_intent(stripe_gateway, 16_800, idempotency_key="order-PAY-0001-attempt-1")

    with pytest.raises(PaymentGatewayError, match="same parameters"):
        new_intent(stripe_gateway, 33_600, idempotency_key="order-PAY-0001-attempt-1")
    assert intent_count(localstripe) == 1


def test_an_unreachable_stripe_is_a_gateway_error() -> None:
    gateway = StripeGateway(
        secret_key="sk_test_unused",
        webhook_secret=WEBHOOK_SECRET,
        api_base="http://127.0.0.1:9",
        max_network_retries=0,
    )

    with pytest.raises(PaymentGatewayError):
        gateway.retrieve_payment_intent("pi_missing")


def test_an_unknown_intent_is_a_gateway_error(stripe_gateway: StripeGateway) -> None:
    with pytest.raises(PaymentGatewayError, match="Not Found"):
        stripe_gateway.retrieve_payment_intent("pi_doesnotexist")


def test_the_app_builds_its_gateway_once_from_its_settings(
    app: Flask, localstripe: LocalStripe
) -> None:
    app.config.update(localstripe.app_config())

    gateway = gateway_from_config()

    assert gateway_from_config() is gateway
    assert new_customer(gateway).startswith("cus_")


# --- paying in the browser --------------------------------------------------------------------


def test_paying_with_a_good_card_succeeds(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    intent = new_intent(stripe_gateway)

    payment = localstripe.pay_with_card(intent.id, CARD_SUCCEEDS)

    paid = stripe_gateway.retrieve_payment_intent(intent.id)
    assert payment.status == paid.status == IntentStatus.SUCCEEDED
    assert paid.payment_method_id == payment.payment_method_id
    assert paid.amount_idr == 16_800
    assert (paid.failure_code, paid.failure_message) == (None, None)


def test_a_declined_card_leaves_the_intent_waiting_for_another_card(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    intent = new_intent(stripe_gateway)

    payment = localstripe.pay_with_card(intent.id, CARD_DECLINED_ON_CHARGE)

    after = stripe_gateway.retrieve_payment_intent(intent.id)
    assert payment.error_code == "card_declined"
    assert after.status is IntentStatus.REQUIRES_PAYMENT_METHOD
    assert after.failure_code == "card_declined"
    assert after.failure_message == "Your card was declined."

    # The sponsor tries another card on the same intent.
    assert localstripe.pay_with_card(intent.id, CARD_SUCCEEDS).status == "succeeded"


@pytest.mark.parametrize(
    ("card", "authenticate", "status", "failure_code"),
    [
        (CARD_NEEDS_3DS, True, IntentStatus.SUCCEEDED, None),
        (
            CARD_NEEDS_3DS,
            False,
            IntentStatus.REQUIRES_PAYMENT_METHOD,
            "payment_intent_authentication_failure",
        ),
        (
            CARD_NEEDS_3DS_THEN_DECLINED,
            True,
            IntentStatus.REQUIRES_PAYMENT_METHOD,
            "card_declined",
        ),
    ],
)
def test_three_d_secure_decides_the_payment(
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
    card: str,
    authenticate: bool,
    status: IntentStatus,
    failure_code: str | None,
) -> None:
    intent = new_intent(stripe_gateway)

    localstripe.pay_with_card(intent.id, card, authenticate=authenticate)

    after = stripe_gateway.retrieve_payment_intent(intent.id)
    assert (after.status, after.failure_code) == (status, failure_code)


def test_an_abandoned_intent_can_be_cancelled_but_a_paid_one_cannot(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    abandoned = new_intent(stripe_gateway)
    paid = new_intent(stripe_gateway)
    localstripe.pay_with_card(paid.id)

    assert stripe_gateway.cancel_payment_intent(abandoned.id).status is IntentStatus.CANCELED
    with pytest.raises(PaymentGatewayError):
        stripe_gateway.cancel_payment_intent(paid.id)
    assert stripe_gateway.retrieve_payment_intent(paid.id).status is IntentStatus.SUCCEEDED


def card_from_browser(
    gateway: StripeGateway, localstripe: LocalStripe, customer_id: str, card: str
) -> str:
    setup = gateway.create_card_setup(customer_id=customer_id, idempotency_key=f"setup-{card}")
    assert setup.status is IntentStatus.REQUIRES_PAYMENT_METHOD
    localstripe.confirm_card_setup(setup.client_secret, card)
    confirmed = gateway.retrieve_card_setup(setup.id)
    assert confirmed.status is IntentStatus.SUCCEEDED
    assert confirmed.payment_method_id is not None
    return confirmed.payment_method_id


def test_a_card_typed_in_the_browser_pays_the_intent_on_the_server(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    customer_id = new_customer(stripe_gateway)
    intent = new_intent(stripe_gateway, customer_id=customer_id)
    card = card_from_browser(stripe_gateway, localstripe, customer_id, CARD_SUCCEEDS)

    paid = stripe_gateway.confirm_payment_intent(
        payment_intent_id=intent.id, payment_method_id=card, idempotency_key="pay-PAY-0001-1"
    )

    assert paid.status is IntentStatus.SUCCEEDED
    assert (paid.payment_method_id, paid.amount_idr) == (card, 16_800)


def test_after_a_decline_the_same_intent_takes_another_card(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    customer_id = new_customer(stripe_gateway)
    intent = new_intent(stripe_gateway, customer_id=customer_id)
    bad_card = card_from_browser(stripe_gateway, localstripe, customer_id, CARD_DECLINED_ON_CHARGE)

    with pytest.raises(PaymentDeclined) as declined:
        stripe_gateway.confirm_payment_intent(
            payment_intent_id=intent.id, payment_method_id=bad_card, idempotency_key="pay-1"
        )
    assert (declined.value.decline_code, declined.value.payment_intent_id) == (
        "card_declined",
        intent.id,
    )
    good_card = card_from_browser(stripe_gateway, localstripe, customer_id, CARD_SUCCEEDS)

    paid = stripe_gateway.confirm_payment_intent(
        payment_intent_id=intent.id, payment_method_id=good_card, idempotency_key="pay-2"
    )

    assert paid.status is IntentStatus.SUCCEEDED


def test_a_card_that_needs_3d_secure_is_finished_in_the_browser(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    customer_id = new_customer(stripe_gateway)
    intent = new_intent(stripe_gateway, customer_id=customer_id)
    card = card_from_browser(stripe_gateway, localstripe, customer_id, CARD_NEEDS_3DS)

    waiting = stripe_gateway.confirm_payment_intent(
        payment_intent_id=intent.id, payment_method_id=card, idempotency_key="pay-1"
    )
    assert waiting.status is IntentStatus.REQUIRES_ACTION
    localstripe.confirm_card_payment(waiting.client_secret)

    assert stripe_gateway.retrieve_payment_intent(intent.id).status is IntentStatus.SUCCEEDED


# --- refunds ----------------------------------------------------------------------------------


def test_a_part_that_cannot_be_issued_is_refunded_partially(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    intent = new_intent(stripe_gateway, 16_800)
    localstripe.pay_with_card(intent.id)

    refund = stripe_gateway.refund(
        payment_intent_id=intent.id,
        amount_idr=5_000,
        idempotency_key="refund-item-7",
        reason="data quota could not be issued",
    )

    assert refund.amount_idr == 5_000
    assert refund.payment_intent_id == intent.id
    assert refund.status is RefundStatus.SUCCEEDED
    at_stripe = localstripe.request("GET", f"/v1/refunds/{refund.id}")
    assert at_stripe["amount"] == 500_000
    assert at_stripe["metadata"] == {"reason": "data quota could not be issued"}
    charge = localstripe.request("GET", f"/v1/payment_intents/{intent.id}")["latest_charge"]
    assert charge["amount_refunded"] == 500_000

    again = stripe_gateway.refund(
        payment_intent_id=intent.id,
        amount_idr=5_000,
        idempotency_key="refund-item-7",
        reason="data quota could not be issued",
    )
    assert again == refund
    assert localstripe.request("GET", f"/v1/charges/{charge['id']}")["amount_refunded"] == 500_000


def test_an_unpaid_intent_cannot_be_refunded(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    intent = new_intent(stripe_gateway)
    localstripe.pay_with_card(intent.id, CARD_DECLINED_ON_CHARGE)

    with pytest.raises(PaymentGatewayError, match="failed payment"):
        stripe_gateway.refund(
            payment_intent_id=intent.id, amount_idr=5_000, idempotency_key="r-1", reason="test"
        )
    assert localstripe.request("GET", "/v1/refunds")["total_count"] == 0


# --- saved cards and renewals -----------------------------------------------------------------


def test_a_card_saved_on_the_first_payment_pays_the_renewal_off_session(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    customer_id = new_customer(stripe_gateway)
    first = new_intent(stripe_gateway, customer_id=customer_id, save_card=True)
    localstripe.pay_with_card(first.id)
    paid = stripe_gateway.retrieve_payment_intent(first.id)
    assert paid.payment_method_id is not None
    saved = localstripe.request("GET", f"/v1/payment_methods/{paid.payment_method_id}")
    assert saved["customer"] == customer_id

    renewal = stripe_gateway.charge_off_session(
        customer_id=customer_id,
        payment_method_id=paid.payment_method_id,
        amount_idr=16_800,
        idempotency_key="renewal-PAY-0001-2026-12",
        metadata={"order_reference": "PAY-0002"},
    )

    assert renewal.status is IntentStatus.SUCCEEDED
    assert (renewal.amount_idr, renewal.customer_id) == (16_800, customer_id)
    assert renewal.order_reference == "PAY-0002"


def test_saving_a_card_needs_a_customer(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    with pytest.raises(ValueError, match="customer"):
        new_intent(stripe_gateway, save_card=True)
    assert intent_count(localstripe) == 0


@pytest.mark.parametrize(
    ("card", "decline_code"),
    [(CARD_DECLINED_ON_CHARGE, "card_declined"), (CARD_NEEDS_3DS, "authentication_required")],
)
def test_a_renewal_the_card_refuses_raises_payment_declined(
    stripe_gateway: StripeGateway, localstripe: LocalStripe, card: str, decline_code: str
) -> None:
    customer_id = new_customer(stripe_gateway)
    payment_method_id = localstripe.save_card(customer_id, card)

    with pytest.raises(PaymentDeclined) as declined:
        stripe_gateway.charge_off_session(
            customer_id=customer_id,
            payment_method_id=payment_method_id,
            amount_idr=16_800,
            idempotency_key=f"renewal-{card}",
            metadata={},
        )

    assert declined.value.decline_code == decline_code
    assert declined.value.message
    intents = localstripe.request("GET", "/v1/payment_intents?limit=100")["data"]
    assert all(intent["status"] != "succeeded" for intent in intents)


def test_a_card_declined_when_saved_is_never_kept(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    customer_id = new_customer(stripe_gateway)

    with pytest.raises(LocalStripeError) as declined:
        localstripe.save_card(customer_id, CARD_DECLINED_ON_SAVE)

    assert declined.value.status == 402
    methods = localstripe.request("GET", f"/v1/payment_methods?customer={customer_id}&type=card")
    assert methods["data"] == []


# --- webhooks: the signature matrix -----------------------------------------------------------


@pytest.fixture
def webhook_gateway() -> StripeGateway:
    # Parsing webhooks never calls Stripe, so no localstripe is needed.
    return StripeGateway(secret_key="sk_test_unused", webhook_secret=WEBHOOK_SECRET)


def event_body(**overrides: Any) -> bytes:
    event: dict[str, Any] = {
        "id": "evt_1",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 1_680_000}},
    }
    event.update(overrides)
    return json.dumps(event).encode()


def sign(body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def test_a_correctly_signed_webhook_is_read(webhook_gateway: StripeGateway) -> None:
    body = event_body()

    event = webhook_gateway.parse_webhook(body, sign(body))

    assert (event.id, event.type, event.object_id) == ("evt_1", "payment_intent.succeeded", "pi_1")
    assert event.object["amount"] == 1_680_000
    assert abs(event.created - time.time()) < 5


def test_a_signature_among_several_is_enough(webhook_gateway: StripeGateway) -> None:
    # Stripe sends one v1 signature per active secret while a secret is being rolled.
    body = event_body()
    header = sign(body, secret="whsec_old") + "," + sign(body).split(",", 1)[1]

    assert webhook_gateway.parse_webhook(body, header).id == "evt_1"


def _tampered() -> tuple[bytes, str]:
    header = sign(event_body())
    return event_body(data={"object": {"id": "pi_1", "amount": 1}}), header


def _stale() -> tuple[bytes, str]:
    body = event_body()
    return body, sign(body, timestamp=int(time.time()) - 301)


def _signed(body: bytes) -> tuple[bytes, str]:
    return body, sign(body)


@pytest.mark.parametrize(
    "make_request",
    [
        pytest.param(_tampered, id="tampered body"),
        pytest.param(
            lambda: (event_body(), sign(event_body(), secret="whsec_wrong")), id="wrong secret"
        ),
        pytest.param(lambda: (event_body(), None), id="missing header"),
        pytest.param(lambda: (event_body(), ""), id="empty header"),
        pytest.param(lambda: (event_body(), "not a signature"), id="garbled header"),
        pytest.param(lambda: (event_body(), sign(event_body()).split(",")[0]), id="no v1"),
        pytest.param(_stale, id="stale timestamp"),
        pytest.param(lambda: _signed(b'{"id": "evt_1", "type": '), id="malformed JSON"),
        pytest.param(lambda: _signed(b"\xff\xfe"), id="not UTF-8"),
        pytest.param(lambda: _signed(b"[]"), id="not an object"),
        pytest.param(lambda: _signed(event_body(data={})), id="no data.object"),
        pytest.param(lambda: _signed(event_body(created="yesterday")), id="bad created"),
    ],
)
def test_a_webhook_that_is_not_a_fresh_signed_event_is_rejected(
    webhook_gateway: StripeGateway, make_request: Any
) -> None:
    body, header = make_request()

    with pytest.raises(InvalidWebhook):
        webhook_gateway.parse_webhook(body, header)


def test_the_tolerance_is_a_setting() -> None:
    gateway = StripeGateway(
        secret_key="sk_test_unused", webhook_secret=WEBHOOK_SECRET, webhook_tolerance_seconds=30
    )
    body = event_body()

    with pytest.raises(InvalidWebhook, match="tolerance"):
        gateway.parse_webhook(body, sign(body, timestamp=int(time.time()) - 31))


# --- webhooks: delivered by localstripe -------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    deliveries: "queue.Queue[tuple[bytes, str | None]]"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.deliveries.put((body, self.headers.get("Stripe-Signature")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook_receiver(
    stripe_gateway: StripeGateway,
) -> Iterator["queue.Queue[tuple[bytes, str | None]]"]:
    deliveries: queue.Queue[tuple[bytes, str | None]] = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"deliveries": deliveries})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/stripe/webhook"
    stripe_gateway.register_webhook_endpoint(url, endpoint_id="test-receiver")
    try:
        yield deliveries
    finally:
        stripe_gateway.register_webhook_endpoint(url, endpoint_id="test-receiver", events=[])
        server.shutdown()
        server.server_close()
        thread.join()


def wait_for_event(
    gateway: StripeGateway,
    deliveries: "queue.Queue[tuple[bytes, str | None]]",
    event_type: str,
    object_id: str,
    seen: list[Any],
) -> Any:
    """The event once delivered. localstripe delivers from its own tasks, so two events may
    arrive in either order: every event read is kept in ``seen`` for the next wait."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for event in seen:
            if (event.type, event.object_id) == (event_type, object_id):
                return event
        try:
            body, header = deliveries.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(gateway.parse_webhook(body, header))
    pytest.fail(f"localstripe sent no {event_type} for {object_id}")


def test_localstripe_sends_signed_webhooks_that_parse(
    stripe_gateway: StripeGateway,
    localstripe: LocalStripe,
    webhook_receiver: "queue.Queue[tuple[bytes, str | None]]",
) -> None:
    paid = new_intent(stripe_gateway)
    declined = new_intent(stripe_gateway)

    localstripe.pay_with_card(paid.id)
    localstripe.pay_with_card(declined.id, CARD_DECLINED_ON_CHARGE)

    seen: list[Any] = []
    succeeded = wait_for_event(
        stripe_gateway, webhook_receiver, "payment_intent.succeeded", paid.id, seen
    )
    assert succeeded.id.startswith("evt_")
    assert succeeded.object["amount"] == 1_680_000
    assert succeeded.object["metadata"]["order_reference"] == "PAY-0001"
    failed = wait_for_event(
        stripe_gateway, webhook_receiver, "payment_intent.payment_failed", declined.id, seen
    )
    assert failed.object["last_payment_error"]["code"] == "card_declined"


def test_webhook_endpoints_are_only_registered_with_localstripe() -> None:
    gateway = StripeGateway(secret_key="sk_test_unused", webhook_secret=WEBHOOK_SECRET)

    with pytest.raises(PaymentGatewayError, match="localstripe"):
        gateway.register_webhook_endpoint("http://127.0.0.1:5000/stripe/webhook")


# --- the localstripe wrapper itself -----------------------------------------------------------


def test_localstripe_keeps_its_store_in_memory(
    stripe_gateway: StripeGateway, localstripe: LocalStripe
) -> None:
    pickle = Path("/tmp/localstripe.pickle")  # noqa: S108 (the path localstripe would write)
    before = pickle.stat().st_mtime_ns if pickle.exists() else None

    localstripe.pay_with_card(new_intent(stripe_gateway).id)

    assert (pickle.stat().st_mtime_ns if pickle.exists() else None) == before


def test_localstripe_starts_empty_on_loopback(tmp_path: Path) -> None:
    with running_localstripe(tmp_path) as first:
        first.request("POST", "/v1/customers", {"email": "a@example.test"})
        assert first.request("GET", "/v1/customers")["total_count"] == 1
    with running_localstripe(tmp_path) as second:
        assert second.request("GET", "/v1/customers")["total_count"] == 0
        assert second.base_url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_localstripe_exits_cleanly_on_a_stop_signal(stop_signal: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.localstripe_local", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    with process:
        assert process.stdout is not None
        assert process.stdout.readline().startswith(b"localstripe listening on http://127.0.0.1:")
        process.send_signal(stop_signal)
        try:
            assert process.wait(timeout=10) == 0
        finally:
            stop_process(process)
