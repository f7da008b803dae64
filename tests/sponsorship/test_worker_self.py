"""The worker's home and own record: cover and sponsor as the sponsor chose to show it, a new
phone number proven by a code to that number, heirs, and a copy of all their data."""

import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from accounts.models import Role, User
from core.dates import jakarta_today
from core.identity import mask_phone
from extensions import db
from messaging.models import Message
from sponsorship.checkout.models import Order, OrderLine
from sponsorship.continuity import ledger
from sponsorship.notes.models import SponsorNote
from tests.fulfillment.test_claim import KPJ, build_line, claim, page_weight
from workers.models import Heir, HeirRelation, Worker
from workers.self_models import ChangeKind, WorkerChange

NEW_PHONE = "+6285711112222"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {}


def signed_in_worker(client: Any, *, claimed: bool = True) -> dict[str, Any]:
    """A worker with a paid, issued bundle and one heir, signed in (through the claim when
    ``claimed``)."""
    line = build_line()
    worker = db.session.get(Worker, line["worker_id"])
    worker.heirs.append(Heir(full_name="Budi Santoso", relation=HeirRelation.SPOUSE, position=1))
    db.session.commit()
    if claimed:
        claim(client, line)
    else:
        user = User(role=Role.WORKER, phone_e164=line["phone"], display_name="")
        db.session.add(user)
        db.session.flush()
        worker.user_id = user.id
        db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
    line["user_id"] = db.session.get(Worker, line["worker_id"]).user_id
    line["order"] = db.session.scalar(
        select(Order).join(OrderLine).where(OrderLine.worker_id == line["worker_id"])
    )
    return line


def last_code_to(phone: str) -> str:
    message = db.session.scalar(
        select(Message).where(Message.recipient == phone).order_by(Message.id.desc()).limit(1)
    )
    return re.search(r"\b\d{6}\b", message.full_body()).group(0)


def phones(line: dict[str, Any]) -> tuple[str, str]:
    worker = db.session.get(Worker, line["worker_id"])
    user = db.session.get(User, line["user_id"])
    return worker.phone_e164, user.phone_e164


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- home -------------------------------------------------------------------------------------


def test_home_shows_cover_days_left_and_a_sponsor_by_default(app, client):
    line = signed_in_worker(client)
    sponsor = db.session.get(User, line["order"].sponsor_id)
    page = client.get("/saya").text
    worker = db.session.get(Worker, line["worker_id"])
    days = ledger.days_left(worker.covered_until, jakarta_today())
    assert f"Days left: {days}." in page or f"Sisa: {days} hari." in page
    assert sponsor.display_name not in page  # privacy by default
    assert "sponsor" in page.lower()
    for path in ("/saya/nomor", "/saya/ahli-waris", "/saya/data", "/saya/data/unduh", "/klaim"):
        assert f'href="{path}"' in page
    assert f"/saya/terima-kasih/{line['order'].lines[0].id}" in page
    assert line["phone"] not in page


def test_home_shows_the_sponsor_name_and_message_only_when_the_sponsor_chose(app, client):
    line = signed_in_worker(client)
    sponsor = db.session.get(User, line["order"].sponsor_id)
    db.session.add(
        SponsorNote(order_id=line["order"].id, show_name=False, message="<b>Semangat</b> ya!")
    )
    db.session.commit()
    page = client.get("/saya").text
    assert "&lt;b&gt;Semangat&lt;/b&gt; ya!" in page and "<b>Semangat" not in page
    assert sponsor.display_name not in page
    note = db.session.scalar(select(SponsorNote))
    note.show_name = True
    db.session.commit()
    assert sponsor.display_name in client.get("/saya").text


def test_worker_pages_weigh_under_60_kb(app, client):
    line = signed_in_worker(client)
    heir_id = db.session.scalar(select(Heir.id))
    for path in (
        "/saya",
        "/saya/nomor",
        "/saya/ahli-waris",
        f"/saya/ahli-waris/{heir_id}",
        f"/saya/terima-kasih/{line['order'].lines[0].id}",
    ):
        assert page_weight(client, path) < 60 * 1024, path


# --- phone ------------------------------------------------------------------------------------


