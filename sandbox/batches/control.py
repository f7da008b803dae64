"""Per-item faults of batch requests, switched like the sandbox's other faults.

``POST /_batch_faults`` with ``fail_references`` (items answered ``partner_unavailable``, a
transient failure, and left undone) and ``refuse_references`` (answered
``member_refused``, final); for the bulk top-ups' callbacks, ``drop_callbacks`` (the batch is
finished but its callback never sent) and ``callback_delay_ms`` (sent that much later).
``{}`` turns them off. Unsigned and uncounted, like ``/_faults``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, current_app, request

from sandbox.errors import PartnerError
from sandbox.state import SandboxState
from sandbox.validation import parse_json_object

bp = Blueprint("batch_control", __name__)
_KEY = "sandbox_batches"


@dataclass
class ItemFaults:
    fail_references: set[str] = field(default_factory=set)
    refuse_references: set[str] = field(default_factory=set)
    drop_callbacks: bool = False
    callback_delay_ms: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    hits: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "fail_references": sorted(self.fail_references),
            "refuse_references": sorted(self.refuse_references),
            "drop_callbacks": self.drop_callbacks,
            "callback_delay_ms": self.callback_delay_ms,
            "hits": self.hits,
        }

    def clear(self) -> None:
        """Every switch off, as at start-up (``/_reset``)."""
        with self.lock:
            self.fail_references, self.refuse_references = set(), set()
            self.drop_callbacks, self.callback_delay_ms, self.hits = False, 0, 0


def init_state(app: Flask, state: SandboxState) -> None:
    faults = app.extensions[_KEY] = ItemFaults()
    state.on_reset.append(faults.clear)


def item_faults() -> ItemFaults:
    faults: ItemFaults = current_app.extensions[_KEY]
    return faults


def item_error(reference: str) -> dict[str, str] | None:
    """The error an item of a batch gets on purpose, or None."""
    faults = item_faults()
    with faults.lock:
        if reference in faults.fail_references:
            faults.hits += 1
            return {"code": "partner_unavailable", "message": "this item failed, try again"}
        if reference in faults.refuse_references:
            faults.hits += 1
            return {"code": "member_refused", "message": "the partner refused this item"}
    return None


def _references(payload: dict[str, Any], name: str) -> set[str]:
    value = payload.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PartnerError(400, "invalid_request", f"{name} must be a list of references")
    return set(value)


@bp.get("/_batch_faults")
def show() -> dict[str, Any]:
    return item_faults().as_json()


def callback_faults() -> tuple[bool, int]:
    """``(drop, delay_ms)`` for a batch callback about to be sent."""
    faults = item_faults()
    with faults.lock:
        return faults.drop_callbacks, faults.callback_delay_ms


@bp.post("/_batch_faults")
def configure() -> dict[str, Any]:
    payload = parse_json_object(request.get_data())
    unknown = set(payload) - {
        "fail_references",
        "refuse_references",
        "drop_callbacks",
        "callback_delay_ms",
    }
    if unknown:
        raise PartnerError(400, "invalid_request", f"unknown switches: {sorted(unknown)}")
    fail, refuse = (
        _references(payload, "fail_references"),
        _references(payload, "refuse_references"),
    )
    drop = payload.get("drop_callbacks", False)
    delay = payload.get("callback_delay_ms", 0)
    if not isinstance(drop, bool):
        raise PartnerError(400, "invalid_request", "drop_callbacks must be true or false")
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 600_000:
        raise PartnerError(400, "invalid_request", "callback_delay_ms must be 0 to 600000")
    faults = item_faults()
    with faults.lock:
        faults.fail_references, faults.refuse_references = fail, refuse
        faults.drop_callbacks, faults.callback_delay_ms = drop, delay
        faults.hits = 0
    return faults.as_json()
