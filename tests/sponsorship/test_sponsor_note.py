"""The sponsor chooses, per order, whether workers see their name or "a sponsor" (the
default), and may leave them a short plain-text message."""

from typing import Any

import pytest
from sqlalchemy import func, select

from accounts.models import Role, User
from extensions import db
from sponsorship.notes.models import SponsorNote
from tests.sponsorship.test_thanks import as_user
from tests.sponsorship.test_worker_self import signed_in_worker


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {}


def notes() -> int:
    return db.session.scalar(select(func.count()).select_from(SponsorNote))


def test_the_sponsor_opts_in_to_show_their_name_with_a_message(app, client):
    line = signed_in_worker(client)
    sponsor = db.session.get(User, line["order"].sponsor_id)
    sponsor_client = as_user(app, sponsor)
    order_page = sponsor_client.get(f"/pesanan/{line['order'].reference}").text
    assert f"/pesanan/{line['order'].reference}/pesan-pekerja" in order_page
    assert sponsor.display_name not in client.get("/saya").text  # the default: "a sponsor"
    response = sponsor_client.post(
        f"/pesanan/{line['order'].reference}/pesan-pekerja",
        data={"show_name": "y", "message": "Semoga sehat selalu.\r\n\r\n\r\n<script>x</script>"},
    )
    assert response.status_code == 302
    note = db.session.scalar(select(SponsorNote))
    assert note.show_name and note.message == "Semoga sehat selalu.\n\n<script>x</script>"
    home = client.get("/saya").text
    assert sponsor.display_name in home and "Semoga sehat selalu." in home
    assert "<script>x" not in home and "&lt;script&gt;x" in home


def test_unticking_hides_the_name_again(app, client):
    line = signed_in_worker(client)
    sponsor = db.session.get(User, line["order"].sponsor_id)
    path = f"/pesanan/{line['order'].reference}/pesan-pekerja"
    sponsor_client = as_user(app, sponsor)
    sponsor_client.post(path, data={"show_name": "y", "message": ""})
    assert sponsor.display_name in client.get("/saya").text
    sponsor_client.post(path, data={"message": ""})
    assert sponsor.display_name not in client.get("/saya").text
    assert notes() == 1 and db.session.scalar(select(SponsorNote.message)) is None


def test_an_over_long_message_is_refused_and_changes_nothing(app, client):
    line = signed_in_worker(client)
    sponsor_client = as_user(app, db.session.get(User, line["order"].sponsor_id))
    path = f"/pesanan/{line['order'].reference}/pesan-pekerja"
    sponsor_client.post(path, data={"message": "Halo"})
    response = sponsor_client.post(path, data={"show_name": "y", "message": "x" * 281})
    assert response.status_code == 422
    note = db.session.scalar(select(SponsorNote))
    assert (note.show_name, note.message) == (False, "Halo")


def test_only_the_orders_sponsor_may_write_the_note(app, client, make_user):
    line = signed_in_worker(client)
    path = f"/pesanan/{line['order'].reference}/pesan-pekerja"
    stranger = as_user(app, make_user(Role.SPONSOR))
    assert stranger.get(path).status_code == 404
    assert stranger.post(path, data={"show_name": "y", "message": "hi"}).status_code == 404
    assert client.post(path, data={"show_name": "y", "message": "hi"}).status_code == 403
    admin = as_user(app, make_user(Role.ADMIN))
    assert admin.post(path, data={"show_name": "y", "message": "hi"}).status_code == 403
    assert notes() == 0