def test_a_new_number_is_used_only_after_its_code_and_the_old_number_is_told(app, client):
    line = signed_in_worker(client)
    old = line["phone"]
    response = client.post("/saya/nomor", data={"phone": "0857-1111-2222"})
    assert response.status_code == 302 and response.location.endswith("/saya/nomor/kode")
    assert phones(line) == (old, old)  # nothing changes before the code
    code = last_code_to(NEW_PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert client.post("/saya/nomor/kode", data={"code": wrong}).status_code == 422
    assert phones(line) == (old, old)
    response = client.post("/saya/nomor/kode", data={"code": code})
    assert response.status_code == 302
    assert phones(line) == (NEW_PHONE, NEW_PHONE)
    notice = db.session.scalar(select(Message).where(Message.purpose == "phone_changed"))
    assert notice.recipient == old and mask_phone(NEW_PHONE) in notice.body
    change = db.session.scalar(select(WorkerChange).where(WorkerChange.kind == "phone_changed"))
    assert change.detail == {"old": mask_phone(old), "new": mask_phone(NEW_PHONE)}
    assert client.get("/saya").status_code == 200  # still signed in on this phone


@pytest.mark.parametrize("typed", ["12345", "+1 415 555 0100", "0215551234"])
def test_a_bad_number_is_refused_and_sends_nothing(app, client, typed):
    line = signed_in_worker(client)
    before = count(Message)
    assert client.post("/saya/nomor", data={"phone": typed}).status_code == 422
    assert count(Message) == before and phones(line) == (line["phone"], line["phone"])


def test_the_same_number_is_refused(app, client):
    line = signed_in_worker(client)
    before = count(Message)
    response = client.post("/saya/nomor", data={"phone": line["phone"]})
    assert response.status_code == 422 and count(Message) == before


def test_a_number_of_another_account_is_refused_after_its_code_and_nothing_changes(
    app, client, make_worker
):
    line = signed_in_worker(client)
    make_worker(phone_e164=NEW_PHONE)
    client.post("/saya/nomor", data={"phone": NEW_PHONE})
    response = client.post("/saya/nomor/kode", data={"code": last_code_to(NEW_PHONE)})
    assert response.status_code == 422
    assert "another Payung account" in response.text or "akun Payung lain" in response.text
    assert phones(line) == (line["phone"], line["phone"])
    assert count(WorkerChange) == 0


def test_a_code_works_only_for_the_worker_who_asked(app, client):
    line = signed_in_worker(client)
    client.post("/saya/nomor", data={"phone": NEW_PHONE})
    code = last_code_to(NEW_PHONE)
    other = app.test_client()
    intruder = signed_in_worker(other, claimed=False)
    assert other.post("/saya/nomor/kode", data={"code": code}).status_code == 302  # no pending
    assert phones(intruder) == (intruder["phone"], intruder["phone"])
    assert phones(line) == (line["phone"], line["phone"])


class TestPhoneRateLimit:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_PHONE_CHANGE": "2 per hour"}

    def test_codes_to_new_numbers_are_capped_per_worker(self, app, client):
        signed_in_worker(client)
        codes = [
            client.post("/saya/nomor", data={"phone": f"08571111222{n}"}).status_code
            for n in range(3)
        ]
        assert codes == [302, 302, 429]
        # the limit is keyed before the access check: a stranger is sent to sign in
        assert app.test_client().post("/saya/nomor", data={"phone": NEW_PHONE}).status_code == 302


# --- heirs ------------------------------------------------------------------------------------


def test_heirs_are_added_changed_and_removed_with_an_audit_trail(app, client):
    line = signed_in_worker(client)
    data = {"full_name": "  Ani  Lestari ", "relation": "child", "phone": "0813 2222 3333"}
    assert client.post("/saya/ahli-waris", data=data).status_code == 302
    worker = db.session.get(Worker, line["worker_id"])
    ani = worker.heirs[1]
    assert (ani.full_name, ani.relation, ani.phone_e164) == (
        "Ani Lestari",
        "child",
        "+6281322223333",
    )
    data = {"full_name": "Ani L.", "relation": "sibling", "phone": ""}
    assert client.post(f"/saya/ahli-waris/{ani.id}", data=data).status_code == 302
    db.session.refresh(ani)
    assert (ani.full_name, ani.relation, ani.phone_e164) == ("Ani L.", "sibling", None)
    first = worker.heirs[0].id
    assert client.post(f"/saya/ahli-waris/{first}/hapus").status_code == 302
    db.session.expire_all()
    remaining = db.session.get(Worker, line["worker_id"]).heirs
    assert [(h.full_name, h.position) for h in remaining] == [("Ani L.", 1)]
    kinds = db.session.scalars(select(WorkerChange.kind).order_by(WorkerChange.id)).all()
    assert kinds == [ChangeKind.HEIR_ADDED, ChangeKind.HEIR_CHANGED, ChangeKind.HEIR_REMOVED]


@pytest.mark.parametrize(
    "data",
    [
        {"full_name": "", "relation": "child"},
        {"full_name": "Ani", "relation": "cousin"},
        {"full_name": "Ani", "relation": "child", "phone": "12"},
        {"full_name": "A" * 121, "relation": "child"},
    ],
)
def test_a_wrong_heir_is_refused_and_changes_nothing(app, client, data):
    line = signed_in_worker(client)
    heir_id = db.session.scalar(select(Heir.id))
    assert client.post("/saya/ahli-waris", data=data).status_code == 422
    assert client.post(f"/saya/ahli-waris/{heir_id}", data=data).status_code == 422
    heirs = db.session.scalars(select(Heir).where(Heir.worker_id == line["worker_id"])).all()
    assert [(h.full_name, h.relation) for h in heirs] == [("Budi Santoso", "spouse")]


def test_the_last_heir_stays_and_at_most_three_are_kept(app, client):
    signed_in_worker(client)
    heir_id = db.session.scalar(select(Heir.id))
    assert client.post(f"/saya/ahli-waris/{heir_id}/hapus").status_code == 302
    assert count(Heir) == 1
    for name in ("Ani", "Dewi"):
        client.post("/saya/ahli-waris", data={"full_name": name, "relation": "child"})
    response = client.post("/saya/ahli-waris", data={"full_name": "Eka", "relation": "child"})
    assert response.status_code == 422 and count(Heir) == 3


def test_another_workers_heir_cannot_be_read_changed_or_removed(app, client):
    signed_in_worker(client)
    heir_id = db.session.scalar(select(Heir.id))
    other = app.test_client()
    signed_in_worker(other, claimed=False)
    assert other.get(f"/saya/ahli-waris/{heir_id}").status_code == 404
    data = {"full_name": "Maling", "relation": "other"}
    assert other.post(f"/saya/ahli-waris/{heir_id}", data=data).status_code == 404
    assert other.post(f"/saya/ahli-waris/{heir_id}/hapus").status_code == 404
    assert db.session.get(Heir, heir_id).full_name == "Budi Santoso"


# --- my data ----------------------------------------------------------------------------------


def test_the_worker_downloads_everything_payung_holds_about_them(app, client):
    line = signed_in_worker(client)
    response = client.get("/saya/data/unduh")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    worker = db.session.get(Worker, line["worker_id"])
    assert data["profile"]["phone"] == line["phone"]
    assert re.fullmatch(r"\d{16}", data["profile"]["nik"])
    assert data["heirs"] == [{"full_name": "Budi Santoso", "relation": "spouse", "phone": None}]
    assert data["cover"]["covered_until"] == worker.covered_until.isoformat()
    [bundle] = data["bundles"]
    assert bundle["claimed"] and bundle["sponsor"] is None
    assert line["voucher"] in json.dumps(bundle) and KPJ in json.dumps(bundle)
    assert {m["purpose"] for m in data["messages_to_you"]} >= {"claim_code", "sign_in"}
    assert data["consent"]["history"] == []  # the test worker was created without events
    assert db.session.scalar(select(WorkerChange.kind)) == ChangeKind.DATA_DOWNLOADED


def test_only_the_signed_in_worker_gets_their_data(app, client, login_as, make_user):
    line = signed_in_worker(client)
    anonymous = app.test_client()
    assert anonymous.get("/saya/data/unduh").status_code == 302
    sponsor_client = app.test_client()
    with sponsor_client.session_transaction() as session:
        session["_user_id"] = make_user(Role.SPONSOR).get_id()
    assert sponsor_client.get("/saya/data/unduh").status_code == 403
    other = app.test_client()
    signed_in_worker(other, claimed=False)
    data = json.loads(other.get("/saya/data/unduh").data)
    assert line["phone"] not in json.dumps(data) and line["voucher"] not in json.dumps(data)
