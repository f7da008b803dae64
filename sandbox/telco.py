"""Telco partner API (a Telkomsel stand-in): data top-ups that finish asynchronously.

Only Telkomsel numbers are accepted, recognised by prefix as in domain/bpjs-bpu.md; a number of
another operator gets 422 ``operator_not_supported`` so the issuer can refund that part.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, request

from sandbox.errors import PartnerError
from sandbox.pipeline import partner_endpoint, record_effect
from sandbox.state import current_state
from sandbox.topups import Topup, schedule_callback
from sandbox.validation import Fields, parse_json_object

bp = Blueprint("telco", __name__, url_prefix="/telco/v1")

TELKOMSEL_PREFIXES = ("811", "812", "813", "821", "822", "823", "851", "852", "853")
MSISDN_PATTERN = re.compile(r"\+628\d{8,11}")
TOPUP_FIELDS = {"msisdn", "package_code", "quota_mb", "validity_days", "reference", "callback_url"}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _callback_url(fields: Fields) -> str | None:
    url = fields.string("callback_url", required=False, max_length=500)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or parts.hostname not in LOOPBACK_HOSTS:
        fields.add_error("callback_url", "must be an http(s) URL on 127.0.0.1 in the sandbox")
        return None
    return url


@bp.post("/topups")
@partner_endpoint("telco")
def create_topup() -> tuple[dict[str, Any], int]:
    fields = Fields(parse_json_object(request.get_data(cache=True)), allowed=TOPUP_FIELDS)
    msisdn = fields.string(
        "msisdn",
        max_length=16,
        pattern=MSISDN_PATTERN,
        pattern_message="must be an Indonesian mobile number in E.164, e.g. +6281234567890",
    )
    package_code = fields.string("package_code", max_length=64)
    quota_mb = fields.integer("quota_mb", minimum=1, maximum=1_000_000)
    validity_days = fields.integer("validity_days", minimum=1, maximum=365)
    reference = fields.string("reference", max_length=100)
    callback_url = _callback_url(fields)
    fields.raise_if_invalid()
    assert msisdn and package_code and quota_mb and validity_days and reference
    prefix = msisdn[3:6]
    if prefix not in TELKOMSEL_PREFIXES:
        raise PartnerError(
            422,
            "operator_not_supported",
            f"0{prefix} is not a Telkomsel prefix; this package needs a Telkomsel number",
        )

    state = current_state()
    topup = Topup(
        topup_id=f"tp_{secrets.token_hex(8)}",
        msisdn=msisdn,
        package_code=package_code,
        quota_mb=quota_mb,
        validity_days=validity_days,
        reference=reference,
        callback_url=callback_url,
    )
    body = state.topups.add(topup)
    record_effect("telco.topup", reference, topup.topup_id)
    if callback_url is not None:
        schedule_callback(
            state.topups,
            topup.topup_id,
            callback_url,
            secret=state.secrets["telco"],
            delay_s=state.settings.topup_pending_ms / 1000,
            ledger=state.ledger,
            stopping=state.stopping,
            storage=state.storage,
        )
    return body, 202


@bp.get("/topups/by-reference/<path:reference>")
@partner_endpoint("telco")
def find_topup(reference: str) -> tuple[dict[str, Any], int]:
    """The top-up made for the caller's ``reference``, whatever key it came with: how a caller
    that never got an answer learns whether its first request took effect."""
    body = current_state().topups.find_by_reference(reference)
    if body is None:
        raise PartnerError(404, "reference_not_found", "no top-up has this reference")
    return body, 200


@bp.get("/ping")
@partner_endpoint("telco")
def ping() -> tuple[dict[str, Any], int]:
    """Payung's "test connection" button: a signed GET that changes nothing."""
    return {"status": "ok", "api": "telco"}, 200


@bp.get("/topups/<topup_id>")
@partner_endpoint("telco")
def get_topup(topup_id: str) -> tuple[dict[str, Any], int]:
    settings = current_state().settings
    body = current_state().topups.poll(
        topup_id,
        pending_polls=settings.topup_pending_polls,
        pending_ms=settings.topup_pending_ms,
    )
    if body is None:
        raise PartnerError(404, "topup_not_found", f"no top-up {topup_id}")
    return body, 200
