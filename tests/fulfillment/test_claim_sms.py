"""Claiming by SMS: the gateway posts ``KLAIM <code>`` signed with SMS_INBOUND_SECRET; the
worker's own number gets the essentials back, anyone else learns nothing."""

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from core.signing import sign
from extensions import db
from messaging.models import Message
from tests.fulfillment.test_claim import KPJ, build_line, claimed_at

SECRET = "test-sms-inbound-secret"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"SMS_INBOUND_SECRET": SECRET}


def post_sms(client: Any, sender: str, text: str, *, secret: str = SECRET) -> Any:
    body = json.dumps({"id": "gw-1", "from": sender, "text": text}).encode()
    timestamp = int(time.time())
    return client.post(
        "/sms/inbound",
        data=body,
        content_type="application/json",
        headers={
            "X-Payung-Timestamp": str(timestamp),
            "X-Payung-Signature": sign(secret.encode(), timestamp, body),
        },
    )


def replies(recipient: str) -> list[str]:
    """The replies' texts as the phone got them."""
    return [
        message.full_body()
        for message in db.session.scalars(
            select(Message)
            .where(Message.recipient == recipient, Message.purpose == "claim_sms_reply")
            .order_by(Message.id)
        )
    ]


def test_the_owner_texting_klaim_gets_the_essentials_and_the_bundle_is_claimed(app, client):
    line = build_line()
    response = post_sms(client, line["phone"], f"klaim {line['code'].lower()}")
    assert response.status_code == 200
    [reply] = replies(line["phone"])
    assert line["voucher"] in reply and KPJ in reply and "31-03-2026" in reply
    assert claimed_at(line["claim_id"]) is not None


def test_another_number_learns_nothing_and_claims_nothing(app, client):
    line = build_line()
    assert post_sms(client, "+6281377777777", f"KLAIM {line['code']}").status_code == 200
    [reply] = replies("+6281377777777")
    assert line["voucher"] not in reply and KPJ not in reply
    assert claimed_at(line["claim_id"]) is None


def test_a_bad_signature_is_refused_and_nothing_is_sent(app, client):
    line = build_line()
    before = db.session.scalar(select(func.count()).select_from(Message))
    response = post_sms(client, line["phone"], f"KLAIM {line['code']}", secret="wrong")
    assert response.status_code == 401
    assert db.session.scalar(select(func.count()).select_from(Message)) == before
    assert claimed_at(line["claim_id"]) is None


def test_other_texts_get_a_short_help(app, client):
    line = build_line()
    assert post_sms(client, line["phone"], "halo").status_code == 200
    [reply] = replies(line["phone"])
    assert "KLAIM" in reply
    assert claimed_at(line["claim_id"]) is None


class TestWithoutSecret:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {}

    def test_the_endpoint_is_off(self, app, client):
        line = build_line()
        response = post_sms(client, line["phone"], f"KLAIM {line['code']}")
        assert response.status_code == 404
        assert claimed_at(line["claim_id"]) is None
