"""Request signing shared by Payung's partner clients and the partner sandbox.

A signed request carries ``X-Payung-Timestamp`` (Unix seconds) and
``X-Payung-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{raw_body}")>``. Both sides
import this module so the algorithm exists exactly once.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from core.errors import DomainError

TIMESTAMP_HEADER = "X-Payung-Timestamp"
SIGNATURE_HEADER = "X-Payung-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


class SignatureError(DomainError):
    """A signature could not be verified; ``code`` says why in a stable, machine-readable way."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def _digest(secret: bytes, timestamp: int, body: bytes) -> str:
    signed_payload = f"{timestamp}.".encode() + body
    return hmac.new(secret, signed_payload, hashlib.sha256).hexdigest()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """Return the full ``X-Payung-Signature`` header value, e.g. ``"v1=3f9a…"``."""
    return f"{SCHEME}={_digest(secret, timestamp, body)}"


def verify(
    secret: bytes,
    timestamp: str | int | None,
    body: bytes,
    signature_header: str | None,
    *,
    now: float | None = None,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Accept the request or raise :class:`SignatureError`.

    The header may list several comma-separated ``v1=`` values (secret rotation); one match is
    enough. Timestamps further than ``tolerance_s`` from ``now`` in either direction are stale,
    which bounds how long a captured request can be replayed.
    """
    if timestamp is None or timestamp == "":
        raise SignatureError("missing_timestamp", f"{TIMESTAMP_HEADER} header is required")
    if not signature_header:
        raise SignatureError("missing_signature", f"{SIGNATURE_HEADER} header is required")
    try:
        timestamp_s = int(timestamp)
    except ValueError:
        raise SignatureError("invalid_timestamp", "timestamp must be Unix seconds") from None
    current = time.time() if now is None else now
    if abs(current - timestamp_s) > tolerance_s:
        raise SignatureError("stale_timestamp", f"timestamp is more than {tolerance_s}s off")
    expected = _digest(secret, timestamp_s, body)
    for part in signature_header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == SCHEME and hmac.compare_digest(value.strip(), expected):
            return
    raise SignatureError("invalid_signature", "signature does not match the request body")


def signed_headers(
    secret: bytes,
    body: bytes,
    *,
    idempotency_key: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Headers for one signed request; ``timestamp`` defaults to now."""
    timestamp_s = int(time.time()) if timestamp is None else timestamp
    headers = {
        TIMESTAMP_HEADER: str(timestamp_s),
        SIGNATURE_HEADER: sign(secret, timestamp_s, body),
        "Content-Type": "application/json",
    }
    if idempotency_key is not None:
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    return headers
