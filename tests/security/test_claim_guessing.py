"""Guessing bundle codes is stopped by the limits as configured for production (not a test
override): an IP waits after 10 wrong codes, while the real owner — right code, right phone —
claims from their own phone's connection. tests/fulfillment/test_claim.py covers the same with
tightened limits; this pins the shipped numbers."""

import re
from typing import Any

import pytest
from sqlalchemy import select

from config import CONFIGS
from extensions import db
from fulfillment.claims.codes import generate_claim_code
from fulfillment.models import ClaimCode
from tests.fulfillment.test_claim import build_line, otp_sent_to


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"RATELIMIT_ENABLED": True}  # and the production limits


def test_production_keeps_claim_limits_on():
    assert CONFIGS["production"].RATELIMIT_ENABLED is True


def test_an_ip_waits_after_ten_wrong_codes_and_the_owner_still_claims(app):
    assert "RATELIMIT_CLAIM_FAILURES" not in app.config or re.match(
        r"10 per", app.config["RATELIMIT_CLAIM_FAILURES"]
    )
    line = build_line()
    guesser = app.test_client()
    statuses = [guesser.post("/klaim", data={"code": generate_claim_code()}).status_code]
    statuses += [
        guesser.post("/klaim", data={"code": generate_claim_code()}).status_code for _ in range(9)
    ]
    assert statuses == [422] * 10
    # The 11th try waits, even with the right code: guessing is not rewarded.
    assert guesser.post("/klaim", data={"code": line["code"]}).status_code == 429
    claimed = db.session.scalar(
        select(ClaimCode.claimed_at).where(ClaimCode.id == line["claim_id"])
    )
    assert claimed is None

    owner = app.test_client()
    at_home = {"REMOTE_ADDR": "10.9.8.7"}
    assert (
        owner.post("/klaim", data={"code": line["code"]}, environ_base=at_home).status_code == 302
    )
    response = owner.post(
        "/klaim/kode", data={"code": otp_sent_to(line["phone"])}, environ_base=at_home
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/saya/paket/{line['claim_id']}"
    db.session.expire_all()
    claimed = db.session.scalar(
        select(ClaimCode.claimed_at).where(ClaimCode.id == line["claim_id"])
    )
    assert claimed is not None
