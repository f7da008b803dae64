"""Payung's only door to Stripe: PaymentIntents, refunds, saved cards and signed webhooks.

Everything else in Payung speaks integer rupiah and the types of ``gateway_types``; this module
alone imports ``stripe``. Stripe's API treats IDR as a two-decimal currency, so Rp16.800 travels
as 1680000 and comes back as 16800. In development and tests the same calls go to localstripe
(``STRIPE_API_BASE``); see devtools/LOCALSTRIPE.md for what it does and does not do.
"""

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, TypeVar

import stripe

from core.per_app import once_per_app
from sponsorship.payments.gateway_types import (
    CardSetupInfo,
    IntentStatus,
    InvalidWebhook,
    PaymentDeclined,
    PaymentGatewayError,
    PaymentIntentInfo,
    RefundInfo,
    RefundStatus,
    WebhookEvent,
    from_stripe_amount,
    to_stripe_amount,
)

CURRENCY = "idr"
DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300

StatusT = TypeVar("StatusT", bound=StrEnum)


def _refuse_future(signature_header: str, tolerance_seconds: int) -> None:
    """The signed ``t=`` (already checked for the past) is not ahead of now either."""
    stamps = [
        int(v) for k, _, v in (p.partition("=") for p in signature_header.split(",")) if k == "t"
    ]
    if not stamps or stamps[0] > time.time() + tolerance_seconds:
        raise stripe.SignatureVerificationError("Timestamp ahead of now", signature_header)


