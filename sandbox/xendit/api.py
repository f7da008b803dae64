"""The Xendit endpoints Payung calls, under ``/xendit`` (Payung's ``XENDIT_API_BASE``).

- ``POST /payment_requests``: QRIS (a QR string), VA (a number per request) or e-wallet (an
  ``AUTH`` action whose URL is the sandbox's approval page), with an ``idempotency-key``;
- ``GET /payment_requests/<id>``: as it stands (pending ones expire at their ``expires_at``);
- ``POST /payment_requests/<id>/payments/simulate``: Xendit's test-mode "simulate payment";
- ``POST /refunds``: part or all of a paid request, never more than was paid;
- ``GET|POST /ewallet/<id>``: the page the customer approves (or refuses) an e-wallet payment on.

Keys are checked as Xendit does (HTTP basic, the secret key as user name). The partner
sandbox's fault switches (``/_faults``: down, error_rate, latency_ms, paths) apply here too.
Errors have Xendit's shape: ``{"error_code": ..., "message": ...}``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from flask import Blueprint, Response, jsonify, render_template_string, request

from sandbox.state import current_state
from sandbox.xendit import book, callbacks

bp = Blueprint("xendit", __name__, url_prefix="/xendit")

METHOD_KEYS = {"QR_CODE": "qr_code", "VIRTUAL_ACCOUNT": "virtual_account", "EWALLET": "ewallet"}
CHANNELS = {
    "QR_CODE": {"QRIS"},
    "VIRTUAL_ACCOUNT": set(book.VA_PREFIXES),
    "EWALLET": {"OVO", "DANA", "SHOPEEPAY"},
}


class XenditError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@bp.errorhandler(XenditError)
def _error(error: XenditError) -> Response:
    response = jsonify(error_code=error.code, message=error.message)
    response.status_code = error.status
    return response


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


@bp.before_request
def _check() -> None:
    """The fault switches, then the API key (the customer's pages need none)."""
    state = current_state()
    path = request.path
    if not path.startswith("/xendit/_") and state.faults.applies_to(path):
        faults = state.faults
        config = faults.config
        token = faults.request_token(request.method, path, request.headers.get("idempotency-key"))
        if config.down:
            state.ledger.count("faults.down")
            raise XenditError(503, "SERVER_ERROR", "the sandbox is down")
        if config.latency_ms:
            state.wait(config.latency_ms / 1000)
        if faults.hits("error", config.error_rate, token):
            state.ledger.count("faults.error")
            raise XenditError(503, "SERVER_ERROR", "try again later")
    if path.startswith(("/xendit/ewallet/", "/xendit/_")):
        return
    auth = request.authorization
    if auth is None or not (auth.username or "").startswith("xnd_"):
        raise XenditError(401, "INVALID_API_KEY", "API key is not authorized for this API")


def _body() -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"null")
    except ValueError:
        raise XenditError(400, "API_VALIDATION_ERROR", "body is not JSON") from None
    if not isinstance(body, dict):
        raise XenditError(400, "API_VALIDATION_ERROR", "body must be a JSON object")
    return body


def _idempotent(scope: str, build: Any) -> Response:
    """Answer a keyed POST once: the same key and body get the first answer again."""
    key = request.headers.get("idempotency-key", "").strip()
    if not key:
        return _answer(build())
    store = book.storage()
    fingerprint = hashlib.sha256(request.get_data()).hexdigest()
    with store.transaction():
        stored = store.get(book.IDEMPOTENCY_SCOPE, f"{scope}:{key}")
        if stored is not None:
            if stored["fingerprint"] != fingerprint:
                raise XenditError(409, "IDEMPOTENCY_ERROR", "key was used with another body")
            return _answer(stored["body"])
        body = build()
        store.put(
            book.IDEMPOTENCY_SCOPE, f"{scope}:{key}", {"fingerprint": fingerprint, "body": body}
        )
    return _answer(body)


@bp.post("/payment_requests")
def create_payment_request() -> Response:
    body = _body()
    method = body.get("payment_method")
    amount = body.get("amount")
    if body.get("currency") != "IDR":
        raise XenditError(400, "API_VALIDATION_ERROR", "currency must be IDR")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 1:
        raise XenditError(400, "API_VALIDATION_ERROR", "amount must be at least 1")
    if amount != int(amount):
        raise XenditError(400, "API_VALIDATION_ERROR", "IDR amounts have no decimals")
    if not isinstance(body.get("reference_id"), str) or not body["reference_id"]:
        raise XenditError(400, "API_VALIDATION_ERROR", "reference_id is required")
    if not isinstance(method, dict) or method.get("type") not in METHOD_KEYS:
        raise XenditError(400, "API_VALIDATION_ERROR", "payment_method.type is not supported")
    details = method.get(METHOD_KEYS[method["type"]]) or {}
    channel = details.get("channel_code") or ("QRIS" if method["type"] == "QR_CODE" else None)
    if channel not in CHANNELS[method["type"]]:
        raise XenditError(400, "CHANNEL_NOT_ACTIVATED", f"channel {channel} is not activated")
    if method["type"] == "VIRTUAL_ACCOUNT" and not (
        (details.get("channel_properties") or {}).get("customer_name")
    ):
        raise XenditError(400, "API_VALIDATION_ERROR", "customer_name is required")

    def build() -> dict[str, Any]:
        record = book.new_payment_request(body, method)
        book.put(record)
        return book.public(record)

    return _idempotent("payment_request", build)


