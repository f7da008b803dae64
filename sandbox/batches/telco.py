"""Bulk top-ups: many numbers in one request, a result per number, one status query per batch.

``POST /telco/v1/topups/batch`` takes ``{"topups": [{msisdn, package_code, quota_mb,
validity_days, reference}, …]}`` under one Idempotency-Key and answers ``{"batch_id",
"results": [...]}`` in the same order: each a top-up (``pending``, finished by polling) or
``{"reference", "error"}`` for that number alone (an invalid item, a non-Telkomsel number, or a
per-item fault). ``GET /telco/v1/topups/batch-status?ids=…`` polls many top-ups at once;
``GET /telco/v1/topups/by-references?references=…`` says which references already have one.
With a ``callback_url`` (on this machine) the telco also posts the batch's results once, when
the batch is done (``sandbox.batches.callbacks``).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, request

from sandbox.batches.callbacks import schedule_batch_callback
from sandbox.batches.common import batch_items, invalid, item_reference, references_query, refused
from sandbox.batches.control import item_error
from sandbox.errors import PartnerError
from sandbox.pipeline import partner_endpoint, record_effect
from sandbox.state import current_state
from sandbox.telco import MSISDN_PATTERN, TELKOMSEL_PREFIXES, _callback_url
from sandbox.topups import Topup
from sandbox.validation import Fields

bp = Blueprint("telco_batches", __name__, url_prefix="/telco/v1")

ITEM_FIELDS = {"msisdn", "package_code", "quota_mb", "validity_days", "reference"}
MAX_IDS = 500


def _topup(item: dict[str, Any], batch_id: str) -> dict[str, Any]:
    reference = item_reference(item)
    fields = Fields(item, allowed=ITEM_FIELDS)
    msisdn = fields.string("msisdn", max_length=16, pattern=MSISDN_PATTERN)
    package_code = fields.string("package_code", max_length=64)
    quota_mb = fields.integer("quota_mb", minimum=1, maximum=1_000_000)
    validity_days = fields.integer("validity_days", minimum=1, maximum=365)
    fields.string("reference", max_length=100)
    if fields.errors:
        return invalid(reference, fields)
    assert msisdn and package_code and quota_mb and validity_days
    if msisdn[3:6] not in TELKOMSEL_PREFIXES:
        return refused(reference, "operator_not_supported", "not a Telkomsel number")
    error = item_error(reference)
    if error is not None:
        return {"reference": reference, "error": error}
    topup = Topup(
        topup_id=f"tp_{secrets.token_hex(8)}",
        msisdn=msisdn,
        package_code=package_code,
        quota_mb=quota_mb,
        validity_days=validity_days,
        reference=reference,
        callback_url=None,
        batch_id=batch_id,
    )
    body = current_state().topups.add(topup)
    record_effect("telco.topup", reference, topup.topup_id)
    return body


@bp.post("/topups/batch")
@partner_endpoint("telco")
def create_topups() -> tuple[dict[str, Any], int]:
    body, items = batch_items("topups")
    fields = Fields({"callback_url": body.get("callback_url")}, allowed={"callback_url"})
    callback_url = _callback_url(fields)
    fields.raise_if_invalid()
    batch_id = f"tb_{secrets.token_hex(8)}"
    results = [_topup(item, batch_id) for item in items]
    made = [r["topup_id"] for r in results if "topup_id" in r]
    if callback_url is not None and made:
        schedule_batch_callback(current_state(), batch_id, made, callback_url)
    return {"batch_id": batch_id, "results": results}, 200


@bp.get("/topups/batch-status")
@partner_endpoint("telco")
def batch_status() -> tuple[dict[str, Any], int]:
    ids = [i for i in request.args.get("ids", "").split(",") if i][:MAX_IDS]
    if not ids:
        raise PartnerError(400, "invalid_request", "give ids=tp_a,tp_b")
    state = current_state()
    settings = state.settings
    results = []
    for topup_id in ids:
        body = state.topups.poll(
            topup_id,
            pending_polls=settings.topup_pending_polls,
            pending_ms=settings.topup_pending_ms,
        )
        results.append(body or {"topup_id": topup_id, "error": {"code": "topup_not_found"}})
    return {"results": results}, 200


@bp.get("/topups/by-references")
@partner_endpoint("telco")
def find_topups() -> tuple[dict[str, Any], int]:
    topups = current_state().topups
    return {"found": {ref: topups.find_by_reference(ref) for ref in references_query()}}, 200
