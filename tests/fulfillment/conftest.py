"""Fulfillment tests run against the real partner sandbox and a real localstripe."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fulfillment import clock
from tests.fulfillment.callback_support import receiver  # noqa: F401 (fixture)
from tests.sandbox_support import PartnerSandbox
from tests.stripe_support import LocalStripe


def fulfillment_config(sandbox: PartnerSandbox, localstripe: LocalStripe) -> dict[str, Any]:
    return {
        **localstripe.app_config(),
        "PARTNER_SANDBOX_FALLBACK": True,
        "PARTNER_SANDBOX_URL": sandbox.base_url,
        "PARTNER_SANDBOX_SECRETS": dict(sandbox.secrets),
        "PARTNER_API_MAX_TRIES": 2,
        "PARTNER_API_RETRY_BASE_S": 0.01,
        "FULFILLMENT_MAX_ATTEMPTS": 4,
    }


@pytest.fixture
def app_config(sandbox: PartnerSandbox, localstripe: LocalStripe) -> dict[str, Any]:
    return fulfillment_config(sandbox, localstripe)


@pytest.fixture(autouse=True)
def _real_clock_again() -> Iterator[None]:
    yield
    clock.reset()


@pytest.fixture
def pay(localstripe: LocalStripe) -> Callable[[int, str], str]:
    """``pay(total_idr, reference)``: a PaymentIntent paid by card at localstripe; its id."""

    def paid_intent(total_idr: int, reference: str) -> str:
        gateway = localstripe.gateway()
        try:
            intent = gateway.create_payment_intent(
                amount_idr=total_idr,
                order_reference=reference,
                idempotency_key=f"test-{reference}",
                metadata={},
            )
        finally:
            gateway.close()
        assert localstripe.pay_with_card(intent.id).status == "succeeded"
        return intent.id

    return paid_intent
