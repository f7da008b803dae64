"""Telco top-ups on the partner side: pending until polled enough or called back, then final.

A top-up completes when it has been polled ``pending_polls`` times *and* ``pending_ms`` have
passed; with a ``callback_url`` a timer completes it after ``pending_ms`` and POSTs the result,
signed with the telco secret like Payung's own requests. Top-ups are kept in the sandbox's
storage (a restarted sandbox still knows them, by id and by the caller's ``reference``).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import requests

from core.signing import signed_headers
from sandbox.dates import utc_now_iso
from sandbox.ledger import Ledger
from sandbox.storage import Storage

# A Telkomsel-shaped number the sandbox treats as inactive, so issuers can test a failed top-up.
INACTIVE_TEST_MSISDN = "+6281100000000"
CALLBACK_ATTEMPTS = 3


@dataclass
class Topup:
    topup_id: str
    msisdn: str
    package_code: str
    quota_mb: int
    validity_days: int
    reference: str
    callback_url: str | None
    created_at: str = field(default_factory=utc_now_iso)
    created_epoch: float = field(default_factory=time.time)
    status: str = "pending"
    polls: int = 0
    serial_number: str | None = None
    failure_code: str | None = None
    completed_at: str | None = None
    batch_id: str | None = None  # the bulk top-up it came in (its callback names the batch)

    def finish(self) -> None:
        if self.status != "pending":
            return
        self.completed_at = utc_now_iso()
        if self.msisdn == INACTIVE_TEST_MSISDN:
            self.status, self.failure_code = "failed", "msisdn_inactive"
        else:
            self.status = "success"
            self.serial_number = f"SN{secrets.randbelow(10**16):016d}"

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "topup_id": self.topup_id,
            "status": self.status,
            "reference": self.reference,
            "msisdn": self.msisdn,
            "package_code": self.package_code,
            "quota_mb": self.quota_mb,
            "validity_days": self.validity_days,
            "created_at": self.created_at,
        }
        if self.status != "pending":
            body["completed_at"] = self.completed_at
        if self.serial_number:
            body["serial_number"] = self.serial_number
        if self.failure_code:
            body["failure_code"] = self.failure_code
        if self.batch_id:
            body["batch_id"] = self.batch_id
        return body


class TopupBook:
    def __init__(self, storage: Storage | None = None) -> None:
        self._lock = threading.Lock()
        self._storage = storage or Storage()
        self._topups: dict[str, Topup] = {
            topup_id: Topup(**value) for topup_id, value in self._storage.load("topups").items()
        }
        self._by_reference = {topup.reference: topup.topup_id for topup in self._topups.values()}

    def _save(self, topup: Topup) -> None:
        self._storage.put("topups", topup.topup_id, asdict(topup))

    def add(self, topup: Topup) -> dict[str, Any]:
        with self._lock:
            self._topups[topup.topup_id] = topup
            self._by_reference.setdefault(topup.reference, topup.topup_id)
            body = topup.as_json()
        self._save(topup)
        return body

    def find_by_reference(self, reference: str) -> dict[str, Any] | None:
        """The first top-up made for ``reference`` (its current state), or None."""
        with self._lock:
            topup_id = self._by_reference.get(reference)
            topup = self._topups.get(topup_id) if topup_id else None
            return None if topup is None else topup.as_json()

    def poll(self, topup_id: str, *, pending_polls: int, pending_ms: int) -> dict[str, Any] | None:
        with self._lock:
            topup = self._topups.get(topup_id)
            if topup is None:
                return None
            waited_ms = (time.time() - topup.created_epoch) * 1000
            if topup.polls >= pending_polls and waited_ms >= pending_ms:
                topup.finish()
            topup.polls += 1
            body = topup.as_json()
        self._save(topup)
        return body

    def complete(self, topup_id: str) -> dict[str, Any] | None:
        with self._lock:
            topup = self._topups.get(topup_id)
            if topup is None:
                return None
            topup.finish()
            body = topup.as_json()
        self._save(topup)
        return body

    def clear(self) -> None:
        with self._lock:
            self._topups.clear()
            self._by_reference.clear()


def schedule_callback(
    book: TopupBook,
    topup_id: str,
    url: str,
    *,
    secret: bytes,
    delay_s: float,
    ledger: Ledger,
    stopping: threading.Event,
    storage: Storage,
) -> None:
    def deliver() -> None:
        if stopping.wait(delay_s):
            return
        with storage.transaction():
            result = book.complete(topup_id)
        if result is None:  # cleared by /_reset before it completed
            return
        body = json.dumps(result).encode()
        delivery: dict[str, Any] = {"topup_id": topup_id, "url": url, "attempts": 0}
        for attempt in range(1, CALLBACK_ATTEMPTS + 1):
            delivery["attempts"] = attempt
            headers = signed_headers(secret, body, idempotency_key=f"callback-{topup_id}")
            try:
                answer = requests.post(url, data=body, headers=headers, timeout=5)
                delivery["status_code"] = answer.status_code
                if answer.ok:
                    break
            except requests.RequestException as exc:
                delivery["error"] = type(exc).__name__
            if stopping.wait(0.2 * attempt):
                break
        delivery["delivered"] = 200 <= delivery.get("status_code", 0) < 300
        ledger.record_callback(delivery)

    threading.Thread(target=deliver, name=f"callback-{topup_id}", daemon=True).start()
