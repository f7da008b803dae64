"""Enrolment is not an oracle for who is in Payung (issue 13, item 1).

A partner learns only what it needs to fix its own file: conflicts with the workers it sent
itself. A NIK or phone of someone registered by another partner, or by themself, is answered
exactly like a new person's, with and without ``check_only``; and the rows a key may send are
budgeted, not only its requests.
"""

import pytest
from sqlalchemy import func, select

from bundles.models import PartnerKind
from extensions import db
from messaging.models import Message
from tests.bundles.test_api_enrolment import worker_row
from vault import digest
from workers.enrolment.models import EnrolmentRequest
from workers.models import Worker

KNOWN_NIK = "3201015205909001"
FRESH_NIK = "3201015205909002"


def row(nik, phone, **changes):
    return worker_row(1, nik=nik, phone=phone, **changes)


def send(client, auth, rows, *, check_only=False):
    response = client.post(
        "/api/v1/workers", json={"workers": rows, "check_only": check_only}, headers=auth
    )
    return response.status_code, response.get_json()


def worker_count():
    return db.session.scalar(select(func.count()).select_from(Worker))


@pytest.fixture
def agent(make_partner):
    return make_partner(PartnerKind.AGENT)


@pytest.fixture
def auth(agent, api_key_for):
    return api_key_for(agent)


@pytest.fixture
def other_partner(make_partner):
    return make_partner(PartnerKind.AGENT)


@pytest.fixture(params=["another partner", "themself"])
def known_worker(request, make_worker, other_partner):
    enrolled_by = other_partner.id if request.param == "another partner" else None
    return make_worker(
        nik=KNOWN_NIK, phone_e164="+6285711110001", enrolled_by_partner_id=enrolled_by
    )


@pytest.mark.parametrize("check_only", [True, False])
def test_a_known_nik_is_answered_like_an_unknown_one(client, auth, known_worker, check_only):
    # Phones that mask alike (+62 857-••••-001), so only the NIK differs between the rows.
    known = send(client, auth, [row(KNOWN_NIK, "085722220001")], check_only=check_only)
    unknown = send(client, auth, [row(FRESH_NIK, "085733330001")], check_only=check_only)
    assert known == unknown
    assert known[1]["rows"][0]["status"] == ("checked" if check_only else "imported")
    assert known[1]["rows"][0]["worker_id"] is None


@pytest.mark.parametrize("check_only", [True, False])
def test_a_known_phone_is_answered_like_an_unknown_one(client, auth, known_worker, check_only):
    known = send(client, auth, [row(FRESH_NIK, "085711110001")], check_only=check_only)
    unknown = send(client, auth, [row("3201015205909003", "085744440001")], check_only=check_only)
    assert known == unknown


def test_sending_a_known_person_again_looks_like_sending_a_new_one_again(
    client, auth, known_worker
):
    send(client, auth, [row(KNOWN_NIK, "085722220001")])
    send(client, auth, [row(FRESH_NIK, "085733330001")])
    again_known = send(client, auth, [row(KNOWN_NIK, "085722220001")])
    again_fresh = send(client, auth, [row(FRESH_NIK, "085733330001")])
    assert again_known == again_fresh
    assert again_known[1]["rows"][0]["status"] == "skipped"
    phone_known = send(client, auth, [row("3201015205909005", "085722220001")])
    phone_fresh = send(client, auth, [row("3201015205909006", "085733330001")])
    assert phone_known == phone_fresh
    assert phone_known[1]["rows"][0]["status"] == "refused"


def test_a_known_person_is_held_for_them_and_nothing_about_them_changes(
    client, auth, agent, known_worker
):
    before = (known_worker.enrolled_by_partner_id, known_worker.full_name, worker_count())
    status, _body = send(client, auth, [row(KNOWN_NIK, "085722220001", full_name="Palsu")])
    assert status == 200
    db.session.refresh(known_worker)
    assert (known_worker.enrolled_by_partner_id, known_worker.full_name, worker_count()) == before
    request = db.session.scalar(select(EnrolmentRequest))
    assert (request.partner_id, request.worker_id) == (agent.id, known_worker.id)
    assert request.nik_digest == digest(KNOWN_NIK, purpose="nik")
    told = db.session.scalars(select(Message).where(Message.recipient == "+6285711110001")).all()
    assert len(told) == 1 and agent.name in told[0].body
    assert "nothing changed" in told[0].body or "tidak ada yang berubah" in told[0].body.lower()


def test_conflicts_with_the_partners_own_workers_are_still_reported(client, auth):
    _status, first = send(client, auth, [row(FRESH_NIK, "085733330001")])
    assert first["imported"] == 1 and worker_count() == 1

    _status, same = send(client, auth, [row(FRESH_NIK, "085733330001")], check_only=True)
    assert same["rows"][0]["status"] == "skipped"
    assert "already sent" in " ".join(same["rows"][0]["messages"])

    _status, phone = send(client, auth, [row("3201015205909007", "085733330001")])
    assert phone["rows"][0]["status"] == "refused"
    assert "phone number" in " ".join(phone["rows"][0]["messages"])
    assert worker_count() == 1


class TestIdentityBudget:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_PARTNER_API_IDENTITIES": "5 per hour"}

    def test_rows_not_requests_are_budgeted_per_key(self, client, auth, agent, api_key_for):
        rows = [worker_row(n) for n in range(1, 4)]
        assert send(client, auth, rows, check_only=True)[0] == 200

        response = client.post(
            "/api/v1/workers", json={"workers": rows, "check_only": True}, headers=auth
        )
        assert response.status_code == 429
        assert response.get_json()["error"]["code"] == "identity_limit"
        assert "Retry in" in response.get_json()["error"]["message"]
        assert 0 < int(response.headers["Retry-After"]) <= 3600

        # A refused request spends nothing: two rows still fit, then nothing does.
        assert send(client, auth, rows[:2])[0] == 200
        assert worker_count() == 2
        assert send(client, auth, rows[2:])[0] == 429
        assert worker_count() == 2

        # Another key has its own budget.
        assert send(client, api_key_for(agent), rows, check_only=True)[0] == 200
