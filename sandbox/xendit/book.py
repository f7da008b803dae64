"""What the Xendit stand-in remembers: payment requests, refunds, idempotency keys, the
callbacks it sent and where to send them, all in the sandbox's storage (so ``/_reset`` forgets
them and ``--state-dir`` keeps them across restarts).

The shapes are Xendit's Payment Request API (``POST /payment_requests``) as the official
``xendit-python`` SDK reads them: a payment request holds its ``payment_method`` (QR_CODE,
VIRTUAL_ACCOUNT or EWALLET) with the channel's properties (QR string, VA number, expiry) and,
for e-wallets, an ``AUTH`` action whose URL the customer opens.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, request

from sandbox.state import current_state
from sandbox.storage import Storage

BUSINESS_ID = "5f27a14a9bf05c73dd040bc8"  # the sandbox's one "business"
# Real VA numbers start with the merchant's prefix at the bank; these are made up.
VA_PREFIXES = {"BCA": "10766", "BNI": "8808", "BRI": "26215", "MANDIRI": "88908"}
DEFAULT_EXPIRY = timedelta(hours=24)
PR_SCOPE = "xendit.payment_request"
REFUND_SCOPE = "xendit.refund"
IDEMPOTENCY_SCOPE = "xendit.idempotency"
CALLBACK_SCOPE = "xendit.callback"
SETTINGS_SCOPE = "xendit.settings"


def storage() -> Storage:
    return current_state().storage


def now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def settings() -> dict[str, Any]:
    """Where callbacks go and with which token (Xendit's dashboard settings)."""
    stored = storage().get(SETTINGS_SCOPE, "callback") or {}
    config = current_app.config
    return {
        "url": stored.get("url", config.get("XENDIT_CALLBACK_URL")),
        "token": stored.get("token", config.get("XENDIT_CALLBACK_TOKEN")),
    }


def save_settings(url: str | None, token: str | None) -> None:
    storage().put(SETTINGS_SCOPE, "callback", {"url": url, "token": token})


def new_payment_request(body: dict[str, Any], method: dict[str, Any]) -> dict[str, Any]:
    """A PENDING (QRIS, VA) or REQUIRES_ACTION (e-wallet) payment request for ``body``."""
    moment = now()
    request_id = f"pr-{uuid.uuid4()}"
    kind = method["type"]
    expires = moment + DEFAULT_EXPIRY
    payment_method: dict[str, Any] = {
        "id": f"pm-{uuid.uuid4()}",
        "type": kind,
        "reusability": "ONE_TIME_USE",
        "status": "ACTIVE",
        "reference_id": f"pm-ref-{uuid.uuid4().hex[:12]}",
        "created": stamp(moment),
        "updated": stamp(moment),
        "metadata": None,
    }
    actions: list[dict[str, Any]] = []
    status = "PENDING"
    if kind == "QR_CODE":
        given = method.get("qr_code") or {}
        properties = given.get("channel_properties") or {}
        expires = _expiry(properties, expires)
        payment_method["qr_code"] = {
            "channel_code": given.get("channel_code") or "QRIS",
            "channel_properties": {
                "qr_string": qr_string(request_id, body["amount"]),
                "expires_at": stamp(expires),
            },
        }
    elif kind == "VIRTUAL_ACCOUNT":
        given = method["virtual_account"]
        properties = given["channel_properties"]
        expires = _expiry(properties, expires)
        bank = given["channel_code"]
        payment_method["virtual_account"] = {
            "channel_code": bank,
            "channel_properties": {
                "customer_name": properties["customer_name"],
                "virtual_account_number": VA_PREFIXES[bank] + f"{secrets.randbelow(10**11):011d}",
                "expires_at": stamp(expires),
            },
            "amount": body["amount"],
            "currency": "IDR",
        }
    else:
        given = method["ewallet"]
        properties = given.get("channel_properties") or {}
        payment_method["ewallet"] = {
            "channel_code": given["channel_code"],
            "channel_properties": properties,
        }
        status = "REQUIRES_ACTION"
        url = f"{_public_base()}/ewallet/{request_id}"
        actions.append(
            {"action": "AUTH", "url_type": "WEB", "method": "GET", "url": url, "qr_code": None}
        )
    return {
        "id": request_id,
        "created": stamp(moment),
        "updated": stamp(moment),
        "reference_id": body["reference_id"],
        "business_id": BUSINESS_ID,
        "customer_id": None,
        "amount": body["amount"],
        "currency": "IDR",
        "country": "ID",
        "description": body.get("description"),
        "failure_code": None,
        "capture_method": "AUTOMATIC",
        "initiator": None,
        "card_verification_results": None,
        "status": status,
        "payment_method": payment_method,
        "actions": actions,
        "metadata": body.get("metadata"),
        "expires_at": stamp(expires),  # the sandbox's own bookkeeping (read by ``current``)
    }


def _expiry(properties: dict[str, Any], default: datetime) -> datetime:
    given = properties.get("expires_at")
    return parse_stamp(given) if isinstance(given, str) else default


def _public_base() -> str:
    """The sandbox's own address as the caller reached it, for the e-wallet's page."""
    from_config = current_app.config.get("XENDIT_PUBLIC_URL")
    if from_config:
        return str(from_config).rstrip("/")
    return request.host_url.rstrip("/") + "/xendit"


def qr_string(request_id: str, amount: float) -> str:
    """A QRIS-looking EMVCo payload naming the request (scanning it needs the sandbox)."""
    amount_text = f"{int(amount)}"
    merchant = f"ID.CO.PAYUNG.SANDBOX{request_id[-12:]}"
    return (
        "00020101021226"
        + f"{len(merchant) + 4:02d}0012{merchant}"
        + f"5204549953033605{len(amount_text):02d}{amount_text}"
        + "5802ID5914PAYUNG SANDBOX6007JAKARTA6304"
        + f"{int(uuid.UUID(request_id[3:]).hex[:4], 16):04X}"
    )


def current(record: dict[str, Any]) -> dict[str, Any]:
    """The request as it stands now: a pending one past its expiry has expired."""
    if record["status"] in ("PENDING", "REQUIRES_ACTION") and now() > parse_stamp(
        record["expires_at"]
    ):
        record = {**record, "status": "EXPIRED", "updated": stamp(now())}
        record["payment_method"] = {**record["payment_method"], "status": "EXPIRED"}
        storage().put(PR_SCOPE, record["id"], record)
    return record


def public(record: dict[str, Any]) -> dict[str, Any]:
    """The request as Xendit's API shows it (without the sandbox's bookkeeping)."""
    return {k: v for k, v in record.items() if k != "expires_at"}


def get(request_id: str) -> dict[str, Any] | None:
    record = storage().get(PR_SCOPE, request_id)
    return current(record) if record is not None else None


def put(record: dict[str, Any]) -> None:
    storage().put(PR_SCOPE, record["id"], record)
