"""What the directory does to be fast (issue 16) without changing what it shows: a count that
stops at a cap, keyset "next" links, selects rendered once per language, request-cached
translations that still obey ``force_locale``."""

import re
from datetime import date, timedelta
from html import unescape

import pytest
from flask import render_template_string, template_rendered, url_for
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice, SelectField
from wtforms.widgets import Select

from accounts.models import Role
from core.dates import jakarta_today
from extensions import db
from i18n import Form, current_translations, rupiah
from workers.directory import page as directory
from workers.directory import plans, positions
from workers.directory.forms import DirectoryFilterForm, FixedChoicesSelect
from workers.search import index_workers

TODAY = jakarta_today()


def card_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<h2 class="h3"><a href="/pekerja/(\d+)"', html)]


def next_link(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next"', html)
    return unescape(found.group(1)) if found else None


@pytest.fixture
def thirty_workers(make_registered_worker):
    return [make_registered_worker() for _ in range(30)]


def test_the_count_stops_at_the_cap_and_says_so(client, thirty_workers, monkeypatch):
    exact = client.get("/pekerja").text
    assert "30 pekerja cocok" in exact and "Halaman 1 dari 2 · total 30" in exact

    monkeypatch.setattr(directory, "COUNT_CAP", 25)
    capped = client.get("/pekerja").text
    assert "Lebih dari 25 pekerja cocok" in capped
    assert "Halaman 1 dari sedikitnya 2" in capped
    assert len(card_ids(capped)) == 24  # the page itself is whole
    # The last page counts exactly again: 24 before it, 6 on it.
    last = client.get("/pekerja?page=2").text
    assert "30 pekerja cocok" in last and len(card_ids(last)) == 6
    # Past the end: nothing shown, the total still right.
    beyond = client.get("/pekerja?page=9").text
    assert card_ids(beyond) == [] and "30 pekerja cocok" in beyond


def test_the_next_link_continues_where_the_page_ended(client, thirty_workers, count_queries):
    first = client.get("/pekerja").text
    link = next_link(first)
    assert link is not None and "after=" in link and "page=2" in link
    with count_queries() as queries:
        by_cursor = client.get(link).text
    assert len(queries) == 1  # the cards and the count from the cursor on
    assert card_ids(by_cursor) == card_ids(client.get("/pekerja?page=2").text)
    assert len(card_ids(by_cursor)) == 6
    assert not set(card_ids(by_cursor)) & set(card_ids(first))
    # A cursor that is not one is ignored: the page number decides.
    broken = client.get("/pekerja?page=2&after=yesterday.x").text
    assert card_ids(broken) == card_ids(by_cursor)


def test_the_cursor_follows_the_sort_order(client, make_registered_worker):
    for n in range(30):  # three cover dates: the cursor's date and id both matter
        make_registered_worker(covered_until=TODAY + timedelta(days=100 + n % 3))
    make_registered_worker(covered_until=None)  # cannot lapse: never listed by this sort
    first = client.get("/pekerja?sort=lapsing-soonest").text
    link = next_link(first)
    assert link is not None and "sort=lapsing-soonest" in link
    assert card_ids(client.get(link).text) == card_ids(
        client.get("/pekerja?sort=lapsing-soonest&page=2").text
    )


def test_parse_cursor():
    assert directory.parse_cursor("2026-01-31.4711") == (date(2026, 1, 31), 4711)
    for wrong in (None, "", "2026-13-01.1", "2026-01-31", "2026-01-31.x", "x.1"):
        assert directory.parse_cursor(wrong) is None


def _select_html(widget: object, data: str, locale: str) -> str:
    class Probe(Form):
        class Meta:
            csrf = False

        pick = SelectField(
            "Pick",
            choices=[SelectChoice("", "Any"), SelectChoice("a", "A & B"), SelectChoice("b", "")],
            widget=widget,
        )

    form = Probe(formdata=MultiDict({"pick": data}))
    form.validate()
    with force_locale(locale):
        return str(form.pick(**{"aria-describedby": "hint"}))


@pytest.mark.parametrize("data", ["", "a", "b", "not-a-choice"])
def test_fixed_choice_selects_render_as_wtforms_does(app, data):
    with app.test_request_context():
        fixed = FixedChoicesSelect()
        for locale in ("id", "en", "id"):  # built once, then reused
            assert _select_html(fixed, data, locale) == _select_html(Select(), data, locale)


def test_the_directory_selects_are_translated_per_language(app):
    with app.test_request_context():
        form = DirectoryFilterForm(formdata=MultiDict({"occupation": "fisher"}))
        form.validate()
        with force_locale("en"):
            english = str(form.occupation())
        with force_locale("id"):
            indonesian = str(form.occupation())
    assert '<option selected value="fisher">Fisher</option>' in english
    assert '<option selected value="fisher">Nelayan</option>' in indonesian


def test_cached_translations_obey_force_locale(app):
    with app.test_request_context():
        template = "{{ _('Sign in') }} {{ ngettext('%(num)s month', '%(num)s months', 3) }}"
        assert render_template_string(template) == "Masuk 3 bulan"
        with force_locale("en"):
            assert render_template_string(template) == "Sign in 3 months"
            assert rupiah(16800) == "Rp16,800"
            assert current_translations().ugettext("Sign in") == "Sign in"
        assert render_template_string(template) == "Masuk 3 bulan"
        assert rupiah(16800) == "Rp16.800"


def test_a_text_search_pages_on_by_cursor_too(client, make_registered_worker, count_queries):
    workers = [make_registered_worker(full_name=f"Siti Pekerja {n}") for n in range(30)]
    workers.append(make_registered_worker(full_name="Budi Lain"))
    index_workers(workers)
    db.session.commit()
    first = client.get("/pekerja?q=siti").text
    assert "30 pekerja cocok" in first and len(card_ids(first)) == 24
    link = next_link(first)
    assert link is not None and "after=" in link and "q=siti" in link
    with count_queries() as queries:
        second = client.get(link).text
    assert len(queries) == 2
    assert card_ids(second) == card_ids(client.get("/pekerja?q=siti&page=2").text)
    assert len(card_ids(second)) == 6 and "30 pekerja cocok" in second


def test_a_common_search_word_walks_the_order_a_rare_one_sorts_its_matches(
    client, make_registered_worker, count_queries, monkeypatch
):
    """The count is the word's frequency: at its cap the page probes each worker's terms
    (EXISTS) in the directory's order, below it reads the matches from the words (IN); both
    plans show the same workers in the same order."""
    workers = [
        make_registered_worker(
            full_name=f"Siti Pekerja {n}", covered_until=TODAY - timedelta(days=n % 7)
        )
        for n in range(30)
    ]
    workers.append(make_registered_worker(full_name="Budi Lain"))
    index_workers(workers)
    db.session.commit()

    def search(path: str) -> tuple[list[int], str, str]:
        with count_queries() as queries:
            html = client.get(path).text
        assert len(queries) == 2  # the capped count, then the page
        return card_ids(html), queries[1], html

    rare_ids, rare_sql, rare_html = search("/pekerja?q=siti")
    assert "EXISTS" not in rare_sql.upper() and " IN " in rare_sql.upper()
    assert "30 pekerja cocok" in rare_html

    monkeypatch.setattr(directory, "COUNT_CAP", 25)  # 30 matches: now a common word
    common_ids, common_sql, common_html = search("/pekerja?q=siti")
    assert "EXISTS" in common_sql.upper()
    assert "Lebih dari 25 pekerja cocok" in common_html
    assert common_ids == rare_ids and len(common_ids) == 24
    # Paging on by cursor keeps the plan and the order.
    link = next_link(common_html)
    assert link is not None
    assert card_ids(client.get(link).text) == card_ids(client.get("/pekerja?q=siti&page=2").text)
    expected = sorted(workers[:30], key=lambda worker: (worker.needs_cover_from, worker.id))
    assert rare_ids == [worker.id for worker in expected[:24]]


def test_a_typed_in_page_reads_ids_then_cards(client, thirty_workers, count_queries):
    with count_queries() as queries:
        second = client.get("/pekerja?page=2").text
    assert len(queries) == 2
    assert len(card_ids(second)) == 6 and "30 pekerja cocok" in second
    first = card_ids(client.get("/pekerja").text)
    assert not set(card_ids(second)) & set(first)


def test_kept_cards_follow_the_worker_and_the_viewer(
    client, login_as, make_user, make_registered_worker
):
    """Cards are kept by everything they show: a change of cover shows at once, and a visitor
    never gets a sponsor's card (or the other way round)."""
    worker = make_registered_worker(full_name="Wati Kept", covered_until=None)
    db.session.commit()
    html = client.get("/pekerja").text
    assert "badge-info" in html and "badge-success" not in html
    worker.covered_until = TODAY + timedelta(days=200)
    worker.needs_cover_from = worker.covered_until + timedelta(days=1)
    db.session.commit()
    html = client.get("/pekerja").text
    assert "badge-success" in html and "badge-info" not in html
    sign_in = f"?next=/pekerja/{worker.id}"
    assert sign_in in html and 'name="worker_id"' not in html
    login_as(make_user(Role.SPONSOR))
    html = client.get("/pekerja").text
    assert f'value="{worker.id}" id="pick-{worker.id}"' in html and sign_in not in html


def test_pagination_links_are_the_urls_url_for_builds(app):
    """The directory's pagination fills its links from one URL a page; they are the links
    the shared macro's url_for per link made, filters, page and cursor included."""
    args = {"q": "siti & budi", "province": "31", "sort": "lapsing-soonest"}
    with app.test_request_context("/"):
        pagination = directory.DirectoryPagination(
            page=3,
            per_page=24,
            counted=200,
            cap=500,
            next_args={"after": "2026-01-31.4711"},
            base_url=url_for("sponsorship.directory", **args),
        )
        assert pagination.link(2) == url_for("sponsorship.directory", **args, page=2)
        assert pagination.link(4, **pagination.next_args) == url_for(
            "sponsorship.directory", **args, page=4, after="2026-01-31.4711"
        )
        bare = directory.DirectoryPagination(
            page=1, per_page=24, counted=30, cap=500, base_url=url_for("sponsorship.directory")
        )
        assert bare.link(2) == url_for("sponsorship.directory", page=2)


@pytest.mark.parametrize("form", ["distinct", "first_term"])
@pytest.mark.parametrize("query", ["siti", "siti garut", "sit"])
def test_the_count_read_from_the_terms_matches_the_plain_count(
    client, make_registered_worker, monkeypatch, count_queries, query, form
):
    """A text-only count driven by the first word's terms (each worker once, by DISTINCT or by
    its first matching term: a worker whose name and story both start with the word counts
    once; unlisted workers not at all) shows the same count and cards as the planner's
    ``id IN`` count, below and at the cap, paged on too; both forms run on either database."""
    workers = [
        make_registered_worker(
            full_name=f"Siti Pekerja {n}",
            regency="Garut" if n % 2 else "Bandung",
            story="Sitinah, ibu saya, menjual sayur" if n % 3 else None,
            covered_until=TODAY - timedelta(days=n % 5),
        )
        for n in range(30)
    ]
    workers.append(make_registered_worker(full_name="Siti Tersembunyi", is_listed=False))
    workers.append(make_registered_worker(full_name="Budi Lain"))
    index_workers(workers)
    db.session.commit()
    driven_sql = {"distinct": "DISTINCT", "first_term": "NOT (EXISTS"}[form]

    def pages(driven: dict[str, str], cap: int) -> list[tuple[list[int], str]]:
        monkeypatch.setattr(plans, "TERM_DRIVEN_COUNT", driven)
        monkeypatch.setattr(directory, "COUNT_CAP", cap)
        plans.PLANS.clear()
        with count_queries() as queries:
            first = client.get(f"/pekerja?q={query}").text
        assert (driven_sql in queries[0].upper()) == bool(driven)
        shown = [(card_ids(first), re.search(r'role="status">([^<]+)<', first).group(1))]
        link = next_link(first)
        if link:
            later = client.get(link).text
            shown.append((card_ids(later), re.search(r'role="status">([^<]+)<', later).group(1)))
        return shown

    for cap in (500, 10):
        by_terms = pages({"sqlite": form, "postgresql": form}, cap)
        plain = pages({}, cap)
        assert by_terms == plain
        assert by_terms[0][0]  # the query finds someone


def walk_by_next(client, url: str) -> list[int]:
    """Every card id of ``url``'s filter set in order, page after page by the "next" cursor
    (which never uses the anchors)."""
    walked: list[int] = []
    link: str | None = url
    while link:
        html = client.get(link).text
        walked += card_ids(html)
        link = next_link(html)
    return walked


@pytest.mark.parametrize("sort", ["", "sort=lapsing-soonest"])
def test_deep_typed_in_pages_start_from_anchors(
    client, make_registered_worker, monkeypatch, count_queries, sort
):
    """A typed-in page past the first anchor starts after it: the same cards as stepping over
    every worker before; the map is read once, then each deep page costs its two statements;
    past the end the count starts at the last anchor. A kept map is off by the workers who
    joined before an anchor since it was read, until POSITIONS_TTL; then exact again."""

    def worker(days: int) -> None:
        covered_until = TODAY + timedelta(days=days)
        make_registered_worker(
            covered_until=covered_until, needs_cover_from=covered_until + timedelta(days=1)
        )

    for n in range(60):
        worker(n % 7 + 1)
    monkeypatch.setattr(positions, "ANCHOR_EVERY", 7)
    walked = walk_by_next(client, f"/pekerja?{sort}")
    assert len(walked) == len(set(walked)) == 60

    def page_ids(number: int) -> list[int]:
        return card_ids(client.get(f"/pekerja?page={number}&{sort}").text)

    with count_queries() as queries:
        assert page_ids(2) == walked[24:48]  # after the 3rd anchor (worker 21), 3 skipped
    assert len(queries) == 3 and "row_number" in queries[0].lower()
    with count_queries() as queries:
        assert page_ids(3) == walked[48:]  # the map extended from its last anchor
    assert len(queries) == 3 and "row_number" in queries[0].lower()
    with count_queries() as queries:
        assert page_ids(2) == walked[24:48]
    assert len(queries) == 2
    beyond = client.get(f"/pekerja?page=7&{sort}").text
    assert card_ids(beyond) == [] and re.search(r"\b60 pekerja (cocok|terlindungi)", beyond)

    worker(0)  # first in either order: every anchor moves one place down
    moved = walk_by_next(client, f"/pekerja?{sort}")
    assert moved[1:] == walked
    assert page_ids(2) == moved[25:49]  # the kept map: one off
    monkeypatch.setattr(positions, "POSITIONS_TTL", 0.0)
    assert page_ids(2) == moved[24:48]


def test_a_count_that_reached_the_cap_is_kept_for_the_first_page_only(
    client, make_registered_worker, monkeypatch, count_queries
):
    """A first page whose count reached the cap skips the count for POSITIONS_TTL; an exact
    count is read every time; a kept "more than" whose page comes back short is read again."""
    workers = [make_registered_worker(gender="male" if n < 10 else "female") for n in range(30)]
    index_workers(workers)
    db.session.commit()
    monkeypatch.setattr(directory, "COUNT_CAP", 25)
    # Without filters the count is a column of the page's statement; a search counts first.
    for url, statements in (("/pekerja", 1), ("/pekerja?q=siti", 2)):
        with count_queries() as queries:
            assert "Lebih dari 25 pekerja cocok" in client.get(url).text
        assert len(queries) == statements and "count(" in " ".join(queries)
        with count_queries() as queries:
            html = client.get(url).text
        assert len(queries) == 1 and "count(" not in queries[0]
        assert "Lebih dari 25 pekerja cocok" in html and len(card_ids(html)) == 24
    with count_queries() as queries:  # an exact count (10 men): read every time
        assert "10 pekerja cocok" in client.get("/pekerja?gender=male").text
        assert "10 pekerja cocok" in client.get("/pekerja?gender=male").text
    assert len(queries) == 2 and all("count(" in sql for sql in queries)
    with count_queries() as queries:  # the next page by cursor counts from its cursor
        client.get(next_link(client.get("/pekerja").text))
    assert len(queries) == 2 and "count(" in queries[1]

    for worker in workers[5:]:  # 5 left: the kept "more than 25" is wrong, and seen to be
        worker.is_listed = False
    db.session.commit()
    html = client.get("/pekerja").text
    assert len(card_ids(html)) == 5 and "5 pekerja cocok" in html
    with count_queries() as queries:
        client.get("/pekerja")
    assert len(queries) == 1 and "count(" in queries[0]  # not kept: below the cap
    monkeypatch.setattr(positions, "POSITIONS_TTL", -1.0)
    with count_queries() as queries:
        assert "5 pekerja cocok" in client.get("/pekerja?q=siti").text
    assert len(queries) == 2


@pytest.fixture
def directory_renders(app):
    """How many times the directory template was rendered, counted from a cleared cache of
    visitors' pages."""
    rendered: list[str] = []

    def count(sender, template, context, **extra):
        if template.name == "sponsorship/directory.html":
            rendered.append(template.name)

    directory.visitor_pages().clear()
    template_rendered.connect(count, app)
    yield rendered
    template_rendered.disconnect(count, app)


def test_a_visitor_gets_the_page_rendered_once_for_the_same_data(
    client, make_registered_worker, directory_renders
):
    """A visitor's page is kept by everything it shows: asked again, it is not rendered again
    and is the same HTML; a change of cover, a new worker (the count) or another language
    shows at once."""
    workers = [make_registered_worker() for _ in range(3)]
    first = client.get("/pekerja?occupation=farmer").text
    assert client.get("/pekerja?occupation=farmer").text == first
    assert len(directory_renders) == 1
    workers[0].covered_until = TODAY + timedelta(days=200)
    db.session.commit()
    covered = client.get("/pekerja?occupation=farmer").text
    assert "badge-success" in covered and "badge-success" not in first
    make_registered_worker()
    assert "4 pekerja cocok" in client.get("/pekerja?occupation=farmer").text
    client.get("/bahasa?lang=en&next=/")
    assert "4 workers match" in client.get("/pekerja?occupation=farmer").text
    assert len(directory_renders) == 4


def test_a_visitors_kept_page_follows_the_count_and_the_next_pages_cursor(
    client, make_registered_worker, directory_renders
):
    """Neither the count nor the "next" link's cursor (the last card's sort date) is on the
    cards: a change of either alone is a new page."""
    workers = [
        make_registered_worker(needs_cover_from=TODAY - timedelta(days=90 - 2 * n))
        for n in range(30)
    ]
    before = next_link(client.get("/pekerja").text)
    last_on_page = workers[23]
    assert before and f".{last_on_page.id}" in before
    last_on_page.needs_cover_from += timedelta(days=1)  # still between its neighbours
    db.session.commit()
    after = next_link(client.get("/pekerja").text)
    assert after != before and last_on_page.needs_cover_from.isoformat() in after
    make_registered_worker(needs_cover_from=TODAY)  # the last of all: not on the first page
    page = client.get("/pekerja").text
    assert "31 pekerja cocok" in page and next_link(page) == after
    assert len(directory_renders) == 3


def test_signed_in_users_and_flash_messages_never_get_a_kept_page(
    client, login_as, make_user, make_registered_worker, directory_renders
):
    make_registered_worker()
    client.get("/pekerja")
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Pesan untuk pengunjung ini")]
    assert "Pesan untuk pengunjung ini" in client.get("/pekerja").text
    assert "Pesan untuk pengunjung ini" not in client.get("/pekerja").text
    assert len(directory_renders) == 2  # the visitor's page once, the page with the message
    login_as(make_user(Role.SPONSOR))
    pages = [client.get("/pekerja").text for _ in range(2)]
    assert all('name="csrf_token"' in page for page in pages)
    assert len(directory_renders) == 4
