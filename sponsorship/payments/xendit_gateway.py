"""Payung's only door to Xendit: QRIS, bank virtual accounts and e-wallets, their refunds, and
the callbacks Xendit sends when money arrives.

Why Xendit and not Midtrans: both offer QRIS, VAs for BCA, BNI, BRI and Mandiri, and
e-wallets, but Midtrans' ``midtransclient`` hard-codes its base URLs in class constants, so it
cannot be pointed at a local stand-in. Xendit's ``xendit-python`` (generated from its OpenAPI
description) takes the base URL in ``xendit.Configuration(host=...)``; in development and tests
it talks to the partner sandbox (``sandbox/xendit/``) exactly as ``stripe`` talks to
localstripe.

This module alone imports ``xendit``; everything else speaks the types of ``gateway_types``.
Xendit sends rupiah as plain numbers (IDR has no minor unit at Xendit), so Rp16.800 is 16800.
Callbacks carry the callback token of our Xendit account in ``x-callback-token``; nothing
else in them is trusted without asking Xendit again (``retrieve_payment``).
"""

import hmac
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import urllib3
import xendit
from xendit.apis import PaymentRequestApi, RefundApi
from xendit.payment_request.model.e_wallet_channel_code import EWalletChannelCode
from xendit.payment_request.model.e_wallet_channel_properties import EWalletChannelProperties
from xendit.payment_request.model.e_wallet_parameters import EWalletParameters
from xendit.payment_request.model.payment_callback import PaymentCallback
from xendit.payment_request.model.payment_method_parameters import PaymentMethodParameters
from xendit.payment_request.model.payment_method_reusability import PaymentMethodReusability
from xendit.payment_request.model.payment_method_type import PaymentMethodType
from xendit.payment_request.model.payment_request import PaymentRequest
from xendit.payment_request.model.payment_request_currency import PaymentRequestCurrency
from xendit.payment_request.model.payment_request_parameters import PaymentRequestParameters
from xendit.payment_request.model.qr_code_channel_code import QRCodeChannelCode
from xendit.payment_request.model.qr_code_channel_properties import QRCodeChannelProperties
from xendit.payment_request.model.qr_code_parameters import QRCodeParameters
from xendit.payment_request.model.virtual_account_channel_code import VirtualAccountChannelCode
from xendit.payment_request.model.virtual_account_channel_properties import (
    VirtualAccountChannelProperties,
)
from xendit.payment_request.model.virtual_account_parameters import VirtualAccountParameters
from xendit.refund.model.create_refund import CreateRefund

from core.per_app import once_per_app
from sponsorship.payments.gateway_types import (
    LOCAL_CHANNELS,
    InvalidWebhook,
    LocalCallback,
    LocalPaymentInfo,
    LocalStatus,
    PaymentGatewayError,
    PayMethod,
    RefundInfo,
    RefundStatus,
    whole_rupiah,
)

CURRENCY = "IDR"
CALLBACK_TOKEN_HEADER = "x-callback-token"  # noqa: S105 (a header name)
# What Xendit calls each method.
_XENDIT_TYPES = {
    PayMethod.QRIS: "QR_CODE",
    PayMethod.VA: "VIRTUAL_ACCOUNT",
    PayMethod.EWALLET: "EWALLET",
}
_METHODS = {xendit_type: method for method, xendit_type in _XENDIT_TYPES.items()}
_REFUND_STATUSES = {
    "SUCCEEDED": RefundStatus.SUCCEEDED,
    "PENDING": RefundStatus.PENDING,
    "FAILED": RefundStatus.FAILED,
    "CANCELLED": RefundStatus.CANCELED,
}


@contextmanager
def _xendit_errors_translated() -> Iterator[None]:
    try:
        yield
    except xendit.XenditSdkException as error:
        raise PaymentGatewayError(
            f"Xendit answered {error.status}: {error.errorCode} {error.errorMessage}".strip()
        ) from error
    except (xendit.OpenApiException, urllib3.exceptions.HTTPError) as error:
        raise PaymentGatewayError(f"Xendit could not be used: {error}") from error