def _found(request_id: str) -> dict[str, Any]:
    record = book.get(request_id)
    if record is None:
        raise XenditError(404, "DATA_NOT_FOUND", f"payment request {request_id} not found")
    return record


@bp.get("/payment_requests/<request_id>")
def get_payment_request(request_id: str) -> Response:
    return _answer(book.public(_found(request_id)))


def pay(request_id: str, *, late: bool = False) -> dict[str, Any]:
    """The customer's money arrives: the request succeeds once and a callback goes out.
    ``late``: a bank transfer to a VA settled after its expiry (banks do post late)."""
    store = book.storage()
    with store.transaction():
        record = _found(request_id)
        if record["status"] == "SUCCEEDED":
            return record
        allowed = (
            ("PENDING", "REQUIRES_ACTION", "EXPIRED") if late else ("PENDING", "REQUIRES_ACTION")
        )
        if record["status"] not in allowed:
            raise XenditError(
                400, "INVALID_PAYMENT_REQUEST_STATUS", f"payment request is {record['status']}"
            )
        record = {
            **record,
            "status": "SUCCEEDED",
            "updated": book.stamp(book.now()),
            "payment_id": f"py-{uuid.uuid4()}",
        }
        book.put(record)
    callbacks.send(callbacks.payment_callback(record, "payment.succeeded", "SUCCEEDED"))
    return record


@bp.post("/payment_requests/<request_id>/payments/simulate")
def simulate_payment(request_id: str) -> Response:
    record = _found(request_id)
    if record["payment_method"]["type"] == "EWALLET":
        raise XenditError(400, "SIMULATION_NOT_SUPPORTED", "e-wallets are approved by the customer")
    pay(request_id)
    return _answer({"status": "COMPLETED", "message": "payment simulated"})


@bp.post("/refunds")
def create_refund() -> Response:
    body = _body()
    request_id = body.get("payment_request_id")
    amount = body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 1:
        raise XenditError(400, "API_VALIDATION_ERROR", "amount must be at least 1")

    def build() -> dict[str, Any]:
        record = _found(str(request_id))
        if record["status"] != "SUCCEEDED":
            raise XenditError(400, "INELIGIBLE_TRANSACTION", "payment request is not paid")
        refunded = sum(
            r["amount"]
            for r in book.storage().load(book.REFUND_SCOPE).values()
            if r["payment_request_id"] == record["id"]
        )
        if refunded + amount > record["amount"]:
            raise XenditError(400, "REFUND_AMOUNT_EXCEEDED", "more than was paid")
        moment = book.stamp(book.now())
        refund = {
            "id": f"rfd-{uuid.uuid4()}",
            "payment_request_id": record["id"],
            "amount": amount,
            "channel_code": _channel(record),
            "country": "ID",
            "currency": "IDR",
            "reference_id": body.get("reference_id"),
            "failure_code": None,
            "refund_fee_amount": None,
            "reason": body.get("reason"),
            "status": "SUCCEEDED",
            "created": moment,
            "updated": moment,
            "metadata": body.get("metadata"),
        }
        book.storage().put(book.REFUND_SCOPE, refund["id"], refund)
        return refund

    return _idempotent("refund", build)


def _channel(record: dict[str, Any]) -> str:
    method = record["payment_method"]
    return str(method[METHOD_KEYS[method["type"]]]["channel_code"])


EWALLET_PAGE = """<!doctype html><html lang="id"><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{ channel }} (sandbox)</title>
<body style="font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem">
<h1>{{ channel }} <small>(sandbox)</small></h1>
<p>Pembayaran ke Payung: <strong id="amount">Rp{{ amount }}</strong></p>
<p>Status: <strong id="status">{{ status }}</strong></p>
{% if status == "REQUIRES_ACTION" %}
<form method="post"><button name="decision" value="approve">Bayar</button>
<button name="decision" value="refuse">Tolak</button></form>
{% elif return_url %}<p><a id="back" href="{{ return_url }}">Kembali ke Payung</a></p>{% endif %}
</body></html>"""


@bp.route("/ewallet/<request_id>", methods=["GET", "POST"])
def ewallet_page(request_id: str) -> Response | str:
    record = _found(request_id)
    properties = record["payment_method"].get("ewallet", {}).get("channel_properties") or {}
    if request.method == "POST" and record["status"] == "REQUIRES_ACTION":
        if request.form.get("decision") == "approve":
            record = pay(request_id)
        else:
            record = {**record, "status": "FAILED", "failure_code": "USER_DECLINED_PAYMENT"}
            book.put(record)
            callbacks.send(callbacks.payment_callback(record, "payment.failed", "FAILED"))
        target = properties.get(
            "success_return_url" if record["status"] == "SUCCEEDED" else "failure_return_url"
        )
        if target:
            return Response(status=303, headers={"Location": target})
    return render_template_string(
        EWALLET_PAGE,
        channel=_channel(record),
        amount=f"{int(record['amount']):,}".replace(",", "."),
        status=record["status"],
        return_url=properties.get("success_return_url"),
    )
