"""Idempotency keys: one stored answer per (partner API, key), replayed on every retry.

Like real payment APIs, an answer is stored only once a request has produced its effect;
validation errors and injected faults before the effect leave the key free for a retry.
Stored answers are kept in :class:`sandbox.storage.Storage`, so they survive a restart (a key
still running when the process died was never committed and is free again).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

from sandbox.errors import PartnerError
from sandbox.storage import Storage

_SCOPE = "idempotency"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


@dataclass
class _Entry:
    fingerprint: str
    response: StoredResponse | None = None  # None while the first request is still running


def request_fingerprint(method: str, path: str, raw_body: bytes) -> str:
    """Hash of what the key promises to mean; JSON bodies compare by content, not key order."""
    try:
        canonical = json.dumps(json.loads(raw_body), sort_keys=True, separators=(",", ":"))
        body_bytes = canonical.encode()
    except (ValueError, UnicodeDecodeError):
        body_bytes = raw_body
    return hashlib.sha256(f"{method} {path}\n".encode() + body_bytes).hexdigest()


def _storage_key(scope: str, key: str) -> str:
    return json.dumps([scope, key])


class IdempotencyStore:
    def __init__(self, storage: Storage | None = None) -> None:
        self._lock = threading.Lock()
        self._storage = storage or Storage()
        self._entries: dict[tuple[str, str], _Entry] = {}
        for stored_key, value in self._storage.load(_SCOPE).items():
            scope, key = json.loads(stored_key)
            response = StoredResponse(int(value["status"]), value["body"])
            self._entries[(scope, key)] = _Entry(value["fingerprint"], response)

    def begin(self, scope: str, key: str, fingerprint: str) -> StoredResponse | None:
        """Claim ``key`` (returns None) or return the answer to replay.

        Raises PartnerError 409 ``idempotency_key_reused`` when the key came with another
        request, and 409 ``idempotency_key_in_use`` while the first request is still running.
        """
        with self._lock:
            entry = self._entries.get((scope, key))
            if entry is None:
                self._entries[(scope, key)] = _Entry(fingerprint)
                return None
        if entry.fingerprint != fingerprint:
            raise PartnerError(
                409,
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request",
            )
        if entry.response is None:
            raise PartnerError(
                409,
                "idempotency_key_in_use",
                "a request with this Idempotency-Key is still being processed",
                headers={"Retry-After": "1"},
            )
        return entry.response

    def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        with self._lock:
            entry = self._entries[(scope, key)]
            entry.response = response
        self._storage.put(
            _SCOPE,
            _storage_key(scope, key),
            {"fingerprint": entry.fingerprint, "status": response.status, "body": response.body},
        )

    def release(self, scope: str, key: str) -> None:
        with self._lock:
            self._entries.pop((scope, key), None)

    def clear(self) -> None:
        """Forget every key (``/_reset``; the storage is cleared by the state)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
