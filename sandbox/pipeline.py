"""The path every partner request takes, in the order real partners fail.

before (hook)  : count → ``down`` → latency → ``error_rate`` (no effect yet)
endpoint       : signature → [one storage transaction: Idempotency-Key (replay or claim) → the
                 view's effect → store answer] → ``drop_after_effect_rate`` (effect kept,
                 answer lost)
after (hook)   : count the status → ``timeout`` hang (the answer is already stored)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, jsonify, request

from core.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    verify,
)
from sandbox.errors import PartnerError
from sandbox.idempotency import StoredResponse, request_fingerprint
from sandbox.state import PARTNER_APIS, current_state

PartnerView = Callable[..., tuple[dict[str, Any], int]]
MAX_IDEMPOTENCY_KEY_LENGTH = 255


def api_for_path(path: str) -> str | None:
    api = path.strip("/").split("/", 1)[0]
    return api if api in PARTNER_APIS else None


def _json(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def record_effect(kind: str, reference: str, effect_id: str) -> None:
    """Called by a view once it changed partner-side state."""
    current_state().ledger.record_effect(kind, reference, effect_id, g.get("idempotency_key"))


def _verify_signature(api: str, raw_body: bytes) -> None:
    state = current_state()
    try:
        verify(
            state.secrets[api],
            request.headers.get(TIMESTAMP_HEADER),
            raw_body,
            request.headers.get(SIGNATURE_HEADER),
            tolerance_s=state.timestamp_tolerance_s,
        )
    except SignatureError as exc:
        state.ledger.count("signature_failures")
        raise PartnerError(401, exc.code, exc.message) from None


def _idempotency_key() -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
        raise PartnerError(
            400,
            "idempotency_key_required",
            f"{IDEMPOTENCY_HEADER} header must hold 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters",
        )
    return key


def partner_endpoint(api: str) -> Callable[[PartnerView], Callable[..., Response]]:
    """Wrap a view that returns ``(body, status)`` with signing, idempotency and lost answers."""

    def decorator(view: PartnerView) -> Callable[..., Response]:
        @functools.wraps(view)
        def endpoint(**kwargs: Any) -> Response:
            state = current_state()
            raw_body = request.get_data(cache=True)
            _verify_signature(api, raw_body)
            # The effect, its records and the stored answer are committed together.
            with state.storage.transaction():
                response = _handle(api, view, raw_body, kwargs)
            token = g.get("fault_token")
            rate = state.faults.config.drop_after_effect_rate
            fresh = g.get("answer_stored", False) and token is not None
            if fresh and state.faults.hits("drop_after_effect", rate, token):
                state.ledger.count("faults.drop_after_effect")
                raise PartnerError(500, "internal_error", "the partner failed while answering")
            return response

        return endpoint

    return decorator


def _handle(api: str, view: PartnerView, raw_body: bytes, kwargs: dict[str, Any]) -> Response:
    state = current_state()
    if request.method != "POST":
        return _json(*view(**kwargs))
    key = g.idempotency_key = _idempotency_key()
    fingerprint = request_fingerprint(request.method, request.path, raw_body)
    try:
        stored = state.idempotency.begin(api, key, fingerprint)
    except PartnerError:
        state.ledger.count("idempotency_conflicts")
        raise
    if stored is not None:
        state.ledger.count("idempotent_replays")
        replay = _json(stored.body, stored.status)
        replay.headers["Idempotent-Replayed"] = "true"
        return replay
    try:
        body, status = view(**kwargs)
    except BaseException:
        state.idempotency.release(api, key)
        raise
    state.idempotency.complete(api, key, StoredResponse(status, body))
    g.answer_stored = True
    return _json(body, status)


def _before_partner_request() -> None:
    api = api_for_path(request.path)
    if api is None:
        return
    state = current_state()
    state.ledger.record_request(api)
    faults = state.faults
    if not faults.applies_to(request.path):
        return
    config = faults.config
    token = g.fault_token = faults.request_token(
        request.method, request.path, request.headers.get(IDEMPOTENCY_HEADER)
    )
    if config.down:
        state.ledger.count("faults.down")
        raise PartnerError(503, "partner_down", "the partner is down", headers={"Retry-After": "1"})
    if config.latency_ms:
        state.wait(config.latency_ms / 1000)
    if faults.hits("error", config.error_rate, token):
        state.ledger.count("faults.error")
        if faults.hits("error_status", 0.5, token):
            raise PartnerError(503, "partner_unavailable", "try again later")
        raise PartnerError(500, "internal_error", "the partner failed before doing anything")


def _after_partner_request(response: Response) -> Response:
    if api_for_path(request.path) is None:
        return response
    state = current_state()
    state.ledger.record_response(response.status_code)
    token = g.get("fault_token")
    config = state.faults.config
    timeout_hit = token is not None and state.faults.hits("timeout", config.timeout_rate, token)
    if config.timeout > 0 and timeout_hit:
        state.ledger.count("faults.timeout")
        state.wait(config.timeout)
    return response


def register_pipeline(app: Flask) -> None:
    app.before_request(_before_partner_request)
    app.after_request(_after_partner_request)
