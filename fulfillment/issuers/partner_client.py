"""Signed HTTP calls to partner APIs, the only place Payung talks to them.

Every request is signed with the partner's secret (``core.signing``, the one algorithm both
sides share), every POST carries the caller's Idempotency-Key, and a call that may succeed
later (5xx, timeout, connection refused, 409 ``idempotency_key_in_use``, 429) is retried a few
times at once with exponential backoff and jitter, always with the same key and body. What is
left is raised as ``PartnerUnavailable`` (try again later, same key) or ``PartnerRefused``
(this request will never succeed). Bodies are never logged: they can hold a NIK or a phone.
"""

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from core.errors import DomainError
from core.signing import signed_headers

log = logging.getLogger(__name__)

# A worker should not sleep through an outage: a partner that asks for more than this
# (Retry-After) is left to the item's own retry schedule instead of being retried here.
MAX_INLINE_WAIT_S = 0.5
_RETRYABLE_CONFLICTS = {"idempotency_key_in_use"}


class PartnerCallError(DomainError):
    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, summary=f"{code}: {message}")
        self.status = status
        self.retry_after = retry_after
        self.fields = dict(fields or {})


class PartnerUnavailable(PartnerCallError):
    """The call may succeed later with the same Idempotency-Key."""

    retry_inline = True


class PartnerAuthFailed(PartnerUnavailable):
    """401/403: our secret or clock is wrong. Retrying at once is useless, but an admin can fix
    it, so the item keeps its attempts rather than failing on the spot."""

    retry_inline = False


class PartnerRefused(PartnerCallError):
    """The partner refused this request for good (400, 404, 422, a reused key)."""


@dataclass(frozen=True)
class PartnerAnswer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def backoff_delay(
    attempt: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, …): exponential backoff
    with "equal jitter" — half of ``min(cap, base·2^(attempt−1))`` fixed, the other half drawn
    at random, so retries spread out yet never come back at once."""
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def encode_json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


_sessions = threading.local()


def _http() -> requests.Session:
    """One pooled connection set per thread (Celery prefork: per process)."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
    return session


class PartnerClient:
    def __init__(
        self,
        base_url: str,
        secret: bytes,
        *,
        timeout_s: float = 5.0,
        max_tries: int = 3,
        retry_base_s: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not secret:
            raise ValueError("partner calls must be signed: no secret given")
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self._timeout = (min(3.0, timeout_s), timeout_s)
        self._max_tries = max(1, max_tries)
        self._retry_base_s = retry_base_s
        self._sleep = sleep
        self._rng = rng

    def post(self, path: str, payload: Mapping[str, Any], *, idempotency_key: str) -> PartnerAnswer:
        if not idempotency_key:
            raise ValueError("every partner POST needs an Idempotency-Key")
        return self._call("POST", path, encode_json(payload), idempotency_key)

    def get(self, path: str) -> PartnerAnswer:
        return self._call("GET", path, b"", None)

    def lookup(self, path: str) -> PartnerAnswer | None:
        """A signed GET that asks whether something exists: the answer, or None when the
        partner refuses (404: no such record; any refusal: a partner without this lookup, so
        nothing is known and the caller goes on as before). "Later" errors are raised."""
        try:
            return self.get(path)
        except PartnerRefused as error:
            if error.status != 404:
                log.warning(
                    "partner lookup %s refused: %s", path.split("/by-reference/")[0], error.code
                )
            return None

    def _call(self, method: str, path: str, body: bytes, key: str | None) -> PartnerAnswer:
        for try_number in range(1, self._max_tries + 1):
            try:
                return self._once(method, path, body, key)
            except PartnerUnavailable as error:
                if try_number == self._max_tries or not error.retry_inline:
                    raise
                delay = backoff_delay(
                    try_number, base=self._retry_base_s, cap=MAX_INLINE_WAIT_S, rng=self._rng
                )
                delay = max(delay, error.retry_after or 0)
                if delay > MAX_INLINE_WAIT_S:
                    raise
                log.info("partner %s %s: %s, retrying in %.2fs", method, path, error.code, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, path: str, body: bytes, key: str | None) -> PartnerAnswer:
        # Signed afresh on every try: the timestamp must be current, the key and body the same.
        headers = signed_headers(self._secret, body, idempotency_key=key)
        url = f"{self.base_url}{path}"
        try:
            response = _http().request(
                method,
                url,
                data=body or None,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise PartnerUnavailable("timeout", f"{method} {path} timed out") from None
        except requests.RequestException as error:
            raise PartnerUnavailable(
                "unreachable", f"{method} {path}: {type(error).__name__}"
            ) from None
        return _answer(method, path, response)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _answer(method: str, path: str, response: requests.Response) -> PartnerAnswer:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    if 200 <= status < 300:
        if not body:
            raise PartnerUnavailable("bad_answer", f"{method} {path}: {status} without JSON")
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        return PartnerAnswer(status, body, replayed)
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = str(error.get("code") or f"http_{status}")
    message = str(error.get("message") or response.reason or "")
    details = {
        "status": status,
        "retry_after": _retry_after(response),
        "fields": error.get("fields") if isinstance(error.get("fields"), dict) else None,
    }
    log.warning("partner %s %s answered %s %s", method, path, status, code)
    if status >= 500 or status == 429 or (status == 409 and code in _RETRYABLE_CONFLICTS):
        raise PartnerUnavailable(code, message, **details)
    if status in (401, 403):
        raise PartnerAuthFailed(code, message, **details)
    raise PartnerRefused(code, message, **details)
