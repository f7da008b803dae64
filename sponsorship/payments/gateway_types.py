"""What Payung knows of its payment gateways, in its own terms: integer rupiah, statuses, the
intents, card setups, local payments, refunds and webhook events the gateways report, and
their errors.

No gateway library is imported here; ``stripe_gateway`` and ``xendit_gateway`` (the adapters,
the only modules that import ``stripe`` and ``xendit``) turn their SDKs' objects into these.
Stripe's API treats IDR as a two-decimal currency, so Rp16.800 travels as 1680000 and comes
back as 16800; Xendit sends plain rupiah.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

SEN_PER_RUPIAH = 100


class PaymentGatewayError(Exception):
    """Stripe could not be reached, refused the request, or answered something unexpected."""


class PaymentDeclined(Exception):
    """The card was declined or needs the cardholder, who is not there (off-session)."""

    def __init__(
        self, message: str, decline_code: str | None, payment_intent_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.decline_code = decline_code
        self.payment_intent_id = payment_intent_id


class InvalidWebhook(Exception):
    """A webhook request that is not a fresh, correctly signed Stripe event, or a Xendit
    callback without our callback token."""


class IntentStatus(StrEnum):
    """Where a Stripe PaymentIntent or SetupIntent stands (SetupIntents are never captured)."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    CANCELED = "canceled"
    SUCCEEDED = "succeeded"


class RefundStatus(StrEnum):
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class PaymentIntentInfo:
    id: str
    client_secret: str
    status: IntentStatus
    amount_idr: int
    order_reference: str | None = None
    customer_id: str | None = None
    payment_method_id: str | None = None
    # Why the last attempt failed (decline code when Stripe gives one), for the return page.
    failure_code: str | None = None
    failure_message: str | None = None


@dataclass(frozen=True, slots=True)
class CardSetupInfo:
    """A Stripe SetupIntent: the browser confirms it with Stripe.js to hand us a card."""

    id: str
    client_secret: str
    status: IntentStatus
    customer_id: str | None = None
    payment_method_id: str | None = None


@dataclass(frozen=True, slots=True)
class RefundInfo:
    id: str
    payment_intent_id: str
    amount_idr: int
    status: RefundStatus


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str
    type: str
    created: int  # Unix seconds, as Stripe sends it
    object_id: str | None
    object: dict[str, Any]


def to_stripe_amount(amount_idr: int) -> int:
    if type(amount_idr) is not int or amount_idr <= 0:
        raise ValueError(f"amount_idr must be a positive whole number of rupiah: {amount_idr!r}")
    return amount_idr * SEN_PER_RUPIAH


def from_stripe_amount(amount: int) -> int:
    rupiah, sen = divmod(amount, SEN_PER_RUPIAH)
    if sen:
        raise PaymentGatewayError(f"Stripe amount {amount} is not a whole number of rupiah")
    return rupiah


# --- local payments (Xendit): QRIS, virtual accounts, e-wallets ------------------------------


class PayMethod(StrEnum):
    CARD = "card"
    QRIS = "qris"
    VA = "va"
    EWALLET = "ewallet"


# The channels each local method offers: the bank of a VA, the e-wallet, QRIS for QRIS.
LOCAL_CHANNELS: dict[PayMethod, tuple[str, ...]] = {
    PayMethod.QRIS: ("QRIS",),
    PayMethod.VA: ("BCA", "BNI", "BRI", "MANDIRI"),
    PayMethod.EWALLET: ("OVO", "DANA", "SHOPEEPAY"),
}


class LocalStatus(StrEnum):
    """Where a Xendit payment request stands."""

    PENDING = "PENDING"  # waiting for the money (QRIS scanned, VA transfer)
    REQUIRES_ACTION = "REQUIRES_ACTION"  # the sponsor must approve in the e-wallet
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELED = "CANCELED"


@dataclass(frozen=True, slots=True)
class LocalPaymentInfo:
    """A Xendit payment request: what the sponsor pays with and what it stands at."""

    id: str
    reference_id: str
    amount_idr: int
    status: LocalStatus
    method: PayMethod
    channel: str
    va_number: str | None = None
    qr_string: str | None = None
    redirect_url: str | None = None
    expires_at: datetime | None = None  # aware UTC
    failure_code: str | None = None


@dataclass(frozen=True, slots=True)
class LocalCallback:
    """A verified Xendit payment callback. ``id`` is unique per event of a payment, so a
    callback delivered again has the same id."""

    id: str
    event: str
    payment_request_id: str
    reference_id: str
    amount_idr: int
    currency: str
    status: str


def whole_rupiah(amount: float | int | None) -> int:
    """Xendit sends rupiah as a JSON number; Payung only takes whole, positive ones."""
    if amount is None or isinstance(amount, bool) or amount <= 0 or int(amount) != amount:
        raise PaymentGatewayError(f"Xendit amount {amount!r} is not a whole number of rupiah")
    return int(amount)
