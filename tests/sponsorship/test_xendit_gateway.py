"""The Xendit adapter: the real ``xendit-python`` SDK against the partner sandbox playing
Xendit over HTTP. QRIS, VA and e-wallet payment requests, simulated payments, expiry, refunds,
keys, faults, and the callback token."""

import json
from datetime import timedelta

import pytest

from extensions import utcnow
from sponsorship.payments.gateway_types import (
    InvalidWebhook,
    LocalStatus,
    PaymentGatewayError,
    PayMethod,
    RefundStatus,
)
from sponsorship.payments.xendit_gateway import XenditGateway
from tests.sponsorship.xendit_support import CALLBACK_TOKEN, SECRET_KEY, xendit_fixture  # noqa: F401


@pytest.fixture
def gateway(xendit):
    return XenditGateway(
        secret_key=SECRET_KEY, callback_token=CALLBACK_TOKEN, api_base=xendit.api_base
    )


def create(gateway, method, channel, *, key, amount=17_800, reference="PY-TEST0001", **extra):
    return gateway.create_payment(
        amount_idr=amount,
        order_reference=reference,
        method=method,
        channel=channel,
        idempotency_key=key,
        **extra,
    )


def test_a_qris_request_has_a_qr_string_for_the_amount_and_an_expiry(gateway):
    deadline = utcnow() + timedelta(hours=2)
    info = create(gateway, PayMethod.QRIS, "QRIS", key="k-qris", expires_at=deadline)
    assert info.id.startswith("pr-")
    assert info.status is LocalStatus.PENDING
    assert info.method is PayMethod.QRIS and info.channel == "QRIS"
    assert info.qr_string.startswith("000201") and "17800" in info.qr_string
    assert abs(info.expires_at - deadline) < timedelta(seconds=1)
    assert info.va_number is None and info.redirect_url is None


@pytest.mark.parametrize("bank", ["BCA", "BNI", "BRI", "MANDIRI"])
def test_each_bank_gives_its_own_va_number_per_request(gateway, bank):
    first = create(gateway, PayMethod.VA, bank, key=f"k-{bank}-1")
    second = create(gateway, PayMethod.VA, bank, key=f"k-{bank}-2", reference="PY-TEST0002")
    assert first.channel == bank and first.va_number.isdigit()
    assert first.va_number != second.va_number
    assert first.expires_at > utcnow()


def test_an_e_wallet_request_sends_the_customer_to_the_wallet_page(gateway):
    info = create(
        gateway, PayMethod.EWALLET, "DANA", key="k-dana", return_url="http://127.0.0.1/back"
    )
    assert info.status is LocalStatus.REQUIRES_ACTION
    assert info.redirect_url.endswith(f"/xendit/ewallet/{info.id}")


def test_the_same_idempotency_key_gives_the_same_request(gateway):
    first = create(gateway, PayMethod.VA, "BNI", key="k-same")
    again = create(gateway, PayMethod.VA, "BNI", key="k-same")
    assert again.id == first.id and again.va_number == first.va_number


def test_a_channel_payung_does_not_take_is_refused_before_any_call(gateway, xendit):
    with pytest.raises(ValueError):
        create(gateway, PayMethod.VA, "PERMATA", key="k-permata")
    with pytest.raises(ValueError):
        create(gateway, PayMethod.QRIS, "QRIS", key="k-zero", amount=0)


def test_a_simulated_payment_succeeds_once_and_sends_one_callback(gateway, xendit):
    info = create(gateway, PayMethod.VA, "BRI", key="k-sim")
    assert gateway.simulate_payment(info.id) == "COMPLETED"
    assert gateway.retrieve_payment(info.id).status is LocalStatus.SUCCEEDED
    gateway.simulate_payment(info.id)  # again: nothing more happens
    sent = xendit.callbacks_for(info.id)
    assert len(sent) == 1
    body = json.loads(sent[0]["body"])
    assert body["event"] == "payment.succeeded"
    assert body["data"]["amount"] == 17_800 and body["data"]["currency"] == "IDR"


def test_an_expired_request_cannot_be_paid_any_more(gateway, xendit):
    info = create(gateway, PayMethod.QRIS, "QRIS", key="k-exp")
    assert xendit.post(f"/_expire/{info.id}").status_code == 200
    assert gateway.retrieve_payment(info.id).status is LocalStatus.EXPIRED
    with pytest.raises(PaymentGatewayError, match="EXPIRED"):
        gateway.simulate_payment(info.id)


def test_refunds_give_back_at_most_what_was_paid(gateway):
    info = create(gateway, PayMethod.QRIS, "QRIS", key="k-ref")
    with pytest.raises(PaymentGatewayError, match="INELIGIBLE"):
        gateway.refund(payment_intent_id=info.id, amount_idr=1, idempotency_key="r0", reason="x")
    gateway.simulate_payment(info.id)
    part = gateway.refund(
        payment_intent_id=info.id, amount_idr=7_800, idempotency_key="r1", reason="part"
    )
    assert part.status is RefundStatus.SUCCEEDED and part.amount_idr == 7_800
    again = gateway.refund(
        payment_intent_id=info.id, amount_idr=7_800, idempotency_key="r1", reason="part"
    )
    assert again.id == part.id  # the same key is the same refund
    with pytest.raises(PaymentGatewayError, match="REFUND_AMOUNT_EXCEEDED"):
        gateway.refund(
            payment_intent_id=info.id, amount_idr=10_001, idempotency_key="r2", reason="more"
        )


def test_a_wrong_key_and_a_sandbox_that_is_down_are_gateway_errors(xendit, gateway):
    stranger = XenditGateway(secret_key="sk_wrong", callback_token="t", api_base=xendit.api_base)
    with pytest.raises(PaymentGatewayError, match="401"):
        create(stranger, PayMethod.QRIS, "QRIS", key="k-key")
    xendit.sandbox.set_faults(down=True)
    with pytest.raises(PaymentGatewayError, match="503"):
        create(gateway, PayMethod.QRIS, "QRIS", key="k-down")
    xendit.sandbox.set_faults()
    assert create(gateway, PayMethod.QRIS, "QRIS", key="k-down").status is LocalStatus.PENDING


def test_a_callback_is_read_only_with_our_token(gateway, xendit):
    info = create(gateway, PayMethod.VA, "MANDIRI", key="k-cb")
    gateway.simulate_payment(info.id)
    payload = xendit.callbacks_for(info.id)[0]["body"].encode()
    callback = gateway.parse_callback(payload, CALLBACK_TOKEN)
    assert callback.payment_request_id == info.id
    assert callback.amount_idr == 17_800 and callback.status == "SUCCEEDED"
    assert callback.id.startswith("payment.succeeded:py-")
    for token in (None, "", "wrong-token", CALLBACK_TOKEN + "x"):
        with pytest.raises(InvalidWebhook):
            gateway.parse_callback(payload, token)
    for broken in (b"{}", b"not json", json.dumps({"event": "payment.succeeded"}).encode()):
        with pytest.raises(InvalidWebhook):
            gateway.parse_callback(broken, CALLBACK_TOKEN)
