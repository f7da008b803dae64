"""A real partner keeps its idempotency keys, answers and effects when it restarts, answers a
lookup by the caller's reference, and answers Payung's signed "test connection" ping."""

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox_support import PartnerSandbox, start_partner_sandbox, stop_partner_sandbox

NIK = "3171014501900001"


class RestartableSandbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.process, self.handle = start_partner_sandbox(
            directory / "sandbox.log", state_dir=directory
        )

    def restart(self, *, kill: bool) -> PartnerSandbox:
        if kill:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        else:
            stop_partner_sandbox(self.process)
        port = int(self.handle.base_url.rsplit(":", 1)[1])
        self.process, self.handle = start_partner_sandbox(
            self.directory / "sandbox.log", state_dir=self.directory, port=port
        )
        return self.handle


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[RestartableSandbox]:
    sandbox = RestartableSandbox(tmp_path)
    yield sandbox
    stop_partner_sandbox(sandbox.process)


def _register_and_pay(sandbox: PartnerSandbox) -> tuple[dict, dict]:
    registration = sandbox.signed_post(
        "/insurer/v1/registrations",
        {"nik": NIK, "full_name": "Siti", "birth_date": "1990-01-05", "reference": "ref-1"},
        "ref-1:register",
    )
    assert registration.status_code == 201, registration.text
    dues = sandbox.signed_post(
        "/insurer/v1/dues",
        {
            "kpj": registration.json()["kpj"],
            "months": ["2026-01"],
            "programmes": ["JKK", "JKM"],
            "amount_idr": 16_800,
            "reference": "ref-1",
        },
        "ref-1:dues",
    )
    assert dues.status_code == 201, dues.text
    return registration.json(), dues.json()


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_keys_answers_and_effects_survive_a_restart(own_sandbox, kill):
    registration, dues = _register_and_pay(own_sandbox.handle)
    topup = own_sandbox.handle.signed_post(
        "/telco/v1/topups",
        {
            "msisdn": "+6281234567890",
            "package_code": "P1",
            "quota_mb": 1024,
            "validity_days": 30,
            "reference": "ref-2",
        },
        "ref-2:topup",
    ).json()

    sandbox = own_sandbox.restart(kill=kill)

    again = sandbox.signed_post(
        "/insurer/v1/dues",
        {
            "kpj": registration["kpj"],
            "months": ["2026-01"],
            "programmes": ["JKK", "JKM"],
            "amount_idr": 16_800,
            "reference": "ref-1",
        },
        "ref-1:dues",
    )
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == dues  # the stored answer, not a second remittance
    stats = sandbox.stats()
    assert stats["effects_by_kind"] == {
        "insurer.registration": 1,
        "insurer.dues": 1,
        "telco.topup": 1,
    }
    assert stats["duplicate_effects"] == 0
    assert sandbox.signed_get(f"/telco/v1/topups/{topup['topup_id']}").status_code == 200


def test_a_lookup_by_reference_tells_whether_the_first_request_happened(own_sandbox):
    sandbox = own_sandbox.handle
    assert sandbox.signed_get("/insurer/v1/dues/by-reference/ref-1").status_code == 404
    registration, dues = _register_and_pay(sandbox)
    sandbox = own_sandbox.restart(kill=True)

    found = sandbox.signed_get("/insurer/v1/dues/by-reference/ref-1")
    assert found.status_code == 200
    assert found.json()["remittance_id"] == dues["remittance_id"]
    found = sandbox.signed_get("/insurer/v1/registrations/by-reference/ref-1")
    assert found.json()["kpj"] == registration["kpj"]
    missing = sandbox.signed_get("/health/v1/activations/by-reference/ref-1")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "reference_not_found"
    unsigned = sandbox.signed_get(
        "/insurer/v1/dues/by-reference/ref-1", secret=b"not-the-insurer-secret"
    )
    assert unsigned.status_code == 401


def test_lookups_by_reference_for_top_ups_and_activations(sandbox):
    topup = sandbox.signed_post(
        "/telco/v1/topups",
        {
            "msisdn": "+6281234567890",
            "package_code": "P1",
            "quota_mb": 1024,
            "validity_days": 30,
            "reference": "ref-t",
        },
        "ref-t:topup",
    ).json()
    activation = sandbox.signed_post(
        "/health/v1/activations",
        {"voucher_plan": "FIT", "months": 1, "reference": "ref-h", "member_ref": "w-1"},
        "ref-h:activation",
    ).json()
    found = sandbox.signed_get("/telco/v1/topups/by-reference/ref-t").json()
    assert found["topup_id"] == topup["topup_id"]
    found = sandbox.signed_get("/health/v1/activations/by-reference/ref-h").json()
    assert found["activation_code"] == activation["activation_code"]


@pytest.mark.parametrize("api", ["telco/v1", "health/v1", "insurer/v1"])
def test_each_api_answers_a_signed_ping(sandbox, api):
    assert sandbox.signed_get(f"/{api}/ping").json() == {
        "status": "ok",
        "api": api.split("/")[0],
    }
    wrong = sandbox.signed_get(f"/{api}/ping", secret=b"wrong")
    assert wrong.status_code == 401
    assert sandbox.stats()["effects_total"] == 0
