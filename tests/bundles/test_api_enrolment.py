"""Agents register workers through the API with the same service as the CSV import."""

import pytest
from sqlalchemy import func, select

from bundles.models import PartnerKind
from extensions import db
from workers.models import Worker


def worker_row(n, **changes):
    row = {
        "full_name": f"Sri Pekerja {n}",
        "nik": f"320101520590{n:04d}",
        "phone": f"0857{n:08d}",
        "birth_date": "1990-05-12",
        "gender": "female",
        "occupation": "farmer",
        "province": "Jawa Barat",
        "regency": "Kab. Garut",
        "heir_name": "Budi",
        "heir_relation": "spouse",
        "consent_listing": True,
        "consent_insurer": True,
    }
    return row | changes


def workers():
    return db.session.scalar(select(func.count()).select_from(Worker))


@pytest.fixture
def agent_auth(make_partner, api_key_for):
    return api_key_for(make_partner(PartnerKind.AGENT))


def test_an_agent_registers_workers_and_each_row_is_judged_alone(client, agent_auth):
    body = {"workers": [worker_row(1), worker_row(2, nik="123"), worker_row(3)]}
    response = client.post("/api/v1/workers", json=body, headers=agent_auth)
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert (result["imported"], result["refused"]) == (2, 1)
    assert [row["status"] for row in result["rows"]] == ["imported", "refused", "imported"]
    assert result["rows"][1]["messages"]
    text = response.get_data(as_text=True)
    assert "3201015205900001" not in text  # no NIK in answers
    assert "085700000001" not in text and "+6285700000001" not in text  # phones masked
    assert workers() == 2

    again = client.post("/api/v1/workers", json={"workers": [worker_row(1)]}, headers=agent_auth)
    assert again.get_json()["skipped"] == 1
    assert workers() == 2


def test_check_only_registers_nobody(client, agent_auth):
    response = client.post(
        "/api/v1/workers", json={"workers": [worker_row(1)], "check_only": True}, headers=agent_auth
    )
    assert response.get_json()["checked"] == 1
    assert workers() == 0


def test_only_agents_may_register_workers(client, make_partner, api_key_for):
    auth = api_key_for(make_partner(PartnerKind.HEALTH_APP))
    response = client.post("/api/v1/workers", json={"workers": [worker_row(1)]}, headers=auth)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "not_an_agent"
    assert workers() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"workers": []},
        {"workers": [worker_row(1, consent_listing="ya")]},
        {"workers": [worker_row(1, birth_date="12/05/1990")]},
        {"workers": [worker_row(1, shoe_size=42)]},
        {"workers": [{k: v for k, v in worker_row(1).items() if k != "nik"}]},
        {"workers": [worker_row(n) for n in range(1001)]},
    ],
)
def test_malformed_enrolments_change_nothing(client, agent_auth, body):
    response = client.post("/api/v1/workers", json=body, headers=agent_auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"
    assert workers() == 0
