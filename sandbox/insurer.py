"""Insurer partner API (a BPJS Ketenagakerjaan stand-in): BPU registrations and dues.

Rules follow domain/bpjs-bpu.md: JKK and JKM are compulsory, JHT optional, JP and JKP are not
available to BPU workers; ``covered_until`` is the last day of the last month paid. Amounts are
checked against loose per-month bounds so a ×100 currency slip is refused, not accepted.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any

from flask import Blueprint, request

from sandbox.dates import month_end, utc_now, utc_now_iso
from sandbox.errors import PartnerError
from sandbox.members import identity_digest, nik_exists, nik_warnings
from sandbox.pipeline import partner_endpoint, record_effect
from sandbox.state import current_state
from sandbox.validation import Fields, parse_json_object

bp = Blueprint("insurer", __name__, url_prefix="/insurer/v1")

REGISTRATION_FIELDS = {"nik", "nik_hash", "full_name", "birth_date", "reference"}
DUES_FIELDS = {"kpj", "months", "programmes", "amount_idr", "reference"}
NIK_PATTERN = re.compile(r"\d{16}")
NIK_HASH_PATTERN = re.compile(r"[A-Za-z0-9_\-:=+/.]{16,128}")
KPJ_PATTERN = re.compile(r"\d{11}")
MONTH_PATTERN = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
COMPULSORY = ("JKK", "JKM")
OPTIONAL = ("JHT",)
NOT_FOR_BPU = ("JP", "JKP")
# Per month: JKK+JKM at the lowest band with the PP 50/2025 discount, JHT at 2 % of Rp1,000,000;
# the top is JKK Rp207,000 + JKM Rp6,800, JHT 2 % of about Rp20,700,000.
MIN_MONTHLY_IDR = {"base": 8_400, "JHT": 20_000}
MAX_MONTHLY_IDR = {"base": 213_800, "JHT": 414_000}


def _birth_date(fields: Fields) -> date | None:
    text = fields.string(
        "birth_date",
        max_length=10,
        pattern=DATE_PATTERN,
        pattern_message="must be a date YYYY-MM-DD",
    )
    if text is None:
        return None
    try:
        born = date.fromisoformat(text)
    except ValueError:
        fields.add_error("birth_date", "is not a real date")
        return None
    if born >= utc_now().date():
        fields.add_error("birth_date", "must be in the past")
        return None
    return born


@bp.post("/registrations")
@partner_endpoint("insurer")
def register_member() -> tuple[dict[str, Any], int]:
    fields = Fields(parse_json_object(request.get_data(cache=True)), allowed=REGISTRATION_FIELDS)
    nik = fields.string(
        "nik", required=False, pattern=NIK_PATTERN, pattern_message="must be 16 digits"
    )
    nik_hash = fields.string(
        "nik_hash",
        required=False,
        max_length=128,
        pattern=NIK_HASH_PATTERN,
        pattern_message="must be 16-128 hash characters",
    )
    if fields.has("nik") == fields.has("nik_hash"):
        fields.add_error("nik", "give exactly one of nik or nik_hash")
    fields.string("full_name", max_length=200)
    born = _birth_date(fields)
    reference = fields.string("reference", max_length=100)
    fields.raise_if_invalid()
    assert born and reference
    if nik is not None and not nik_exists(nik):
        raise PartnerError(422, "nik_not_found", "the civil registry has no such NIK")

    member, is_new = current_state().members.register(
        identity_digest(nik=nik, nik_hash=nik_hash), utc_now_iso()
    )
    body: dict[str, Any] = {
        "kpj": member.kpj,
        "status": "registered" if is_new else "already_registered",
        "registered_at": member.registered_at,
        "reference": reference,
        "warnings": nik_warnings(nik, born) if nik is not None else [],
    }
    current_state().by_reference["insurer.registration"].add_first(reference, body)
    if not is_new:
        return body, 200
    record_effect("insurer.registration", reference, member.kpj)
    return body, 201


@bp.get("/registrations/by-reference/<path:reference>")
@partner_endpoint("insurer")
def find_registration(reference: str) -> tuple[dict[str, Any], int]:
    """The registration answered for the caller's ``reference``, whatever key it came with."""
    return _by_reference("insurer.registration", reference), 200