def _id_of(value: Any) -> str | None:
    """Stripe returns a related object either as its id or, when expanded, as the object."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def _declined(error: stripe.CardError, payment_intent_id: str | None) -> PaymentDeclined:
    details = error.error
    decline_code = getattr(details, "decline_code", None) or error.code
    # Stripe names the intent in the error; localstripe does not.
    intent_id = getattr(getattr(details, "payment_intent", None), "id", None) or payment_intent_id
    return PaymentDeclined(error.user_message or str(error), decline_code, intent_id)


@contextmanager
def _stripe_errors_translated(payment_intent_id: str | None = None) -> Iterator[None]:
    try:
        yield
    except stripe.CardError as error:
        raise _declined(error, payment_intent_id) from error
    except stripe.StripeError as error:
        raise PaymentGatewayError(error.user_message or str(error)) from error


class StripeGateway:
    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        max_network_retries: int = 2,
        timeout_seconds: float = 30,
        webhook_tolerance_seconds: int = DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
    ) -> None:
        self._api_base = api_base.rstrip("/") if api_base else None
        self._webhook_secret = webhook_secret
        self._webhook_tolerance_seconds = webhook_tolerance_seconds
        self._http_client = stripe.RequestsClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": self._api_base} if self._api_base else None,
            max_network_retries=max_network_retries,
            http_client=self._http_client,
        )

    def close(self) -> None:
        """Close the pooled connection of the calling thread."""
        self._http_client.close()

    # --- payments ---------------------------------------------------------------------------

    def create_payment_intent(
        self,
        *,
        amount_idr: int,
        order_reference: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
        customer_id: str | None = None,
        save_card: bool = False,
    ) -> PaymentIntentInfo:
        """An intent the sponsor's browser confirms with Stripe.js (its ``client_secret``).

        ``save_card`` keeps the card on ``customer_id`` for off-session renewals.
        """
        if save_card and not customer_id:
            raise ValueError("save_card needs a customer_id to keep the card on")
        params: dict[str, Any] = {
            "amount": to_stripe_amount(amount_idr),
            "currency": CURRENCY,
            # Explicit, so Stripe's automatic payment methods never ask for a return_url.
            "payment_method_types": ["card"],
            "metadata": {**metadata, "order_reference": order_reference},
        }
        if customer_id:
            params["customer"] = customer_id
        if save_card:
            params["setup_future_usage"] = "off_session"
        with _stripe_errors_translated():
            intent = self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        return _payment_intent_info(intent)

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntentInfo:
        with _stripe_errors_translated():
            intent = self._client.v1.payment_intents.retrieve(payment_intent_id)
        return _payment_intent_info(intent)

    def create_card_setup(
        self, *, customer_id: str, idempotency_key: str, save_card: bool = False
    ) -> CardSetupInfo:
        """A SetupIntent for the browser's ``stripe.confirmCardSetup``, which turns the typed
        card into a PaymentMethod (the one card flow localstripe's Stripe.js mock supports).
        ``save_card`` sets it up for off-session renewals."""
        params = {
            "customer": customer_id,
            "payment_method_types": ["card"],
            "usage": "off_session" if save_card else "on_session",
        }
        with _stripe_errors_translated():
            setup = self._client.v1.setup_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        return _card_setup_info(setup)

    def retrieve_card_setup(self, setup_intent_id: str) -> CardSetupInfo:
        with _stripe_errors_translated():
            setup = self._client.v1.setup_intents.retrieve(setup_intent_id)
        return _card_setup_info(setup)

    def confirm_payment_intent(
        self, *, payment_intent_id: str, payment_method_id: str, idempotency_key: str
    ) -> PaymentIntentInfo:
        """Pay an intent on the server with a card the browser handed us.

        Returns the intent: ``succeeded``, or ``requires_action`` when the page must let the
        sponsor authenticate (``stripe.confirmCardPayment(client_secret)``). Raises
        PaymentDeclined when the card is declined; the intent then takes another card, with
        a new ``idempotency_key`` (one per attempt).
        """
        intents = self._client.v1.payment_intents
        # Two calls, not confirm(payment_method=...): localstripe answers that "Not implemented".
        with _stripe_errors_translated(payment_intent_id):
            intents.update(
                payment_intent_id,
                params={"payment_method": payment_method_id},
                options={"idempotency_key": f"{idempotency_key}:payment-method"},
            )
            intent = intents.confirm(
                payment_intent_id, options={"idempotency_key": f"{idempotency_key}:confirm"}
            )
        info = _payment_intent_info(intent)
        if info.status is IntentStatus.REQUIRES_PAYMENT_METHOD:
            raise PaymentDeclined(
                info.failure_message or "The card was declined.", info.failure_code, info.id
            )
        return info

    def cancel_payment_intent(self, payment_intent_id: str) -> PaymentIntentInfo:
        """Stop an unpaid intent (an abandoned checkout); a paid one raises PaymentGatewayError."""
        with _stripe_errors_translated():
            intent = self._client.v1.payment_intents.cancel(payment_intent_id)
        return _payment_intent_info(intent)

    def refund(
        self, *, payment_intent_id: str, amount_idr: int, idempotency_key: str, reason: str
    ) -> RefundInfo:
        """Give back part or all of a paid intent. ``reason`` is ours, kept in the metadata:
        Stripe's own ``reason`` only takes three fixed values."""
        params = {
            "payment_intent": payment_intent_id,
            "amount": to_stripe_amount(amount_idr),
            "metadata": {"reason": reason},
        }
        with _stripe_errors_translated():
            refund = self._client.v1.refunds.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        data = refund.to_dict()
        return RefundInfo(
            id=data["id"],
            payment_intent_id=_id_of(data.get("payment_intent")) or payment_intent_id,
            amount_idr=from_stripe_amount(data["amount"]),
            status=_status(RefundStatus, data.get("status")),
        )

    # --- saved cards and renewals -----------------------------------------------------------

    def create_customer(self, *, email: str, name: str, idempotency_key: str) -> str:
        with _stripe_errors_translated():
            customer = self._client.v1.customers.create(
                params={"email": email, "name": name},
                options={"idempotency_key": idempotency_key},
            )
        return customer.id

    def charge_off_session(
        self,
        *,
        customer_id: str,
        payment_method_id: str,
        amount_idr: int,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> PaymentIntentInfo:
        """Charge a saved card while the sponsor is away (automatic renewal).

        Raises PaymentDeclined when the card is declined or its bank wants the cardholder to
        authenticate (``decline_code`` ``authentication_required``).
        """
        params = {
            "amount": to_stripe_amount(amount_idr),
            "currency": CURRENCY,
            "customer": customer_id,
            "payment_method": payment_method_id,
            "payment_method_types": ["card"],
            "confirm": True,
            "off_session": True,
            "metadata": dict(metadata),
        }
        with _stripe_errors_translated():
            intent = self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        info = _payment_intent_info(intent)
        if info.status is IntentStatus.REQUIRES_ACTION:
            # Stripe answers this with an authentication_required card error; localstripe
            # leaves the intent waiting for the absent cardholder instead.
            raise PaymentDeclined(
                "The card needs the cardholder to authenticate this payment.",
                "authentication_required",
                info.id,
            )
        if info.status is IntentStatus.REQUIRES_PAYMENT_METHOD:
            raise PaymentDeclined(
                info.failure_message or "The card was declined.", info.failure_code, info.id
            )
        return info

    # --- webhooks ---------------------------------------------------------------------------

    def parse_webhook(self, payload: bytes, signature_header: str | None) -> WebhookEvent:
        """Check the Stripe-Signature header against the raw body, then read the event.

        Raises InvalidWebhook for a missing or malformed header, a wrong signature or secret,
        a timestamp further than the tolerance from now either way (Stripe's own check only
        looks back), or a body that is not a Stripe event.
        """
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature_header, self._webhook_secret, self._webhook_tolerance_seconds
            )
            _refuse_future(signature_header or "", self._webhook_tolerance_seconds)
            event = json.loads(payload)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidWebhook(str(error)) from error
        try:
            event_id, event_type, created = event["id"], event["type"], event["created"]
            event_object = event["data"]["object"]
        except (KeyError, TypeError) as error:
            raise InvalidWebhook(f"not a Stripe event: missing {error}") from error
        if not (
            isinstance(event_id, str)
            and isinstance(event_type, str)
            and type(created) is int
            and isinstance(event_object, dict)
        ):
            raise InvalidWebhook("not a Stripe event: unexpected field types")
        object_id = event_object.get("id")
        return WebhookEvent(
            id=event_id,
            type=event_type,
            created=created,
            object_id=object_id if isinstance(object_id, str) else None,
            object=event_object,
        )

    def register_webhook_endpoint(
        self, url: str, *, endpoint_id: str = "payung", events: Sequence[str] | None = None
    ) -> None:
        """Ask localstripe to send its events, signed with our webhook secret, to ``url``.

        localstripe only: real Stripe endpoints are set up in its dashboard. Registering the
        same ``endpoint_id`` again replaces it; ``events=[]`` silences it.
        """
        if self._api_base is None or not self._api_base.startswith(("http://", "https://")):
            raise PaymentGatewayError("webhook endpoints can only be registered with localstripe")
        body: dict[str, Any] = {"url": url, "secret": self._webhook_secret}
        if events is not None:
            body["events"] = list(events)
        request = urllib.request.Request(  # noqa: S310 (http(s) checked above)
            f"{self._api_base}/_config/webhooks/{urllib.parse.quote(endpoint_id, safe='')}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        # No proxies: localstripe runs on this machine.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10):
                pass
        except OSError as error:
            raise PaymentGatewayError(
                f"localstripe refused the webhook endpoint: {error}"
            ) from error


def _status(enum: type[StatusT], value: Any) -> StatusT:
    try:
        return enum(value)
    except ValueError as error:
        raise PaymentGatewayError(f"unexpected Stripe status {value!r}") from error


def _payment_intent_info(intent: stripe.PaymentIntent) -> PaymentIntentInfo:
    data = intent.to_dict()
    if data.get("currency") != CURRENCY:
        raise PaymentGatewayError(f"payment intent {data.get('id')} is not in rupiah")
    error = data.get("last_payment_error") or {}
    return PaymentIntentInfo(
        id=data["id"],
        client_secret=data["client_secret"],
        status=_status(IntentStatus, data.get("status")),
        amount_idr=from_stripe_amount(data["amount"]),
        order_reference=(data.get("metadata") or {}).get("order_reference"),
        customer_id=_id_of(data.get("customer")),
        payment_method_id=_id_of(data.get("payment_method")),
        failure_code=error.get("decline_code") or error.get("code"),
        failure_message=error.get("message"),
    )


def _card_setup_info(setup: stripe.SetupIntent) -> CardSetupInfo:
    data = setup.to_dict()
    return CardSetupInfo(
        id=data["id"],
        client_secret=data["client_secret"],
        status=_status(IntentStatus, data.get("status")),
        customer_id=_id_of(data.get("customer")),
        payment_method_id=_id_of(data.get("payment_method")),
    )


def gateway_from_config(config: Mapping[str, Any] | None = None) -> StripeGateway:
    """The gateway for the given settings, or for the current app (built once per app)."""
    if config is not None:
        return _gateway_from_settings(config)
    return once_per_app("stripe_gateway", _gateway_from_settings)


def _gateway_from_settings(config: Mapping[str, Any]) -> StripeGateway:
    return StripeGateway(
        secret_key=config["STRIPE_SECRET_KEY"],
        webhook_secret=config["STRIPE_WEBHOOK_SECRET"],
        api_base=config.get("STRIPE_API_BASE"),
    )
