"""Health-app partner API (a Fita-like stand-in): premium vouchers activated on request.

``activate_url`` points at a small page the sandbox serves, so browser tests can follow it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from html import escape
from typing import Any

from flask import Blueprint, request

from sandbox.dates import add_months, iso_utc, utc_now
from sandbox.errors import PartnerError
from sandbox.pipeline import partner_endpoint, record_effect
from sandbox.state import current_state
from sandbox.validation import Fields, parse_json_object

bp = Blueprint("health", __name__, url_prefix="/health")

ACTIVATION_FIELDS = {"voucher_plan", "months", "premium_days", "reference", "member_ref"}
# No 0/O or 1/I/L: workers type these codes from an SMS.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _activation_code() -> str:
    groups = ("".join(secrets.choice(CODE_ALPHABET) for _ in range(4)) for _ in range(3))
    return "-".join(groups)


@bp.post("/v1/activations")
@partner_endpoint("health")
def create_activation() -> tuple[dict[str, Any], int]:
    fields = Fields(parse_json_object(request.get_data(cache=True)), allowed=ACTIVATION_FIELDS)
    voucher_plan = fields.string("voucher_plan", max_length=64)
    months = fields.integer("months", minimum=1, maximum=36, required=False)
    premium_days = fields.integer("premium_days", minimum=1, maximum=1095, required=False)
    reference = fields.string("reference", max_length=100)
    member_ref = fields.string("member_ref", max_length=100)
    if fields.has("months") == fields.has("premium_days"):
        fields.add_error("months", "give exactly one of months or premium_days")
    fields.raise_if_invalid()
    assert voucher_plan and reference and member_ref

    state = current_state()
    activated_at = utc_now().replace(microsecond=0)
    if months is not None:
        expires_at = add_months(activated_at, months)
    else:
        expires_at = activated_at + timedelta(days=premium_days or 0)
    code = _activation_code()
    base_url = state.activate_base_url or request.host_url
    activation = {
        "status": "active",
        "activation_id": f"act_{secrets.token_hex(8)}",
        "activation_code": code,
        "activate_url": f"{base_url.rstrip('/')}/health/activate/{code}",
        "voucher_plan": voucher_plan,
        "member_ref": member_ref,
        "reference": reference,
        "activated_at": iso_utc(activated_at),
        "expires_at": iso_utc(expires_at),
    }
    state.activations.add(code, activation)
    state.by_reference["health.activation"].add_first(reference, activation)
    record_effect("health.activation", reference, activation["activation_id"])
    return activation, 201


@bp.get("/v1/activations/by-reference/<path:reference>")
@partner_endpoint("health")
def find_activation(reference: str) -> tuple[dict[str, Any], int]:
    """The activation made for the caller's ``reference``, whatever key it came with."""
    activation = current_state().by_reference["health.activation"].get(reference)
    if activation is None:
        raise PartnerError(404, "reference_not_found", "no activation has this reference")
    return activation, 200


@bp.get("/v1/ping")
@partner_endpoint("health")
def ping() -> tuple[dict[str, Any], int]:
    """Payung's "test connection" button: a signed GET that changes nothing."""
    return {"status": "ok", "api": "health"}, 200


@bp.get("/activate/<code>")
def activation_page(code: str) -> str:
    """What the worker sees after following ``activate_url`` (not a signed API call)."""
    activation = current_state().activations.get(code)
    if activation is None:
        raise PartnerError(404, "activation_not_found", "unknown activation code")
    return (
        "<!doctype html><html lang='id'><title>Aktivasi Premium</title>"
        f"<h1>Premium aktif</h1><p>Kode: <strong>{escape(code)}</strong></p>"
        f"<p>Paket: {escape(str(activation['voucher_plan']))}</p>"
        f"<p>Berlaku sampai: {escape(str(activation['expires_at']))}</p></html>"
    )
