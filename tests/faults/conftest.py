"""Fault tests run against the real partner sandbox and a real localstripe, like fulfillment's."""

from collections.abc import Iterator
from typing import Any

import pytest

from fulfillment import clock
from tests.fulfillment.callback_support import receiver  # noqa: F401 (fixture)
from tests.fulfillment.conftest import fulfillment_config
from tests.sandbox_support import PartnerSandbox
from tests.stripe_support import LocalStripe


@pytest.fixture
def app_config(sandbox: PartnerSandbox, localstripe: LocalStripe) -> dict[str, Any]:
    return fulfillment_config(sandbox, localstripe)


@pytest.fixture(autouse=True)
def _real_clock_again() -> Iterator[None]:
    yield
    clock.reset()
