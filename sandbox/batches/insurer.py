"""Collective BPJS calls: registrations and a dues remittance for many members at once.

BPU dues are really paid per collective: an agent (here: Payung) remits one sum per period with
a line per member. ``POST /insurer/v1/collective/registrations`` takes ``{"members": [{nik,
full_name, birth_date, reference}, …]}``; ``POST /insurer/v1/collective/dues`` takes
``{"period": "YYYY-MM", "members": [{kpj, months, programmes, amount_idr, reference}, …]}``.
Both answer a result per member in order: what the single call answers, or ``{"reference",
"error"}`` for that member alone. ``GET /insurer/v1/collective/by-references?kind=dues|
registration&references=…`` says what was already done for each reference.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Blueprint, request

from sandbox.batches.common import batch_items, invalid, item_reference, references_query, refused
from sandbox.batches.control import item_error
from sandbox.dates import month_end, utc_now_iso
from sandbox.errors import PartnerError
from sandbox.insurer import (
    KPJ_PATTERN,
    MAX_MONTHLY_IDR,
    MIN_MONTHLY_IDR,
    NIK_PATTERN,
    _birth_date,
    _months,
    _programmes,
)
from sandbox.members import identity_digest, nik_exists, nik_warnings
from sandbox.pipeline import partner_endpoint, record_effect
from sandbox.state import current_state
from sandbox.validation import Fields

bp = Blueprint("insurer_batches", __name__, url_prefix="/insurer/v1/collective")

REGISTRATION_FIELDS = {"nik", "full_name", "birth_date", "reference"}
DUES_FIELDS = {"kpj", "months", "programmes", "amount_idr", "reference"}
PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
KINDS = {"dues": "insurer.dues", "registration": "insurer.registration"}


def _registration(item: dict[str, Any]) -> dict[str, Any]:
    reference = item_reference(item)
    fields = Fields(item, allowed=REGISTRATION_FIELDS)
    nik = fields.string("nik", pattern=NIK_PATTERN, pattern_message="must be 16 digits")
    fields.string("full_name", max_length=200)
    born = _birth_date(fields)
    fields.string("reference", max_length=100)
    if fields.errors:
        return invalid(reference, fields)
    assert nik and born
    if not nik_exists(nik):
        return refused(reference, "nik_not_found", "the civil registry has no such NIK")
    error = item_error(reference)
    if error is not None:
        return {"reference": reference, "error": error}
    state = current_state()
    member, is_new = state.members.register(identity_digest(nik=nik, nik_hash=None), utc_now_iso())
    body: dict[str, Any] = {
        "kpj": member.kpj,
        "status": "registered" if is_new else "already_registered",
        "registered_at": member.registered_at,
        "reference": reference,
        "warnings": nik_warnings(nik, born),
    }
    state.by_reference["insurer.registration"].add_first(reference, body)
    if is_new:
        record_effect("insurer.registration", reference, member.kpj)
    return body


def _dues(item: dict[str, Any]) -> dict[str, Any]:
    reference = item_reference(item)
    fields = Fields(item, allowed=DUES_FIELDS)
    kpj = fields.string("kpj", max_length=11, pattern=KPJ_PATTERN)
    months = _months(fields)
    programmes = _programmes(fields)
    amount = fields.integer("amount_idr", minimum=1, maximum=10**10)
    fields.string("reference", max_length=100)
    if fields.errors:
        return invalid(reference, fields)
    assert kpj and months and programmes and amount
    state = current_state()
    if not state.members.is_member(kpj):
        return refused(reference, "kpj_not_found", "no BPU member has this KPJ")
    bands = ["base", "JHT"] if "JHT" in programmes else ["base"]
    low = len(months) * sum(MIN_MONTHLY_IDR[band] for band in bands)
    high = len(months) * sum(MAX_MONTHLY_IDR[band] for band in bands)
    if not low <= amount <= high:
        return refused(reference, "amount_out_of_range", f"Rp{amount} is out of range")
    error = item_error(reference)
    if error is not None:
        return {"reference": reference, "error": error}
    already_paid = state.members.record_paid_months(kpj, months)
    if already_paid:
        state.ledger.count("insurer.months_paid_twice", already_paid)
    remittance_id = f"rem_{secrets.token_hex(8)}"
    record_effect("insurer.dues", reference, remittance_id)
    answer = {
        "remittance_id": remittance_id,
        "status": "accepted",
        "kpj": kpj,
        "months": months,
        "programmes": programmes,
        "amount_idr": amount,
        "reference": reference,
        "covered_until": month_end(int(months[-1][:4]), int(months[-1][5:])).isoformat(),
        "accepted_at": utc_now_iso(),
    }
    state.by_reference["insurer.dues"].add_first(reference, answer)
    return answer


@bp.post("/registrations")
@partner_endpoint("insurer")
def register_members() -> tuple[dict[str, Any], int]:
    _body, items = batch_items("members")
    return {"results": [_registration(item) for item in items]}, 200


@bp.post("/dues")
@partner_endpoint("insurer")
def remit_collective() -> tuple[dict[str, Any], int]:
    body, items = batch_items("members")
    period = body.get("period")
    if not isinstance(period, str) or not PERIOD.fullmatch(period):
        raise PartnerError(400, "invalid_request", "period must be YYYY-MM")
    results = [_dues(item) for item in items]
    accepted = [r for r in results if r.get("status") == "accepted"]
    return {
        "collective_id": f"col_{secrets.token_hex(8)}",
        "period": period,
        "accepted": len(accepted),
        "total_idr": sum(int(r["amount_idr"]) for r in accepted),
        "results": results,
    }, 200


@bp.get("/by-references")
@partner_endpoint("insurer")
def find_collective() -> tuple[dict[str, Any], int]:
    kind = KINDS.get(request.args.get("kind", ""))
    if kind is None:
        raise PartnerError(400, "invalid_request", "kind must be dues or registration")
    book = current_state().by_reference[kind]
    return {"found": {ref: book.get(ref) for ref in references_query()}}, 200
