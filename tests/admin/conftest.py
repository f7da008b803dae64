"""Admin console tests: a signed-in admin, and paid orders whose payments are real
PaymentIntents at localstripe, so refunds go through Stripe's API as in production."""

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from accounts.models import Role, User
from extensions import db
from sponsorship.checkout.models import Order
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers


@pytest.fixture
def app_config(localstripe):
    return localstripe.app_config()


class StripeRefunds:
    """What localstripe holds for this test's payments: ``refunds`` lists every refund made
    against them, in rupiah."""

    def __init__(self, localstripe: Any) -> None:
        self.localstripe = localstripe
        self.intent_ids: list[str] = []

    def pay(self, total_idr: int, reference: str) -> str:
        gateway = self.localstripe.gateway()
        intent = gateway.create_payment_intent(
            amount_idr=total_idr,
            order_reference=reference,
            idempotency_key=f"admin-test-{reference}",
            metadata={},
        )
        gateway.close()
        assert self.localstripe.pay_with_card(intent.id).status == "succeeded"
        self.intent_ids.append(intent.id)
        return intent.id

    @property
    def refunds(self) -> list[dict[str, Any]]:
        found = []
        for intent_id in self.intent_ids:
            data = self.localstripe.request("GET", f"/v1/refunds?payment_intent={intent_id}")
            found += [
                {"payment_intent_id": intent_id, "amount_idr": refund["amount"] // 100}
                for refund in data["data"]
                if refund["payment_intent"] == intent_id
            ]
        return found


@pytest.fixture
def stripe_refunds(localstripe: Any) -> StripeRefunds:
    return StripeRefunds(localstripe)


@pytest.fixture
def admin_user(make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMIN, email="admin@payung.test")


@pytest.fixture
def admin(login_as: Callable[[User], FlaskClient], admin_user: User) -> FlaskClient:
    return login_as(admin_user)


@pytest.fixture
def paid_order(stripe_refunds: StripeRefunds) -> Callable[..., Order]:
    """``paid_order(workers=1, sponsor=None)``: a ComboFit order paid at localstripe (not
    fulfilled)."""

    def factory(workers: int = 1, **options: Any) -> Order:
        combo = make_combofit(codes=workers)
        order = make_paid_order(
            combo.bundle, make_workers(workers), pay=stripe_refunds.pay, **options
        )
        db.session.commit()
        return order

    return factory
