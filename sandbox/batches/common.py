"""Reading a batch body: a list of item objects, each checked on its own."""

from __future__ import annotations

from typing import Any

from flask import request

from sandbox.errors import PartnerError
from sandbox.validation import Fields, parse_json_object

MAX_BATCH = 500


def batch_items(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(body, items)``: ``body[name]`` must be a list of 1 to MAX_BATCH objects."""
    body = parse_json_object(request.get_data(cache=True))
    items = body.get(name)
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise PartnerError(400, "invalid_request", f"{name} must list 1 to {MAX_BATCH} items")
    if not all(isinstance(item, dict) for item in items):
        raise PartnerError(400, "invalid_request", f"each of {name} must be an object")
    return body, items


def item_reference(item: dict[str, Any]) -> str:
    reference = item.get("reference")
    return reference if isinstance(reference, str) and 0 < len(reference) <= 100 else ""


def invalid(reference: str, fields: Fields) -> dict[str, Any]:
    return {
        "reference": reference,
        "error": {"code": "validation_failed", "message": "invalid item", "fields": fields.errors},
    }


def refused(reference: str, code: str, message: str) -> dict[str, Any]:
    return {"reference": reference, "error": {"code": code, "message": message}}


def references_query() -> list[str]:
    """``?references=a,b,c`` (at most MAX_BATCH)."""
    raw = request.args.get("references", "")
    references = [r for r in raw.split(",") if r][:MAX_BATCH]
    if not references:
        raise PartnerError(400, "invalid_request", "give references=a,b,c")
    return references
