"""The directory: anyone browses listed workers; filters, search, sorting and pages over
indexed columns, with a constant number of SQL statements per page."""

import re
from datetime import date, timedelta

import pytest
from flask import request
from sqlalchemy import text

from accounts.models import Role
from core.dates import jakarta_today, years_before
from extensions import db
from tests.conftest import ON_POSTGRES
from vault import decrypt
from workers.directory.forms import DirectoryFilterForm
from workers.directory.queries import matching_workers
from workers.models import Worker, WorkerSearchTerm
from workers.search import index_workers

TODAY = jakarta_today()


@pytest.fixture
def indexed_worker(make_registered_worker):
    def factory(**fields):
        worker = make_registered_worker(**fields)
        index_workers([worker])
        db.session.commit()
        return worker

    return factory


def card_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<h2 class="h3"><a href="/pekerja/(\d+)"', html)]


def test_anyone_sees_listed_workers_as_public_cards(client, indexed_worker):
    shown = indexed_worker(
        full_name="SITI NURHALIZA PUTRI",
        occupation="fisher",
        regency="Kab. Garut",
        story="Melaut dengan perahu kecil.",
        birth_date=years_before(TODAY, 30),
    )
    hidden = indexed_worker(full_name="Tersembunyi Sekali", is_listed=False)
    page = client.get("/pekerja")
    assert page.status_code == 200
    html = page.text
    assert card_ids(html) == [shown.id]
    assert "Siti N." in html
    assert "Nurhaliza" not in html and "PUTRI" not in html
    assert "Nelayan" in html and "Kab. Garut, Jawa Barat" in html
    assert "usia 25–34" in html
    assert "Melaut dengan perahu kecil." in html
    assert "Belum terlindungi" in html
    assert shown.phone_e164 not in html and shown.phone_e164[3:] not in html
    assert "Tersembunyi" not in html and f'/pekerja/{hidden.id}"' not in html
    assert "Masuk untuk melindungi" in html  # acting needs sign-in


def test_the_directory_never_shows_a_nik(client, indexed_worker):
    worker = indexed_worker()
    nik = decrypt(worker.nik_encrypted)
    assert nik not in client.get("/pekerja").text
    assert nik not in client.get(f"/pekerja/{worker.id}").text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("occupation=fisher", {"fisher"}),
        ("province=35", {"east"}),
        ("gender=male", {"male"}),
        ("age=55-plus", {"old"}),
        ("age=18-24", {"young"}),
        ("status=covered", {"covered"}),
        ("status=lapsing", {"lapsing"}),
        ("status=needs_sponsor", {"needs"}),
        ("q=bud", {"male"}),
        ("q=surabaya", {"east"}),
        ("q=nelayan", {"fisher"}),
        ("q=fisher", {"fisher"}),
        ("q=perahu+kecil", {"fisher"}),
        ("q=Ägus", set()),
        ("q=santoso", set()),  # a family name is never searchable
        ("occupation=fisher&gender=male", set()),
    ],
)
def test_filters_and_search(client, indexed_worker, query, expected):
    workers = {
        "fisher": indexed_worker(occupation="fisher", story="Melaut dengan perahu kecil."),
        "east": indexed_worker(province_code="35", regency="Kota Surabaya"),
        "male": indexed_worker(full_name="Budi Santoso", gender="male"),
        "old": indexed_worker(birth_date=years_before(TODAY, 60)),
        "young": indexed_worker(birth_date=years_before(TODAY, 20)),
        "covered": indexed_worker(covered_until=TODAY + timedelta(days=200)),
        "lapsing": indexed_worker(covered_until=TODAY + timedelta(days=10)),
        "needs": indexed_worker(needs_sponsor=True),
    }
    ids = set(card_ids(client.get(f"/pekerja?{query}").text))
    assert ids == {workers[name].id for name in expected}


def test_an_unknown_filter_value_is_shown_as_an_error_and_ignored(client, indexed_worker):
    worker = indexed_worker()
    page = client.get("/pekerja?province=99&status=bogus")
    assert page.status_code == 200
    assert "Not a valid choice" in page.text or "Pilihan tidak valid" in page.text
    assert card_ids(page.text) == [worker.id]


def test_longest_uncovered_first_and_lapsing_soonest(client, indexed_worker):
    long_ago = indexed_worker(needs_cover_from=date(2025, 1, 1))
    recent = indexed_worker(needs_cover_from=date(2026, 6, 1))
    lapsing_late = indexed_worker(
        covered_until=TODAY + timedelta(days=90), needs_cover_from=TODAY + timedelta(days=91)
    )
    lapsing_soon = indexed_worker(
        covered_until=TODAY + timedelta(days=5), needs_cover_from=TODAY + timedelta(days=6)
    )
    assert card_ids(client.get("/pekerja").text) == [
        long_ago.id,
        recent.id,
        lapsing_soon.id,
        lapsing_late.id,
    ]
    page = client.get("/pekerja?sort=lapsing-soonest").text
    assert card_ids(page) == [lapsing_soon.id, lapsing_late.id]
    assert "perlindungannya paling cepat berakhir" in page


