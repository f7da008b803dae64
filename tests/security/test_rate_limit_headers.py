"""X-RateLimit headers go with the partner API, whose clients pace themselves by them; a page
for people gets none (each cost two round trips to the limits' storage), and a 429 page still
says when to try again in Retry-After."""

import pytest

from bundles.models import PartnerKind
from extensions import db
from fulfillment.claims.codes import generate_claim_code
from partnerhome.api.keys import create_api_key

LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "RATELIMIT_CLAIM_FAILURES": "2 per hour"}


def test_the_partner_api_reports_its_budget(client, make_partner):
    _key, plain = create_api_key(make_partner(PartnerKind.AGENT), name="pacing", created_by_id=None)
    db.session.commit()
    auth = {"Authorization": f"Bearer {plain}"}
    first = client.get("/api/v1/offers", headers=auth)
    second = client.get("/api/v1/offers", headers=auth)
    assert first.status_code == second.status_code == 200
    assert all(name in first.headers for name in LIMIT_HEADERS)
    assert int(second.headers["X-RateLimit-Remaining"]) == (
        int(first.headers["X-RateLimit-Remaining"]) - 1
    )


def test_pages_for_people_carry_none_and_a_429_still_says_when(client):
    answers = [client.post("/klaim", data={"code": generate_claim_code()}) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [422, 422, 429]
    for answer in answers:
        assert not any(name in answer.headers for name in LIMIT_HEADERS)
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 3600
