"""Paying an order with a card through Stripe, and learning that it was paid.

The card flow works with Stripe and with localstripe's Stripe.js mock alike (see
devtools/LOCALSTRIPE.md): the pay page hands Stripe.js a SetupIntent; the browser confirms it
with the typed card; the server confirms the order's PaymentIntent with that card; a card that
wants 3-D Secure comes back to the browser for ``confirmCardPayment``. Whoever learns first
that the intent succeeded — the confirm call, the return page or a webhook — retrieves the
intent again from Stripe and calls ``mark_order_paid``, which only one of them wins.

Services here flush; the view commits. Stripe calls happen before the writes they lead to, so
no database lock is held while Stripe answers.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select, update

from accounts.models import User
from core.signals import order_paid
from extensions import db, utcnow
from sponsorship.checkout.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    StripeCustomer,
    claim_order_transition,
    insert_or_ignore,
    mark_payment_succeeded,
)
from sponsorship.checkout.orders import latest_payment
from sponsorship.checkout.services import CheckoutError, restore_cart
from sponsorship.payments.declines import decline_text
from sponsorship.payments.gateway_types import (
    CardSetupInfo,
    IntentStatus,
    PaymentDeclined,
    PaymentGatewayError,
    PaymentIntentInfo,
)
from sponsorship.payments.gateways import STRIPE, record_payment
from sponsorship.payments.stripe_gateway import (
    StripeGateway,
    gateway_from_config,
)

log = logging.getLogger(__name__)

MAX_CARD_ATTEMPTS = 10
CONFIRM_GRACE = timedelta(hours=1)  # a pay page opened just before expiry may still pay


class PaymentMismatch(Exception):
    """A payment that does not belong to the order or not for its amount: never marks paid."""


def start_fulfillment(order: Order) -> None:
    """Hand a just-paid order to fulfillment, in the transaction that marked it paid: the
    ``order_paid`` signal, which fulfillment (a package above this one) receives."""
    if not order_paid.receivers:
        raise RuntimeError("nothing receives order_paid: fulfillment is not registered")
    order_paid.send(order)


def mark_order_paid(order: Order, intent: PaymentIntentInfo) -> bool:
    """Mark ``order`` paid by ``intent`` (as just retrieved from Stripe) and start its
    fulfillment; True only for the one call that did it.

    The gateway only returns rupiah intents, so the currency is checked by construction.
    Raises PaymentMismatch when the intent names another order or another amount.
    """
    if intent.status is not IntentStatus.SUCCEEDED:
        return False
    if intent.order_reference != order.reference or intent.amount_idr != order.total_idr:
        raise PaymentMismatch(
            f"intent {intent.id} ({intent.order_reference}, {intent.amount_idr}) "
            f"does not pay order {order.reference} ({order.total_idr})"
        )
    # PostgreSQL: wait here for anyone else settling this order. SQLite has no row locks;
    # the guarded UPDATE below is atomic there (one writer at a time).
    db.session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    won = claim_order_transition(order.id, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID)
    db.session.refresh(order)
    if not won:
        if order.status == OrderStatus.CANCELLED:
            log.error("payment %s succeeded for cancelled order %s", intent.id, order.reference)
        return False
    mark_payment_succeeded(intent.id)
    start_fulfillment(order)
    db.session.flush()
    return True


class PaymentError(Exception):
    """The payment cannot go ahead; ``message`` is for the sponsor. Nothing was charged."""

    def __init__(self, message: LazyString) -> None:
        super().__init__(message)
        self.message = message


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    REQUIRES_ACTION = "requires_action"  # the browser must let the sponsor authenticate
    DECLINED = "declined"
    PROCESSING = "processing"
    UNPAID = "unpaid"  # nothing tried yet (or the attempt was abandoned)
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class PaySession:
    """What the pay page gives Stripe.js."""

    setup_client_secret: str
    amount_idr: int


@dataclass(frozen=True)
class PaymentResult:
    outcome: Outcome
    message: LazyString | str | None = None
    client_secret: str | None = None  # for confirmCardPayment (3-D Secure)
    setup_client_secret: str | None = None  # a fresh SetupIntent for the next card


def _gateway() -> StripeGateway:
    return gateway_from_config()


def customer_for(sponsor: User) -> str:
    """The sponsor's Stripe customer id, created at Stripe the first time."""
    known = db.session.scalar(
        select(StripeCustomer.customer_id).where(StripeCustomer.user_id == sponsor.id)
    )
    if known:
        return known
    customer_id = _gateway().create_customer(
        email=sponsor.email or "",
        name=sponsor.display_name,
        idempotency_key=f"customer-user-{sponsor.id}",
    )
    insert_or_ignore(
        StripeCustomer,
        {"user_id": sponsor.id, "customer_id": customer_id, "created_at": utcnow()},
        "user_id",
    )
    return db.session.scalars(
        select(StripeCustomer.customer_id).where(StripeCustomer.user_id == sponsor.id)
    ).one()


