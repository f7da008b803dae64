"""A worker thanks the sponsor of a bundle: once per bundle, a preset sentence and a few words
of their own; the sponsor reads it on the order page and by email, never with the worker's
phone number or NIK."""

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from accounts.models import Role, User
from extensions import db
from messaging.models import Message
from sponsorship.checkout.models import OrderStatus
from sponsorship.notes.models import ThankYou
from sponsorship.notes.thanks import PHRASES, ThanksPhrase
from tests.sponsorship.test_worker_self import signed_in_worker

NIK_PATTERN = re.compile(r"\b\d{16}\b")


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {}


def thanks_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ThankYou))


def as_user(app: Any, user: User) -> Any:
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = user.get_id()
    return other


def test_the_sponsor_gets_the_thanks_by_email_and_on_the_order_page(app, client):
    line = signed_in_worker(client)
    line_id = line["order"].lines[0].id
    response = client.post(
        f"/saya/terima-kasih/{line_id}", data={"phrase": "feel_safe", "text": "Matur nuwun, Bu!"}
    )
    assert response.status_code == 302
    sponsor = db.session.get(User, line["order"].sponsor_id)
    email = db.session.scalar(select(Message).where(Message.purpose == "worker_thanks"))
    assert email.recipient == sponsor.email and email.channel == "email"
    assert "Matur nuwun, Bu!" in email.body and line["order"].reference in email.body
    assert line["phone"] not in email.body and not NIK_PATTERN.search(email.body)
    page = as_user(app, sponsor).get(f"/pesanan/{line['order'].reference}").text
    assert "Matur nuwun, Bu!" in page and line["phone"] not in page
    assert "Ucapan terima kasih dari pekerja: 1" in page
    with app.test_request_context():
        assert str(PHRASES[ThanksPhrase.FEEL_SAFE]) in page
    assert "Thank-you sent" in client.get("/saya").text or "Ucapan terima kasih terkirim" in (
        client.get("/saya").text
    )


def test_a_line_is_thanked_only_once(app, client):
    line = signed_in_worker(client)
    path = f"/saya/terima-kasih/{line['order'].lines[0].id}"
    assert client.post(path, data={"phrase": "thank_you"}).status_code == 302
    again = client.post(path, data={"phrase": "bless_you", "text": "lagi"})
    assert again.status_code == 200 and "lagi" not in again.text
    assert thanks_count() == 1
    emails = db.session.scalar(
        select(func.count()).select_from(Message).where(Message.purpose == "worker_thanks")
    )
    assert emails == 1


@pytest.mark.parametrize(
    "data",
    [
        {"phrase": "thank_you", "text": "x" * 161},
        {"phrase": "thank_you", "text": "WA saya 0812-3456-7890 ya"},
        {"phrase": "give_me_money"},
        {},
    ],
)
def test_a_wrong_thank_you_is_refused_and_sends_nothing(app, client, data):
    line = signed_in_worker(client)
    before = db.session.scalar(select(func.count()).select_from(Message))
    response = client.post(f"/saya/terima-kasih/{line['order'].lines[0].id}", data=data)
    assert response.status_code == 422
    assert thanks_count() == 0
    assert db.session.scalar(select(func.count()).select_from(Message)) == before


def test_nobody_else_can_thank_for_a_workers_bundle(app, client, make_user):
    line = signed_in_worker(client)
    path = f"/saya/terima-kasih/{line['order'].lines[0].id}"
    other = app.test_client()
    signed_in_worker(other, claimed=False)
    assert other.get(path).status_code == 404
    assert other.post(path, data={"phrase": "thank_you"}).status_code == 404
    sponsor = as_user(app, db.session.get(User, line["order"].sponsor_id))
    assert sponsor.post(path, data={"phrase": "thank_you"}).status_code == 403
    assert app.test_client().post(path, data={"phrase": "thank_you"}).status_code == 302
    assert thanks_count() == 0


def test_an_unpaid_order_cannot_be_thanked(app, client):
    line = signed_in_worker(client)
    line["order"].status = OrderStatus.AWAITING_PAYMENT
    db.session.commit()
    path = f"/saya/terima-kasih/{line['order'].lines[0].id}"
    assert client.post(path, data={"phrase": "thank_you"}).status_code == 404
    assert thanks_count() == 0


def test_another_sponsor_does_not_see_the_thanks(app, client, make_user):
    line = signed_in_worker(client)
    client.post(f"/saya/terima-kasih/{line['order'].lines[0].id}", data={"phrase": "family"})
    stranger = as_user(app, make_user(Role.SPONSOR))
    assert stranger.get(f"/pesanan/{line['order'].reference}").status_code == 404


class TestRateLimit:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_THANKS": "2 per hour"}

    def test_thank_you_posts_are_capped_per_worker(self, app, client):
        line = signed_in_worker(client)
        path = f"/saya/terima-kasih/{line['order'].lines[0].id}"
        codes = [client.post(path, data={"phrase": "nope"}).status_code for _ in range(3)]
        assert codes == [422, 422, 429]
        assert app.test_client().post(path, data={"phrase": "nope"}).status_code == 302
        assert thanks_count() == 0
