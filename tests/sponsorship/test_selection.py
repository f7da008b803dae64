"""Sponsors pick workers for checkout: "cover N matching workers", ticked cards, or one
card's button. The selection is saved and shown back; only its sponsor sees it."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from core.dates import jakarta_today
from core.identity import Occupation
from extensions import db
from workers.directory.queries import DirectoryFilters, SelectionError, select_matching_workers
from workers.models import WorkerSelection, WorkerSelectionItem

TODAY = jakarta_today()


def selections() -> int:
    return db.session.scalar(select(func.count()).select_from(WorkerSelection)) or 0


def selected_ids(selection_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(WorkerSelectionItem.worker_id)
            .where(WorkerSelectionItem.selection_id == selection_id)
            .order_by(WorkerSelectionItem.position)
        )
    )


@pytest.fixture
def sponsor_client(client, login_as, sponsor):
    return login_as(sponsor)


def test_select_matching_workers_follows_the_filters_and_the_order(make_registered_worker, sponsor):
    farmers = [make_registered_worker(needs_cover_from=TODAY - timedelta(days=n)) for n in range(5)]
    make_registered_worker(occupation="fisher", needs_cover_from=TODAY - timedelta(days=99))
    make_registered_worker(is_listed=False, needs_cover_from=TODAY - timedelta(days=99))
    filters = DirectoryFilters(occupation=Occupation.FARMER)
    ids = select_matching_workers(filters, 3, sponsor=sponsor)
    assert ids == [farmers[4].id, farmers[3].id, farmers[2].id]
    assert len(select_matching_workers(filters, 50, sponsor=sponsor)) == 5
    for n in (0, -1, 10_001):
        with pytest.raises(SelectionError):
            select_matching_workers(filters, n, sponsor=sponsor)


def test_cover_n_matching_workers_saves_a_selection(
    sponsor_client, sponsor, make_registered_worker
):
    for _ in range(6):
        make_registered_worker(province_code="35")
    make_registered_worker(province_code="32")
    response = sponsor_client.post("/pilihan/cocok", data={"n": "4", "province": "35"})
    selection = db.session.scalar(select(WorkerSelection))
    assert response.headers["Location"] == f"/pilihan/{selection.id}"
    assert selection.sponsor_id == sponsor.id
    assert selection.worker_count == 4
    assert selection.filters == {"province": "35"}
    assert len(selected_ids(selection.id)) == 4
    page = sponsor_client.get(f"/pilihan/{selection.id}").text
    assert "4 pekerja dipilih untuk dilindungi." in page
    assert "Lanjut ke pembayaran" in page
    assert page.count("Jawa Timur") == 4


def test_ticked_cards_and_one_card_make_selections(sponsor_client, make_registered_worker):
    a, b, c = make_registered_worker(), make_registered_worker(), make_registered_worker()
    response = sponsor_client.post("/pilihan", data={"worker_id": [str(c.id), str(a.id)]})
    first = int(response.headers["Location"].rsplit("/", 1)[1])
    assert selected_ids(first) == [c.id, a.id]
    response = sponsor_client.post("/pilihan", data={"worker_id": [str(a.id)], "only": b.id})
    second = int(response.headers["Location"].rsplit("/", 1)[1])
    assert selected_ids(second) == [b.id]


@pytest.mark.parametrize(
    "data",
    [{}, {"worker_id": ["abc"]}, {"worker_id": ["999999"]}, {"only": "unlisted"}],
)
def test_bad_selections_are_refused_and_nothing_is_saved(
    sponsor_client, make_registered_worker, data
):
    unlisted = make_registered_worker(is_listed=False)
    if data.get("only") == "unlisted":
        data = {"only": unlisted.id}
    response = sponsor_client.post("/pilihan", data=data, headers={"Referer": "/pekerja"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/pekerja")
    assert selections() == 0
    page = sponsor_client.get("/pekerja").text
    assert "Pilih minimal satu pekerja." in page or "sudah tidak tercantum" in page


@pytest.mark.parametrize("n", ["0", "", "many", "10001"])
def test_bad_numbers_for_cover_n_are_refused(sponsor_client, make_registered_worker, n):
    make_registered_worker()
    response = sponsor_client.post("/pilihan/cocok", data={"n": n, "gender": "female"})
    assert response.headers["Location"] == "/pekerja?gender=female"
    assert selections() == 0


def test_cover_n_with_no_match_is_refused(sponsor_client, make_registered_worker):
    make_registered_worker(occupation="farmer")
    response = sponsor_client.post(
        "/pilihan/cocok", data={"n": "3", "occupation": "fisher"}, follow_redirects=True
    )
    assert "Tidak ada pekerja yang cocok dengan filter ini." in response.text
    assert selections() == 0


def test_a_selection_is_private_to_its_sponsor(
    app, sponsor_client, make_user, make_registered_worker
):
    response = sponsor_client.post("/pilihan", data={"only": make_registered_worker().id})
    path = response.headers["Location"]
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = make_user(Role.SPONSOR).get_id()
    assert other.get(path).status_code == 404
    assert other.get("/pilihan/999999").status_code == 404
    worker_client = app.test_client()
    with worker_client.session_transaction() as session:
        session["_user_id"] = make_user(Role.WORKER).get_id()
    assert worker_client.get(path).status_code == 403
    assert worker_client.post("/pilihan", data={"only": 1}).status_code == 403
    assert app.test_client().post("/pilihan/cocok", data={"n": 1}).status_code == 302


def test_a_worker_who_withdraws_after_being_picked_shows_no_details(
    sponsor_client, make_registered_worker
):
    worker = make_registered_worker(full_name="Rahasia Sekali", occupation="fisher")
    response = sponsor_client.post("/pilihan", data={"only": worker.id})
    worker.is_listed = False
    worker.listing_consent_at = None
    db.session.commit()
    page = sponsor_client.get(response.headers["Location"]).text
    assert "Rahasia" not in page and "Nelayan" not in page
    assert "sudah tidak tercantum" in page