def is_expired(order: Order, *, grace: timedelta = timedelta(0)) -> bool:
    return order.expires_at is not None and utcnow() > order.expires_at + grace


def open_payment(order: Order, sponsor: User) -> PaySession:
    """Make sure the order has its PaymentIntent (one per order) and a SetupIntent for the
    card about to be typed. Raises PaymentError when the order cannot be paid (any more)."""
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise PaymentError(_l("This order is not waiting for a payment."))
    if is_expired(order):
        raise PaymentError(_l("The prices of this order have expired."))
    gateway = _gateway()
    customer_id = customer_for(sponsor)
    payment = _payment_for(order, customer_id)
    if payment.attempts > 1:
        # A card was tried before: it may have gone through while no one was looking (the
        # browser closed during 3-D Secure, a webhook still on its way).
        result = settle(order, payment)
        if result.outcome in (Outcome.SUCCEEDED, Outcome.PROCESSING):
            raise PaymentError(_l("This order has just been paid."))
    setup = _usable_setup(gateway, payment, customer_id, order)
    return PaySession(setup_client_secret=setup.client_secret, amount_idr=order.total_idr)


def _payment_for(order: Order, customer_id: str) -> Payment:
    payment = latest_payment(order, STRIPE)
    if payment is not None:
        return payment
    try:
        intent = _gateway().create_payment_intent(
            amount_idr=order.total_idr,
            order_reference=order.reference,
            idempotency_key=f"order-{order.reference}-payment-intent",
            metadata={"order_id": str(order.id), "workers": str(order.worker_count)},
            customer_id=customer_id,
        )
    except PaymentGatewayError as error:
        log.warning("payment intent for %s refused: %s", order.reference, error)
        raise PaymentError(_l("The payment service is not available. Please try again.")) from None
    return record_payment(
        order.id, gateway=STRIPE, provider_payment_id=intent.id, amount_idr=intent.amount_idr
    )


def _usable_setup(
    gateway: StripeGateway, payment: Payment, customer_id: str, order: Order
) -> CardSetupInfo:
    """The SetupIntent still waiting for a card, or a new one (after a card was used)."""
    if payment.setup_intent_id:
        try:
            setup = gateway.retrieve_card_setup(payment.setup_intent_id)
        except PaymentGatewayError:
            setup = None
        if setup is not None and setup.status is IntentStatus.REQUIRES_PAYMENT_METHOD:
            return setup
    attempt = _next_attempt(payment)
    try:
        setup = gateway.create_card_setup(
            customer_id=customer_id,
            idempotency_key=f"card-setup-{order.reference}-{attempt}",
        )
    except PaymentGatewayError as error:
        log.warning("card setup for %s refused: %s", order.reference, error)
        raise PaymentError(_l("The payment service is not available. Please try again.")) from None
    payment.setup_intent_id = setup.id
    db.session.flush()
    return setup


def _next_attempt(payment: Payment) -> int:
    """Count one more attempt, atomically (two tabs never share an idempotency key)."""
    attempt = db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id)
        .values(attempts=Payment.attempts + 1)
        .returning(Payment.attempts)
    ).scalar_one()
    db.session.refresh(payment, ["attempts"])
    return attempt


def confirm_card(order: Order, sponsor: User, setup_intent_id: str) -> PaymentResult:
    """Pay the order with the card the browser just gave its SetupIntent.

    Declines come back as a result with the card issuer's message and a new SetupIntent for
    another card; the order stays unpaid. Raises PaymentError when the order cannot be paid.
    """
    if order.status != OrderStatus.AWAITING_PAYMENT:
        if order.is_paid:
            return PaymentResult(Outcome.SUCCEEDED)
        raise PaymentError(_l("This order is not waiting for a payment."))
    if is_expired(order, grace=CONFIRM_GRACE):
        raise PaymentError(_l("The prices of this order have expired."))
    payment = latest_payment(order, STRIPE)
    customer_id = customer_for(sponsor)
    if payment is None or payment.setup_intent_id != setup_intent_id:
        raise PaymentError(_l("This card form is out of date. Please reload the page."))
    if payment.attempts >= MAX_CARD_ATTEMPTS:
        raise PaymentError(_l("Too many cards were tried for this order. Please contact us."))
    gateway = _gateway()
    try:
        setup = gateway.retrieve_card_setup(setup_intent_id)
    except PaymentGatewayError:
        raise PaymentError(_l("The payment service is not available. Please try again.")) from None
    if (
        setup.customer_id != customer_id
        or setup.status is not IntentStatus.SUCCEEDED
        or not setup.payment_method_id
    ):
        raise PaymentError(_l("The card was not accepted. Please check it and try again."))
    attempt = _next_attempt(payment)
    try:
        intent = gateway.confirm_payment_intent(
            payment_intent_id=payment.provider_payment_id,
            payment_method_id=setup.payment_method_id,
            idempotency_key=f"pay-{order.reference}-{attempt}",
        )
    except PaymentDeclined as declined:
        _record_failure(payment, declined.decline_code)
        next_setup = _usable_setup(gateway, payment, customer_id, order)
        return PaymentResult(
            Outcome.DECLINED,
            message=decline_text(declined.decline_code),
            setup_client_secret=next_setup.client_secret,
        )
    except PaymentGatewayError as error:
        log.warning("confirming %s failed: %s", order.reference, error)
        raise PaymentError(_l("The payment service is not available. Please try again.")) from None
    if intent.status is IntentStatus.REQUIRES_ACTION:
        return PaymentResult(Outcome.REQUIRES_ACTION, client_secret=intent.client_secret)
    return settle(order, payment)


