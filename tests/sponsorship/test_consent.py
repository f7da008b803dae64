"""Consent: withdrawn at any time (the worker leaves the directory at once, and what they
withdrew is recorded); consent an agent collected is confirmed by the worker at first sign-in."""

from datetime import UTC, datetime

from sqlalchemy import select

from extensions import db
from tests.sponsorship.conftest import registration_form, sign_in_worker
from workers.models import ConsentAction, ConsentEvent, ConsentKind, Worker


def events(worker_id: int) -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(ConsentEvent.kind, ConsentEvent.action)
        .where(ConsentEvent.worker_id == worker_id)
        .order_by(ConsentEvent.id)
    ).all()
    return [(kind, action) for kind, action in rows]


def registered(client, login_as, worker_user) -> Worker:
    login_as(worker_user)
    client.post("/saya/daftar", data=registration_form())
    return db.session.scalar(select(Worker))


def test_withdrawing_the_listing_consent_leaves_the_directory_at_once(
    client, login_as, worker_user
):
    worker = registered(client, login_as, worker_user)
    assert f"/pekerja/{worker.id}" in client.get("/pekerja").text

    response = client.post("/saya/persetujuan/ubah", data={"kind": "listing", "given": "no"})
    assert response.headers["Location"] == "/saya/data"
    assert f'/pekerja/{worker.id}"' not in client.get("/pekerja").text
    assert client.get(f"/pekerja/{worker.id}").status_code == 404
    db.session.expire_all()
    worker = db.session.get(Worker, worker.id)
    assert not worker.is_listed
    assert worker.listing_consent_at is None
    assert worker.insurer_consent_at is not None
    assert events(worker.id)[-1] == (ConsentKind.LISTING, ConsentAction.WITHDRAWN)
    assert "Tidak ditampilkan di direktori" in client.get("/saya/data").text


def test_withdrawing_the_insurer_consent_also_leaves_the_directory(client, login_as, worker_user):
    worker = registered(client, login_as, worker_user)
    client.post("/saya/persetujuan/ubah", data={"kind": "insurer_data", "given": "no"})
    db.session.expire_all()
    worker = db.session.get(Worker, worker.id)
    assert not worker.is_listed
    assert worker.insurer_consent_at is None
    assert events(worker.id)[-1] == (ConsentKind.INSURER_DATA, ConsentAction.WITHDRAWN)

    # Listing again needs the insurer consent first; refused with a message, nothing changes.
    client.post("/saya/persetujuan/ubah", data={"kind": "listing", "given": "no"})
    before = len(events(worker.id))
    response = client.post(
        "/saya/persetujuan/ubah", data={"kind": "listing", "given": "yes"}, follow_redirects=True
    )
    assert "setujui dulu bahwa BPJS Ketenagakerjaan" in response.text
    assert len(events(worker.id)) == before

    client.post("/saya/persetujuan/ubah", data={"kind": "insurer_data", "given": "yes"})
    client.post("/saya/persetujuan/ubah", data={"kind": "listing", "given": "yes"})
    db.session.expire_all()
    assert db.session.get(Worker, worker.id).is_listed


def test_unknown_consent_changes_are_refused(client, login_as, worker_user):
    worker = registered(client, login_as, worker_user)
    before = events(worker.id)
    for data in ({"kind": "marketing", "given": "no"}, {"kind": "listing", "given": "maybe"}):
        assert client.post("/saya/persetujuan/ubah", data=data).status_code == 400
    assert events(worker.id) == before


def test_consent_page_shows_the_history(client, login_as, worker_user):
    registered(client, login_as, worker_user)
    client.post("/saya/persetujuan/ubah", data={"kind": "listing", "given": "no"})
    page = client.get("/saya/data").text
    assert "Riwayat persetujuan Anda" in page
    assert "ditarik" in page


def agent_enrolled(make_worker, agent) -> Worker:
    return make_worker(
        phone_e164="+6281298765432",
        source="agent_csv",
        enrolled_by_partner_id=agent.id,
        consent_recorded_by_id=agent.user_id,
        listing_consent_at=datetime(2026, 11, 1, tzinfo=UTC),
        insurer_consent_at=datetime(2026, 11, 1, tzinfo=UTC),
        consent_confirmed_at=None,
    )


def test_agent_enrolled_worker_confirms_consent_on_first_sign_in(client, make_worker, agent):
    worker = agent_enrolled(make_worker, agent)
    sign_in_worker(client, "081298765432")

    assert client.get("/saya").headers["Location"] == "/saya/mulai"
    assert client.get("/saya/mulai").headers["Location"] == "/saya/persetujuan"
    page = client.get("/saya/persetujuan").text
    assert "Koperasi Tani Makmur mendaftarkan Anda" in page

    response = client.post("/saya/persetujuan", data={"stay_listed": "y", "agree": "1"})
    assert response.headers["Location"] == "/saya/data"
    db.session.expire_all()
    worker = db.session.get(Worker, worker.id)
    assert worker.user_id is not None
    assert worker.consent_confirmed_at is not None
    assert worker.is_listed
    assert events(worker.id) == [
        (ConsentKind.INSURER_DATA, ConsentAction.CONFIRMED),
        (ConsentKind.LISTING, ConsentAction.CONFIRMED),
    ]
    assert client.get("/saya").status_code == 200


def test_agent_enrolled_worker_who_never_agreed_withdraws_everything(client, make_worker, agent):
    worker = agent_enrolled(make_worker, agent)
    sign_in_worker(client, "081298765432")
    client.get("/saya/mulai")
    client.post("/saya/persetujuan", data={"refuse": "1"})
    db.session.expire_all()
    worker = db.session.get(Worker, worker.id)
    assert not worker.is_listed
    assert worker.insurer_consent_at is None and worker.listing_consent_at is None
    assert set(events(worker.id)) == {
        (ConsentKind.INSURER_DATA, ConsentAction.WITHDRAWN),
        (ConsentKind.LISTING, ConsentAction.WITHDRAWN),
    }


def test_agent_enrolled_worker_may_confirm_but_leave_the_directory(client, make_worker, agent):
    worker = agent_enrolled(make_worker, agent)
    sign_in_worker(client, "081298765432")
    client.get("/saya/mulai")
    client.post("/saya/persetujuan", data={"agree": "1"})  # box unticked
    db.session.expire_all()
    worker = db.session.get(Worker, worker.id)
    assert worker.insurer_consent_at is not None
    assert not worker.is_listed