class XenditGateway:
    def __init__(
        self,
        *,
        secret_key: str,
        callback_token: str,
        api_base: str | None = None,
        timeout_seconds: float = 30,
    ) -> None:
        configuration = xendit.Configuration(host=api_base.rstrip("/") if api_base else None)
        configuration.api_key = secret_key
        self._client = xendit.ApiClient(configuration)
        self._payment_requests = PaymentRequestApi(self._client)
        self._refunds = RefundApi(self._client)
        self._callback_token = callback_token
        self._timeout = timeout_seconds

    # --- payments ---------------------------------------------------------------------------

    def create_payment(
        self,
        *,
        amount_idr: int,
        order_reference: str,
        method: PayMethod,
        channel: str,
        idempotency_key: str,
        expires_at: datetime | None = None,
        return_url: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> LocalPaymentInfo:
        """A one-time payment request: a QRIS code, a VA number or an e-wallet page.

        ``expires_at`` (aware) bounds a QRIS code or VA; ``return_url`` is where the e-wallet
        sends the sponsor back. Raises ValueError for a method or channel Payung does not take.
        """
        if type(amount_idr) is not int or amount_idr <= 0:
            raise ValueError(f"amount_idr must be a positive whole number: {amount_idr!r}")
        if channel not in LOCAL_CHANNELS.get(method, ()):
            raise ValueError(f"{method!r} has no channel {channel!r}")
        parameters = PaymentRequestParameters(
            currency=PaymentRequestCurrency(CURRENCY),
            amount=float(amount_idr),
            reference_id=order_reference,
            payment_method=_method_parameters(method, channel, expires_at, return_url),
            metadata=dict(metadata or {}),
        )
        with _xendit_errors_translated():
            created = self._payment_requests.create_payment_request(
                idempotency_key=idempotency_key,
                payment_request_parameters=parameters,
                _request_timeout=self._timeout,
            )
        return _payment_info(created)

    def retrieve_payment(self, payment_request_id: str) -> LocalPaymentInfo:
        with _xendit_errors_translated():
            found = self._payment_requests.get_payment_request_by_id(
                payment_request_id, _request_timeout=self._timeout
            )
        return _payment_info(found)

    def simulate_payment(self, payment_request_id: str) -> str:
        """Test mode only: pay a QRIS code or VA as if the sponsor's bank had (Xendit's
        "simulate payment"); the money is then announced by a callback."""
        with _xendit_errors_translated():
            simulated = self._payment_requests.simulate_payment_request_payment(
                payment_request_id, _request_timeout=self._timeout
            )
        return str(simulated.get("status") or "")

    def refund(
        self, *, payment_intent_id: str, amount_idr: int, idempotency_key: str, reason: str
    ) -> RefundInfo:
        """Give back part or all of a paid payment request (``payment_intent_id`` is its id,
        named as for Stripe so that refunds call both gateways alike). ``reason`` is ours, in
        the metadata: Xendit's own ``reason`` takes fixed values."""
        body = CreateRefund(
            payment_request_id=payment_intent_id,
            reference_id=idempotency_key,
            amount=float(amount_idr),
            currency=CURRENCY,
            reason="OTHERS",
            metadata={"reason": reason},
        )
        with _xendit_errors_translated():
            refund = self._refunds.create_refund(
                idempotency_key=idempotency_key, create_refund=body, _request_timeout=self._timeout
            )
        status = _REFUND_STATUSES.get(str(refund.get("status") or "PENDING"))
        if status is None or not refund.get("id"):
            raise PaymentGatewayError(f"unexpected Xendit refund {refund.get('id')!r}")
        return RefundInfo(
            id=refund["id"],
            payment_intent_id=refund.get("payment_request_id") or payment_intent_id,
            amount_idr=whole_rupiah(refund.get("amount")),
            status=status,
        )

    # --- callbacks --------------------------------------------------------------------------

    def parse_callback(self, payload: bytes, token: str | None) -> LocalCallback:
        """Check the callback token, then read a payment callback.

        Raises InvalidWebhook for a missing or wrong token or a body that is not a Xendit
        payment callback (checked against the SDK's own ``PaymentCallback`` model).
        """
        if not token or not hmac.compare_digest(token.encode(), self._callback_token.encode()):
            raise InvalidWebhook("missing or wrong x-callback-token")
        try:
            body = json.loads(payload)
            callback = self._client.deserialize(_Raw(payload), (PaymentCallback,), True)
            data = body["data"]
            found = LocalCallback(
                id=f"{callback.event}:{data['id']}",
                event=callback.event,
                payment_request_id=data["payment_request_id"],
                reference_id=data["reference_id"],
                amount_idr=whole_rupiah(data["amount"]),
                currency=data["currency"],
                status=data["status"],
            )
        except (ValueError, KeyError, TypeError, xendit.OpenApiException) as error:
            raise InvalidWebhook(f"not a Xendit payment callback: {error}") from error
        except PaymentGatewayError as error:
            raise InvalidWebhook(str(error)) from error
        if not all(isinstance(v, str) and v for v in (found.payment_request_id, found.status)):
            raise InvalidWebhook("not a Xendit payment callback: no payment request")
        return found


class _Raw:
    """What ``ApiClient.deserialize`` reads a body from (an HTTP answer, normally)."""

    def __init__(self, data: bytes) -> None:
        self.data = data


def _method_parameters(
    method: PayMethod, channel: str, expires_at: datetime | None, return_url: str | None
) -> PaymentMethodParameters:
    if expires_at is not None and expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    extra: dict[str, Any] = {}
    if method is PayMethod.QRIS:
        properties = {"expires_at": expires_at} if expires_at else {}
        extra["qr_code"] = QRCodeParameters(
            channel_code=QRCodeChannelCode(channel),
            channel_properties=QRCodeChannelProperties(**properties),
        )
    elif method is PayMethod.VA:
        properties = {"expires_at": expires_at} if expires_at else {}
        extra["virtual_account"] = VirtualAccountParameters(
            channel_code=VirtualAccountChannelCode(channel),
            channel_properties=VirtualAccountChannelProperties(
                customer_name="Payung", **properties
            ),
        )
    else:
        urls = (
            {"success_return_url": return_url, "failure_return_url": return_url}
            if return_url
            else {}
        )
        extra["ewallet"] = EWalletParameters(
            channel_code=EWalletChannelCode(channel),
            channel_properties=EWalletChannelProperties(**urls),
        )
    return PaymentMethodParameters(
        type=PaymentMethodType(_XENDIT_TYPES[method]),
        reusability=PaymentMethodReusability("ONE_TIME_USE"),
        **extra,
    )


def _payment_info(found: PaymentRequest) -> LocalPaymentInfo:
    if str(found.currency) != CURRENCY:
        raise PaymentGatewayError(f"payment request {found.id} is not in rupiah")
    method = _METHODS.get(str(found.payment_method.type))
    if method is None:
        raise PaymentGatewayError(f"payment request {found.id} is not QRIS, VA or e-wallet")
    try:
        status = LocalStatus(str(found.status))
    except ValueError as error:
        raise PaymentGatewayError(f"unexpected Xendit status {found.status!r}") from error
    channel = va_number = qr_string = redirect_url = expires_at = None
    pm = found.payment_method
    if method is PayMethod.QRIS and pm.get("qr_code"):
        channel = pm.qr_code.get("channel_code")
        properties = pm.qr_code.get("channel_properties")
        qr_string = properties.get("qr_string") if properties else None
        expires_at = properties.get("expires_at") if properties else None
    elif method is PayMethod.VA and pm.get("virtual_account"):
        channel = pm.virtual_account.channel_code
        properties = pm.virtual_account.channel_properties
        va_number = properties.get("virtual_account_number")
        expires_at = properties.get("expires_at")
    elif method is PayMethod.EWALLET and pm.get("ewallet"):
        channel = pm.ewallet.get("channel_code")
        for action in found.get("actions") or []:
            if action.action == "AUTH" and action.url_type in ("WEB", "MOBILE") and action.url:
                redirect_url = action.url
                break
    return LocalPaymentInfo(
        id=found.id,
        reference_id=found.reference_id,
        amount_idr=whole_rupiah(found.get("amount")),
        status=status,
        method=method,
        channel=str(channel or ""),
        va_number=va_number,
        qr_string=qr_string,
        redirect_url=redirect_url,
        expires_at=expires_at.astimezone(UTC) if isinstance(expires_at, datetime) else None,
        failure_code=found.get("failure_code"),
    )


def xendit_from_config(config: Mapping[str, Any] | None = None) -> XenditGateway:
    """The gateway for the given settings, or for the current app (built once per app)."""
    if config is not None:
        return _gateway_from_settings(config)
    return once_per_app("xendit_gateway", _gateway_from_settings)


def _gateway_from_settings(config: Mapping[str, Any]) -> XenditGateway:
    return XenditGateway(
        secret_key=config["XENDIT_SECRET_KEY"],
        callback_token=config["XENDIT_CALLBACK_TOKEN"],
        api_base=config.get("XENDIT_API_BASE"),
    )