def _record_failure(payment: Payment, decline_code: str | None) -> None:
    """Keep why the card was refused as Stripe's code: pages show it in our words
    (``declines.decline_text``), never Stripe's English."""
    payment.transition(PaymentStatus.FAILED)
    payment.failure_message = (decline_code or "card_declined")[:200]
    db.session.flush()


def settle(order: Order, payment: Payment) -> PaymentResult:
    """Retrieve the order's intent from Stripe and record what it says: paid (once), declined,
    cancelled, or still on its way."""
    try:
        intent = _gateway().retrieve_payment_intent(payment.provider_payment_id)
    except PaymentGatewayError:
        raise PaymentError(_l("The payment service is not available. Please try again.")) from None
    return apply_intent(order, payment, intent)


def apply_intent(order: Order, payment: Payment, intent: PaymentIntentInfo) -> PaymentResult:
    """Record the state of ``intent`` (freshly retrieved) for its order. Never moves a paid
    order backwards, so stale or repeated news is harmless."""
    if intent.status is IntentStatus.SUCCEEDED:
        try:
            mark_order_paid(order, intent)
        except PaymentMismatch:
            log.error("payment %s does not match order %s", intent.id, order.reference)
            return PaymentResult(Outcome.UNPAID)
        if order.status == OrderStatus.CANCELLED:
            return PaymentResult(Outcome.CANCELLED)
        return PaymentResult(Outcome.SUCCEEDED)
    if order.status != OrderStatus.AWAITING_PAYMENT:
        return PaymentResult(Outcome.SUCCEEDED if order.is_paid else Outcome.CANCELLED)
    if intent.status is IntentStatus.CANCELED:
        if claim_order_transition(order.id, OrderStatus.AWAITING_PAYMENT, OrderStatus.CANCELLED):
            payment.transition(PaymentStatus.CANCELLED)
            db.session.refresh(order)
        db.session.flush()
        return PaymentResult(Outcome.CANCELLED)
    if intent.status in (IntentStatus.PROCESSING, IntentStatus.REQUIRES_CAPTURE):
        return PaymentResult(Outcome.PROCESSING)
    if intent.status is IntentStatus.REQUIRES_ACTION:
        return PaymentResult(Outcome.REQUIRES_ACTION, client_secret=intent.client_secret)
    if intent.failure_code or intent.failure_message:
        _record_failure(payment, intent.failure_code)
        return PaymentResult(Outcome.DECLINED, message=decline_text(intent.failure_code))
    return PaymentResult(Outcome.UNPAID)


def sync_order_payment(order: Order) -> PaymentResult:
    """The return page: ask Stripe how the order's payment stands (no waiting for a webhook)."""
    if order.is_paid:
        return PaymentResult(Outcome.SUCCEEDED)
    if order.status == OrderStatus.CANCELLED:
        return PaymentResult(Outcome.CANCELLED)
    payment = latest_payment(order, STRIPE)
    if payment is None:
        return PaymentResult(Outcome.UNPAID)
    return settle(order, payment)


def return_to_cart(order: Order, sponsor: User) -> int:
    """Cancel an unpaid order (and its PaymentIntent) and put its workers back in the cart.

    Returns how many lines went back. Raises CheckoutError when the order turns out to be
    paid (then it is marked paid) or cannot be cancelled now.
    """
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise CheckoutError(_l("Only an order waiting for payment can go back to the cart."))
    payment = latest_payment(order, STRIPE)
    if payment is not None:
        try:
            _gateway().cancel_payment_intent(payment.provider_payment_id)
        except PaymentGatewayError:
            result = settle(order, payment)
            if result.outcome is Outcome.SUCCEEDED:
                raise CheckoutError(_l("This order has just been paid.")) from None
            if result.outcome is not Outcome.CANCELLED:
                raise CheckoutError(
                    _l("The payment service is not available. Please try again.")
                ) from None
        else:
            payment.transition(PaymentStatus.CANCELLED)
    moved = claim_order_transition(order.id, OrderStatus.AWAITING_PAYMENT, OrderStatus.CANCELLED)
    db.session.refresh(order)
    if not moved and order.status != OrderStatus.CANCELLED:
        raise CheckoutError(_l("This order has just been paid."))
    return restore_cart(order, sponsor)


def payment_config() -> dict[str, str]:
    return {
        "publishable_key": current_app.config["STRIPE_PUBLISHABLE_KEY"],
        "js_url": current_app.config["STRIPE_JS_URL"],
    }
