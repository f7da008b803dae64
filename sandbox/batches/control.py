"""Per-item faults of batch requests, switched like the sandbox's other faults.

``POST /_batch_faults`` with ``fail_references`` (items answered ``partner_unavailable``, a
transient failure, and left undone) and ``refuse_references`` (answered
``member_refused``, final). ``{}`` turns them off. Unsigned and uncounted, like ``/_faults``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, current_app, request

from sandbox.errors import PartnerError
from sandbox.validation import parse_json_object

bp = Blueprint("batch_control", __name__)
_KEY = "sandbox_batches"


@dataclass
class ItemFaults:
    fail_references: set[str] = field(default_factory=set)
    refuse_references: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    hits: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "fail_references": sorted(self.fail_references),
            "refuse_references": sorted(self.refuse_references),
            "hits": self.hits,
        }


def init_state(app: Flask) -> None:
    app.extensions[_KEY] = ItemFaults()


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


@bp.post("/_batch_faults")
def configure() -> dict[str, Any]:
    payload = parse_json_object(request.get_data())
    fail, refuse = (
        _references(payload, "fail_references"),
        _references(payload, "refuse_references"),
    )
    faults = item_faults()
    with faults.lock:
        faults.fail_references, faults.refuse_references = fail, refuse
        faults.hits = 0
    return faults.as_json()
