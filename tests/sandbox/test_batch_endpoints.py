"""The sandbox's batch endpoints over real HTTP: a result per item, one key per batch, per-item
faults, and lookups by reference for a caller that lost an answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import requests

if TYPE_CHECKING:
    from tests.sandbox_support import PartnerSandbox

pytest_plugins = ["tests.sandbox_support"]

SITI_NIK = "3201014501900001"


@pytest.fixture(autouse=True)
def _no_item_faults(sandbox: PartnerSandbox) -> Iterator[None]:
    requests.post(sandbox.url("/_batch_faults"), json={}, timeout=10).raise_for_status()
    yield
    requests.post(sandbox.url("/_batch_faults"), json={}, timeout=10).raise_for_status()


def _topup(reference: str, msisdn: str = "+6281234567890") -> dict[str, Any]:
    return {
        "msisdn": msisdn,
        "package_code": "TSEL-5GB",
        "quota_mb": 5120,
        "validity_days": 30,
        "reference": reference,
    }


def test_a_bulk_topup_answers_each_number_and_one_bad_number_sinks_nothing(sandbox):
    batch = [_topup("r-1"), _topup("r-2", msisdn="+6285712345678"), _topup("r-3")]
    answer = sandbox.signed_post("/telco/v1/topups/batch", {"topups": batch}, "b-1")
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["reference"] for r in results] == ["r-1", "r-2", "r-3"]
    assert results[0]["status"] == results[2]["status"] == "pending"
    assert results[1]["error"]["code"] == "operator_not_supported"
    stats = sandbox.stats()
    assert stats["effects_by_kind"] == {"telco.topup": 2}
    assert stats["requests"]["by_api"] == {"telco": 1}

    # The same batch under the same key is replayed, not done again.
    again = sandbox.signed_post("/telco/v1/topups/batch", {"topups": batch}, "b-1")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == answer.json()
    assert sandbox.stats()["effects_total"] == 2

    # One status query for the whole batch; a top-up is final on its second poll.
    ids = ",".join(r["topup_id"] for r in results if "topup_id" in r)
    sandbox.signed_get(f"/telco/v1/topups/batch-status?ids={ids}")
    polled = sandbox.signed_get(f"/telco/v1/topups/batch-status?ids={ids},tp_nope").json()
    assert [r.get("status") for r in polled["results"]] == ["success", "success", None]
    assert polled["results"][2]["error"]["code"] == "topup_not_found"

    found = sandbox.signed_get("/telco/v1/topups/by-references?references=r-1,r-2").json()
    assert found["found"]["r-1"]["topup_id"] == results[0]["topup_id"]
    assert found["found"]["r-2"] is None


def test_a_per_item_fault_fails_that_item_alone_and_leaves_it_undone(sandbox):
    requests.post(
        sandbox.url("/_batch_faults"), json={"fail_references": ["r-2"]}, timeout=10
    ).raise_for_status()
    batch = [_topup("r-1"), _topup("r-2")]
    results = sandbox.signed_post("/telco/v1/topups/batch", {"topups": batch}, "b-2").json()[
        "results"
    ]
    assert results[0]["status"] == "pending"
    assert results[1]["error"]["code"] == "partner_unavailable"
    assert sandbox.stats()["effects_by_kind"] == {"telco.topup": 1}


def test_reset_turns_the_batch_faults_off_with_the_others(sandbox):
    switches = {
        "fail_references": ["r-9"],
        "refuse_references": ["r-8"],
        "drop_callbacks": True,
        "callback_delay_ms": 500,
    }
    requests.post(sandbox.url("/_batch_faults"), json=switches, timeout=10).raise_for_status()
    requests.post(sandbox.url("/_reset"), timeout=10).raise_for_status()
    after = requests.get(sandbox.url("/_batch_faults"), timeout=10).json()
    assert after == {
        "fail_references": [],
        "refuse_references": [],
        "drop_callbacks": False,
        "callback_delay_ms": 0,
        "hits": 0,
    }
    results = sandbox.signed_post("/telco/v1/topups/batch", {"topups": [_topup("r-9")]}, "b-9")
    assert results.json()["results"][0]["status"] == "pending"


def test_a_collective_remittance_registers_and_pays_per_member(sandbox):
    members = [
        {"nik": SITI_NIK, "full_name": "Siti", "birth_date": "1990-01-05", "reference": "d-1"},
        {"nik": "12", "full_name": "X", "birth_date": "1990-01-05", "reference": "d-2"},
    ]
    registered = sandbox.signed_post(
        "/insurer/v1/collective/registrations", {"members": members}, "reg-1"
    ).json()["results"]
    kpj = registered[0]["kpj"]
    assert registered[1]["error"]["code"] == "validation_failed"

    dues = {
        "kpj": kpj,
        "months": ["2026-12", "2027-01"],
        "programmes": ["JKK", "JKM"],
        "amount_idr": 33_600,
        "reference": "d-1",
    }
    other = dues | {"kpj": "99999999999", "reference": "d-3"}
    answer = sandbox.signed_post(
        "/insurer/v1/collective/dues", {"period": "2026-12", "members": [dues, other]}, "dues-1"
    ).json()
    assert answer["accepted"] == 1 and answer["total_idr"] == 33_600
    first, second = answer["results"]
    assert first["status"] == "accepted" and first["covered_until"] == "2027-01-31"
    assert second["error"]["code"] == "kpj_not_found"

    found = sandbox.signed_get(
        "/insurer/v1/collective/by-references?kind=dues&references=d-1,d-3"
    ).json()["found"]
    assert found["d-1"]["remittance_id"] == first["remittance_id"] and found["d-3"] is None
    stats = sandbox.stats()
    assert stats["effects_by_kind"] == {"insurer.registration": 1, "insurer.dues": 1}
    assert stats["duplicate_effects"] == 0


def test_a_collective_call_without_a_period_or_members_is_refused(sandbox):
    no_period = sandbox.signed_post("/insurer/v1/collective/dues", {"members": [{}]}, "x-1")
    assert no_period.status_code == 400
    empty = sandbox.signed_post("/telco/v1/topups/batch", {"topups": []}, "x-2")
    assert empty.status_code == 400
    assert sandbox.stats()["effects_total"] == 0