def test_pages_keep_the_filters(client, make_registered_worker):
    for _ in range(30):
        make_registered_worker(occupation="courier")
    make_registered_worker(occupation="farmer")
    first = client.get("/pekerja?occupation=courier").text
    assert len(card_ids(first)) == 24
    assert "/pekerja?occupation=courier&amp;page=2" in first
    second = client.get("/pekerja?occupation=courier&page=2").text
    assert len(card_ids(second)) == 6
    assert not set(card_ids(first)) & set(card_ids(second))
    assert card_ids(client.get("/pekerja?page=99").text) == []


def test_profile_page(client, indexed_worker):
    worker = indexed_worker(story="Menjadi marbot masjid.")
    page = client.get(f"/pekerja/{worker.id}")
    assert page.status_code == 200
    assert "Menjadi marbot masjid." in page.text
    assert "Masuk untuk melindungi pekerja ini" in page.text
    assert client.get(f"/pekerja/{indexed_worker(is_listed=False).id}").status_code == 404
    assert client.get("/pekerja/999999").status_code == 404


def test_actions_depend_on_who_is_looking(client, login_as, make_user, indexed_worker):
    indexed_worker()
    login_as(make_user(Role.SPONSOR))
    html = client.get("/pekerja").text
    assert 'name="worker_id"' in html
    assert 'action="/pilihan/cocok"' in html
    assert "Lindungi pekerja ini" in html
    client.post("/keluar")
    login_as(make_user(Role.WORKER))
    html = client.get("/pekerja").text
    assert 'name="worker_id"' not in html and "/pilihan/cocok" not in html


def test_sql_statements_per_page_do_not_grow_with_workers(
    client, login_as, make_user, make_registered_worker, count_queries
):
    def statements(path: str) -> int:
        with count_queries() as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    make_registered_worker()
    query = "/pekerja?occupation=farmer&gender=female&status=uncovered&q=siti&age=35-44"
    few = (statements("/pekerja"), statements(query))
    for n in range(40):
        make_registered_worker(photo_version=n % 2, covered_until=TODAY + timedelta(days=n))
    many = (statements("/pekerja"), statements(query))
    # The page with its capped count as a column; a search that matches nobody needs no page
    # (its count said so).
    assert few == many == (1, 1)

    login_as(make_user(Role.SPONSOR))
    assert statements("/pekerja") == 2  # and the signed-in user


FILTERS = {
    "occupation": "occupation=farmer",
    "province": "province=32",
    "gender": "gender=female",
    "age": "age=25-34",
    "status uncovered": "status=uncovered",
    "status covered": "status=covered",
    "search": "q=siti",
    "lapsing sort": "sort=lapsing-soonest",
}


def query_plan(statement: object) -> list[str]:
    """The plan lines of ``statement``. On PostgreSQL, sequential scans are priced out of reach
    so the plan shows whether an index *can* serve the query (a tiny test table would
    otherwise always be scanned)."""
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    if ON_POSTGRES:
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        return [row[0] for row in db.session.execute(text(f"EXPLAIN {compiled}"))]
    return [row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]


@pytest.mark.parametrize("query", FILTERS.values(), ids=FILTERS.keys())
def test_every_filter_and_sort_is_served_by_an_index(app, make_registered_worker, query):
    make_registered_worker()
    with app.test_request_context(f"/pekerja?{query}"):
        form = DirectoryFilterForm(formdata=request.args)
        form.validate()
        plan = query_plan(matching_workers(form.filters(), TODAY).limit(24))
    db.session.rollback()
    if ON_POSTGRES:
        assert not any("Seq Scan on workers" in line for line in plan), plan
        assert any("Index" in line for line in plan), plan
    else:
        assert not any(re.fullmatch(r"SCAN workers", line) for line in plan), plan
        assert any("INDEX" in line for line in plan), plan


@pytest.mark.parametrize(
    "column",
    [
        "occupation",
        "province_code",
        "gender",
        "birth_date",
        "needs_sponsor",
        "covered_until",
        "needs_cover_from",
    ],
)
def test_every_filter_and_sort_column_has_its_own_index(column):
    leading = {tuple(c.name for c in index.columns)[:2] for index in Worker.__table__.indexes}
    assert ("is_listed", column) in leading


def test_search_terms_are_found_by_their_primary_key():
    assert WorkerSearchTerm.__table__.primary_key.columns.keys() == ["term", "worker_id"]
