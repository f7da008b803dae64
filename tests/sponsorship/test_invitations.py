""" "Cover someone you know": a sponsor invites a worker by phone; the worker completes and
confirms their own data and consent; then the worker is in the sponsor's "my workers"."""

import re

from sqlalchemy import func, select

from accounts.models import Role
from extensions import db, utcnow
from messaging.models import Message
from tests.sponsorship.conftest import (
    last_message_to,
    make_nik,
    registration_form,
    sign_in_worker,
)
from vault import decrypt
from workers.models import EnrolmentSource, Invitation, InvitationStatus, Worker

PHONE = "+6281377778888"


def invite(client, **overrides):
    data = {"full_name": "Sri Wahyuni", "phone": "0813-7777-8888", "nik": ""}
    data.update(overrides)
    return client.post("/sponsor/undang", data=data)


def invitation_link() -> str:
    body = last_message_to(PHONE).full_body()
    return re.search(r"https?://[^\s]+/undangan/[\w-]+", body).group(0)


def test_invited_worker_registers_and_appears_in_the_sponsors_list(app, client, login_as, sponsor):
    login_as(sponsor)
    response = invite(client, nik=make_nik())
    assert response.headers["Location"] == "/sponsor/pekerja-saya"
    invitation = db.session.scalar(select(Invitation))
    assert invitation.status == InvitationStatus.PENDING
    assert decrypt(invitation.nik_encrypted) == make_nik()
    page = client.get("/sponsor/pekerja-saya").text
    assert "Sri Wahyuni" in page
    assert "Menunggu jawaban" in page
    assert PHONE not in page and "+62 813-••••-888" in page
    message = last_message_to(PHONE)
    assert sponsor.display_name in message.body
    assert "/undangan/" in message.body
    token = invitation_link().rsplit("/", 1)[1]
    assert token not in invitation.token_digest

    worker_client = app.test_client()
    landing = worker_client.get(f"/undangan/{token}")
    assert landing.status_code == 200
    assert sponsor.display_name in landing.text
    sign_in_worker(worker_client, "081377778888")
    assert worker_client.get("/saya").headers["Location"] == "/saya/mulai"
    assert worker_client.get("/saya/mulai").headers["Location"] == (
        f"/saya/undangan/{invitation.id}"
    )
    form = worker_client.get(f"/saya/undangan/{invitation.id}").text
    assert 'value="Sri Wahyuni"' in form
    assert make_nik() in form  # the worker's own NIK, shown only to the worker

    response = worker_client.post(
        f"/saya/undangan/{invitation.id}",
        data=registration_form(full_name="Sri Wahyuni", consent_listing=None),
    )
    assert response.headers["Location"] == "/saya/data"
    db.session.expire_all()
    worker = db.session.scalar(select(Worker))
    assert worker.source == EnrolmentSource.INVITATION
    assert not worker.is_listed  # not in the public directory: only this sponsor can cover
    invitation = db.session.get(Invitation, invitation.id)
    assert invitation.status == InvitationStatus.ACCEPTED
    assert invitation.worker_id == worker.id

    page = client.get("/sponsor/pekerja-saya").text
    assert "Setuju" in page
    assert "Lindungi pekerja ini" in page
    response = client.post("/pilihan", data={"only": worker.id})
    assert response.headers["Location"].startswith("/pilihan/")
    assert "Sri W." in client.get(response.headers["Location"]).text


def test_registered_worker_accepts_an_invitation(
    app, client, login_as, sponsor, make_registered_worker
):
    make_registered_worker(phone_e164=PHONE, consent_confirmed_at=utcnow())
    login_as(sponsor)
    invite(client)
    invitation = db.session.scalar(select(Invitation))
    worker_client = app.test_client()
    sign_in_worker(worker_client, PHONE)
    assert worker_client.get("/saya/mulai").headers["Location"] == "/saya"
    assert "Jawab undangan" in worker_client.get("/saya/data").text
    page = worker_client.get(f"/saya/undangan/{invitation.id}").text
    assert "Ya, saya setuju" in page
    worker_client.post(f"/saya/undangan/{invitation.id}/jawab", data={"agree": "1"})
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).status == InvitationStatus.ACCEPTED


def test_worker_may_decline(app, client, login_as, sponsor):
    login_as(sponsor)
    invite(client)
    invitation = db.session.scalar(select(Invitation))
    worker_client = app.test_client()
    sign_in_worker(worker_client, PHONE)
    response = worker_client.post(f"/saya/undangan/{invitation.id}/jawab", data={"refuse": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).status == InvitationStatus.DECLINED
    assert worker_client.get("/saya/mulai").headers["Location"] == "/saya/daftar"
    assert "Ditolak" in client.get("/sponsor/pekerja-saya").text


def test_an_invitation_opens_only_for_its_own_phone(app, client, login_as, sponsor, make_user):
    login_as(sponsor)
    invite(client)
    invitation = db.session.scalar(select(Invitation))
    other = app.test_client()
    sign_in_worker(other, "081211112222")
    response = other.get(f"/saya/undangan/{invitation.id}")
    assert response.status_code == 302
    response = other.post(
        f"/saya/undangan/{invitation.id}", data=registration_form(full_name="Penyusup")
    )
    assert db.session.scalar(select(func.count()).select_from(Worker)) == 0
    assert db.session.get(Invitation, invitation.id).status == InvitationStatus.PENDING


def test_unknown_or_cancelled_invitation_links_say_so(client, login_as, sponsor):
    assert client.get("/undangan/not-a-token").status_code == 404
    login_as(sponsor)
    invite(client)
    token = invitation_link().rsplit("/", 1)[1]
    invitation = db.session.scalar(select(Invitation))
    client.post(f"/sponsor/undangan/{invitation.id}/batal")
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).status == InvitationStatus.CANCELLED
    response = client.get(f"/undangan/{token}")
    assert response.status_code == 404
    assert "sudah tidak berlaku" in response.text


def test_bad_invitations_are_refused_and_send_nothing(client, login_as, sponsor):
    login_as(sponsor)
    for data, message in [
        ({"phone": "021 555 1234"}, "telepon rumah"),
        ({"phone": ""}, ""),
        ({"nik": "1234"}, "tepat 16 angka"),
        ({"full_name": ""}, ""),
    ]:
        response = invite(client, **data)
        assert response.status_code == 400
        assert message in response.text
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_the_same_phone_is_not_invited_twice_while_waiting(client, login_as, sponsor):
    login_as(sponsor)
    invite(client)
    response = invite(client)
    assert response.status_code == 400
    assert "sudah mengundang nomor ini" in response.text
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 1


def test_another_sponsor_cannot_cancel_or_see_an_invitation(client, login_as, sponsor, make_user):
    login_as(sponsor)
    invite(client)
    invitation = db.session.scalar(select(Invitation))
    client.post("/keluar")

    login_as(make_user(Role.SPONSOR))
    assert client.post(f"/sponsor/undangan/{invitation.id}/batal").status_code == 404
    assert "Sri Wahyuni" not in client.get("/sponsor/pekerja-saya").text
