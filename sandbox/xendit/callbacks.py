"""Xendit's payment callbacks: a ``payment.succeeded`` (or ``payment.failed``) POST to the
merchant's callback URL with the account's token in ``x-callback-token``, retried while the
merchant does not answer 2xx, as Xendit does.

Every callback is also kept (``GET /xendit/_callbacks``) so a test can deliver it again, late,
out of order or many times at once, the way Xendit's retries and the internet do.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import requests

from sandbox.xendit import book

RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 4.0)


def payment_callback(record: dict[str, Any], event: str, status: str) -> dict[str, Any]:
    """The body Xendit sends for a payment of ``record`` (a payment request)."""
    moment = book.stamp(book.now())
    return {
        "event": event,
        "business_id": book.BUSINESS_ID,
        "created": moment,
        "data": {
            "id": record.get("payment_id") or f"py-{uuid.uuid4()}",
            "payment_request_id": record["id"],
            "reference_id": record["reference_id"],
            "customer_id": None,
            "currency": record["currency"],
            "amount": record["amount"],
            "country": "ID",
            "status": status,
            "payment_method": record["payment_method"],
            "failure_code": record.get("failure_code"),
            "metadata": record.get("metadata"),
            "created": moment,
            "updated": moment,
        },
    }


def send(body: dict[str, Any]) -> dict[str, Any]:
    """Keep the callback and deliver it in the background if a callback URL is set."""
    target = book.settings()
    entry = {
        "webhook_id": f"wh-{uuid.uuid4()}",
        "url": target["url"],
        "body": json.dumps(body, separators=(",", ":")),
        "attempts": 0,
        "last_status": None,
        "sent_at": time.time(),
    }
    book.storage().put(book.CALLBACK_SCOPE, entry["webhook_id"], entry)
    if target["url"]:
        storage = book.storage()
        worker = threading.Thread(
            target=_deliver,
            args=(storage, entry, target["token"] or ""),
            name=f"xendit-callback-{entry['webhook_id']}",
            daemon=True,
        )
        worker.start()
    return entry


def _deliver(storage: Any, entry: dict[str, Any], token: str) -> None:
    session = requests.Session()
    session.trust_env = False  # the merchant is on this machine: no proxies
    headers = {
        "Content-Type": "application/json",
        "x-callback-token": token,
        "webhook-id": entry["webhook_id"],
    }
    for delay in (0.0, *RETRY_DELAYS_S):
        time.sleep(delay)
        entry = {**entry, "attempts": entry["attempts"] + 1}
        try:
            answer = session.post(entry["url"], data=entry["body"], headers=headers, timeout=10)
            entry["last_status"] = answer.status_code
        except requests.RequestException as error:
            entry["last_status"] = type(error).__name__
        storage.put(book.CALLBACK_SCOPE, entry["webhook_id"], entry)
        if isinstance(entry["last_status"], int) and 200 <= entry["last_status"] < 300:
            return


def sent() -> list[dict[str, Any]]:
    return sorted(book.storage().load(book.CALLBACK_SCOPE).values(), key=lambda e: e["sent_at"])