@bp.get("/dues/by-reference/<path:reference>")
@partner_endpoint("insurer")
def find_dues(reference: str) -> tuple[dict[str, Any], int]:
    """The dues remittance accepted for the caller's ``reference``, whatever key it came with."""
    return _by_reference("insurer.dues", reference), 200


@bp.get("/ping")
@partner_endpoint("insurer")
def ping() -> tuple[dict[str, Any], int]:
    """Payung's "test connection" button: a signed GET that changes nothing."""
    return {"status": "ok", "api": "insurer"}, 200


def _by_reference(kind: str, reference: str) -> dict[str, Any]:
    found = current_state().by_reference[kind].get(reference)
    if found is None:
        raise PartnerError(404, "reference_not_found", f"nothing has reference {reference}")
    return found


def _programmes(fields: Fields) -> list[str] | None:
    programmes = fields.string_list("programmes", max_items=3)
    if programmes is None:
        return None
    for programme in programmes:
        if programme in NOT_FOR_BPU:
            fields.add_error("programmes", f"{programme} is not available to BPU workers")
        elif programme not in COMPULSORY + OPTIONAL:
            fields.add_error("programmes", f"unknown programme {programme!r}")
    if not set(COMPULSORY) <= set(programmes):
        fields.add_error("programmes", "JKK and JKM are compulsory")
    return None if "programmes" in fields.errors else programmes


def _months(fields: Fields) -> list[str] | None:
    months = fields.string_list("months", max_items=12)
    if months is None:
        return None
    if not all(MONTH_PATTERN.fullmatch(month) for month in months):
        fields.add_error("months", "each month must be YYYY-MM")
        return None
    indexes = [int(month[:4]) * 12 + int(month[5:]) for month in months]
    if indexes != list(range(indexes[0], indexes[0] + len(indexes))):
        fields.add_error("months", "must be consecutive months in order")
        return None
    return months


@bp.post("/dues")
@partner_endpoint("insurer")
def remit_dues() -> tuple[dict[str, Any], int]:
    fields = Fields(parse_json_object(request.get_data(cache=True)), allowed=DUES_FIELDS)
    kpj = fields.string(
        "kpj", max_length=11, pattern=KPJ_PATTERN, pattern_message="must be 11 digits"
    )
    months = _months(fields)
    programmes = _programmes(fields)
    amount_idr = fields.integer("amount_idr", minimum=1, maximum=10**10)
    reference = fields.string("reference", max_length=100)
    fields.raise_if_invalid()
    assert kpj and months and programmes and amount_idr and reference

    state = current_state()
    if not state.members.is_member(kpj):
        raise PartnerError(422, "kpj_not_found", "no BPU member has this KPJ")
    bands = ["base", "JHT"] if "JHT" in programmes else ["base"]
    low = len(months) * sum(MIN_MONTHLY_IDR[band] for band in bands)
    high = len(months) * sum(MAX_MONTHLY_IDR[band] for band in bands)
    if not low <= amount_idr <= high:
        raise PartnerError(
            422,
            "amount_out_of_range",
            f"Rp{amount_idr} for {len(months)} month(s) of {'+'.join(programmes)} "
            f"must be between Rp{low} and Rp{high}",
        )

    already_paid = state.members.record_paid_months(kpj, months)
    if already_paid:
        state.ledger.count("insurer.months_paid_twice", already_paid)
    remittance_id = f"rem_{secrets.token_hex(8)}"
    last_year, last_month = int(months[-1][:4]), int(months[-1][5:])
    record_effect("insurer.dues", reference, remittance_id)
    answer = {
        "remittance_id": remittance_id,
        "status": "accepted",
        "kpj": kpj,
        "months": months,
        "programmes": programmes,
        "amount_idr": amount_idr,
        "reference": reference,
        "covered_until": month_end(last_year, last_month).isoformat(),
        "accepted_at": utc_now_iso(),
    }
    state.by_reference["insurer.dues"].add_first(reference, answer)
    return answer, 201
