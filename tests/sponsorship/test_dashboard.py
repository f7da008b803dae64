"""The sponsor dashboard: what a sponsor's money did (figures, charts, workers about to lapse),
the CSV export of its workers, and nothing of any other sponsor."""

import csv
import functools
import io
import itertools
import re
from datetime import UTC, date, datetime

import pytest

from accounts.models import Role, User
from extensions import db
from sponsorship.checkout.models import Order, OrderLine, OrderStatus, Refund
from sponsorship.continuity.ledger import months_funded_by_sponsor
from sponsorship.dashboard import views as dashboard_views
from sponsorship.dashboard.charts import Bar, bar_chart
from sponsorship.dashboard.services import sponsor_dashboard
from sponsorship.payments.receipts import yearly_statement
from tests.pdf_support import pdf_text
from workers.coverage import extend_coverage

TODAY = date(2026, 11, 20)
_references = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch):
    monkeypatch.setattr(dashboard_views, "jakarta_today", lambda: TODAY)


@pytest.fixture
def bundle(make_bundle):
    return make_bundle(name="Sertakan", offers=[])


def new_sponsor(name: str = "PT Peduli") -> User:
    # No password: login_as needs none, and hashing one takes a third of a second.
    user = User(role=Role.SPONSOR, email=f"{next(_references)}@sponsor.test", display_name=name)
    db.session.add(user)
    db.session.commit()
    return user


@pytest.fixture
def fund(bundle):
    """``fund(sponsor, worker, first_month, months, paid_at)``: a paid order for one worker
    whose dues went through (a Coverage row), as fulfillment leaves it."""

    def factory(sponsor, worker, first_month, months, paid_at, *, status=OrderStatus.FULFILLED):
        total = 16_800 * months
        order = Order(
            reference=f"PY-DASH-{next(_references)}",
            sponsor_id=sponsor.id,
            status=status,
            total_idr=total,
            paid_at=paid_at,
            worker_count=1,
        )
        line = OrderLine(
            order=order,
            worker_id=worker.id,
            bundle_id=bundle.id,
            months=months,
            first_month=first_month,
            total_idr=total,
        )
        db.session.add_all([order, line])
        db.session.flush()
        extend_coverage(
            worker,
            months=months,
            first_month=first_month,
            order_line_id=line.id,
            programmes=["JKK", "JKM"],
        )
        db.session.commit()
        return order

    return factory


def refund(order, amount, created_at):
    db.session.add(
        Refund(order_id=order.id, amount_idr=amount, reason="test", created_at=created_at)
    )
    db.session.commit()


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC)


@pytest.fixture
def world(make_user, make_worker, fund):
    """Sponsor A funds w1 (lapsing), w2 (co-sponsored: A paid Jun–Aug, B Sep–Feb), w3 (a year,
    partly refunded) and w4 (fully refunded). Sponsor B also funds w5 alone."""
    consented = {
        "insurer_consent_at": at(date(2026, 1, 5)),
        "listing_consent_at": at(date(2026, 1, 5)),
    }
    make_worker = functools.partial(make_worker, **consented)
    a = new_sponsor("PT Maju")
    b = new_sponsor("PT Lain")
    w1 = make_worker(full_name="Siti Aminah", province_code="32", occupation="farmer")
    w2 = make_worker(full_name="Budi Santoso", province_code="35", occupation="market_trader")
    w3 = make_worker(full_name="Dewi Lestari", province_code="35", occupation="farmer")
    w4 = make_worker(full_name="Rudi Hartono", province_code="51", occupation="fisher")
    w5 = make_worker(full_name="Wayan Sudra", province_code="73", occupation="driver")
    fund(a, w1, date(2026, 9, 1), 3, at(date(2026, 9, 3)))
    fund(a, w2, date(2026, 6, 1), 3, at(date(2026, 6, 2)))
    fund(b, w2, date(2026, 9, 1), 6, at(date(2026, 8, 30)))
    year = fund(a, w3, date(2026, 10, 1), 12, at(date(2026, 10, 1)))
    refund(year, 25_000, at(date(2026, 10, 9)))
    gone = fund(a, w4, date(2026, 7, 1), 1, at(date(2026, 7, 10)), status=OrderStatus.REFUNDED)
    refund(gone, gone.total_idr, at(date(2026, 8, 5)))
    fund(b, w5, date(2026, 11, 1), 1, at(date(2026, 11, 2)))
    return {"a": a, "b": b, "w": [w1, w2, w3, w4, w5], "year": year, "gone": gone}


def test_the_figures_count_only_this_sponsors_paid_months(world):
    summary = sponsor_dashboard(world["a"], TODAY)
    w1 = world["w"][0]
    assert summary.workers_funded == 3  # w4's order was refunded in full
    assert summary.covered_now == 2  # w2's November is B's month, not A's
    assert summary.months_funded == 3 + 3 + 12
    assert [w.worker_id for w in summary.lapsing] == [w1.id]  # cover to 30 November
    by_month = {m.month: m.net_idr for m in summary.spending}
    assert len(by_month) == 12 and min(by_month) == date(2025, 12, 1)
    assert by_month[date(2026, 6, 1)] == 3 * 16_800
    assert by_month[date(2026, 7, 1)] == 16_800  # paid, refunded the month after
    assert by_month[date(2026, 8, 1)] == -16_800
    assert by_month[date(2026, 9, 1)] == 3 * 16_800
    assert by_month[date(2026, 10, 1)] == 12 * 16_800 - 25_000
    assert by_month[date(2026, 11, 1)] == 0  # B paid in November, not A
    assert {(s.key, s.workers, s.months) for s in summary.by_province} == {
        ("35", 2, 15),
        ("32", 1, 3),
    }
    assert [(s.key, s.workers) for s in summary.by_occupation] == [
        ("farmer", 2),
        ("market_trader", 1),
    ]
    other = sponsor_dashboard(world["b"], TODAY)
    assert (other.workers_funded, other.covered_now, other.months_funded) == (2, 2, 7)
    assert [w.worker_id for w in other.lapsing] == [world["w"][4].id]  # w2: to February


def test_the_page_shows_figures_charts_and_renewal(client, login_as, world):
    login_as(world["a"])
    page = client.get("/sponsor")
    assert page.status_code == 200
    html = page.text
    assert "style=" not in html  # the strict CSP forbids inline styles
    assert "<script" not in html.split("</main>")[0].split("<main")[-1]
    spending = _figure(html, "chart-spending")
    assert "<title" in spending and 'role="img"' in spending
    assert "Rp176.600" in spending  # October: 12 × Rp16.800, less Rp25.000 refunded
    assert "−Rp16.800" in spending  # August: the refund of July's order
    assert "Okt 2026" in spending
    province = _figure(html, "chart-province")
    assert _table(province) == [("Jawa Timur", "2"), ("Jawa Barat", "1")]
    assert re.findall(r'<text class="chart-label"[^>]*>([^<]*)</text>', province) == [
        "Jawa Timur",
        "Jawa Barat",
    ]
    occupation = _figure(html, "chart-occupation")
    assert _table(occupation) == [("Petani", "2"), ("Pedagang pasar", "1")]
    assert "Bali" not in html and "Sulawesi Selatan" not in html  # refunded; B's worker
    # w1 is lapsing: one tap renews (the same bundle and months go into the cart).
    w1 = world["w"][0]
    assert f'action="/sponsor/perpanjang/{w1.id}"' in html
    assert html.count('action="/sponsor/perpanjang/') == 1
    assert "Siti A." in html and "Budi S." not in html
    assert "/laporan/2026.pdf" in html
    assert "/sponsor/ekspor.csv" in html


def test_the_csv_has_no_nik_or_phone_and_neutralises_formulas(
    client, login_as, make_user, make_worker, fund
):
    sponsor = new_sponsor()
    names = ["=Cmd(1) Ani", "+Joko Widodo", "-Siti Nur", "@Rina Putri", "Tuti Alawiyah"]
    made = [
        make_worker(full_name=name, nik=f"32010112059000{n:02d}", phone_e164=f"+628123450000{n}")
        for n, name in enumerate(names)
    ]
    for worker in made:
        fund(sponsor, worker, date(2026, 11, 1), 2, at(date(2026, 11, 1)))
    login_as(sponsor)
    response = client.get("/sponsor/ekspor.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    for n, worker in enumerate(made):
        assert f"32010112059000{n:02d}" not in text
        assert worker.phone_e164 not in text and worker.phone_e164[3:] not in text
    header, *rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(header) == 11 and len(rows) == 5
    assert [row[1] for row in rows] == [
        "'=Cmd(1) A.",
        "'+Joko W.",
        "'-Siti N.",
        "'@Rina P.",
        "Tuti A.",
    ]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert rows[0][5:] == ["2", "2026-11-01", "2026-12-31", "2026-12-31", "Ya", "Terlindungi"]


def test_another_sponsors_export_holds_only_its_own_workers(client, login_as, world):
    login_as(world["b"])
    text = client.get("/sponsor/ekspor.csv").get_data(as_text=True)
    ids = [row[0] for row in csv.reader(io.StringIO(text.lstrip("\ufeff")))][1:]
    assert ids == [str(world["w"][1].id), str(world["w"][4].id)]
    page = client.get("/sponsor").text
    assert "Jawa Barat" not in page and "Siti A." not in page


def test_a_new_sponsor_sees_an_empty_state(client, login_as, make_user):
    login_as(new_sponsor())
    page = client.get("/sponsor")
    assert page.status_code == 200
    assert "chart-" not in page.text and "ekspor.csv" not in page.text
    assert "Angka Anda akan tampil di sini" in page.text
    export = client.get("/sponsor/ekspor.csv").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(export.lstrip("\ufeff"))))) == 1  # the header only


def test_other_roles_cannot_open_the_dashboard_or_export(client, login_as, make_user):
    login_as(make_user(Role.PARTNER))
    assert client.get("/sponsor/ekspor.csv").status_code in (302, 403)


def test_the_page_reads_a_fixed_number_of_statements(
    client, login_as, make_user, make_worker, fund, count_queries
):
    sponsor = new_sponsor()
    provinces, occupations = ["32", "33", "35", "51", "73"], ["farmer", "driver", "fisher"]
    for n in range(50):
        worker = make_worker(province_code=provinces[n % 5], occupation=occupations[n % 3])
        months = 1 if n % 2 else 3  # November only (lapsing), or October to December
        first = date(2026, 11 if months == 1 else 10, 1)
        fund(sponsor, worker, first, months, at(date(2026, 9, 1 + n % 28)))
    login_as(sponsor)
    with count_queries() as queries:
        page = client.get("/sponsor")
    assert page.status_code == 200
    assert page.text.count('action="/sponsor/perpanjang/') == 20  # 20 of the 25 lapsing
    assert len(queries) == 8, "\n".join(queries)


def _figure(html: str, chart_id: str) -> str:
    match = re.search(rf'<figure class="chart" id="{chart_id}">(.*?)</figure>', html, re.S)
    assert match, f"no {chart_id}"
    return match.group(1)


def _table(figure: str) -> list[tuple[str, str]]:
    return re.findall(r'<th scope="row">([^<]*)</th><td class="num">([^<]*)</td>', figure)


def test_the_yearly_statement_breaks_cover_down_by_province_and_occupation(
    app, client, login_as, world, tmp_path
):
    login_as(world["a"])
    page = client.get("/laporan/2026").text
    shares = re.findall(
        r'<tr><td data-label="(?:Provinsi|Pekerjaan)">([^<]*)</td><td[^>]*>([^<]*)</td>'
        r"<td[^>]*>([^<]*)</td></tr>",
        page,
    )
    assert shares == [
        ("Jawa Timur", "2", "15"),
        ("Jawa Barat", "1", "3"),
        ("Petani", "2", "15"),
        ("Pedagang pasar", "1", "3"),
    ]
    app.config["RECEIPT_FONT_DIR"] = str(tmp_path)  # a core font: the PDF text is readable
    pdf = client.get("/laporan/2026.pdf")
    text = pdf_text(pdf.data)
    assert "Pekerja terlindungi per provinsi" in text and "Jawa Timur" in text
    assert "Bali" not in text  # the refunded order's worker


def test_a_chart_escapes_its_labels_and_draws_no_inline_style():
    chart = bar_chart(
        "chart-x",
        "Title <b>",
        [Bar("<script>alert(1)</script>", 10), Bar("Refunds", -5), Bar("Half", 5)],
        label_heading="Label",
        value_heading="Value",
    )
    assert "<script>" not in chart and "&lt;script&gt;" in chart
    assert "style=" not in chart
    widths = [int(w) for w in re.findall(r'<rect class="chart-bar"[^>]* width="(\d+)"', chart)]
    assert widths[0] > widths[2] > widths[1] == 0  # a negative value gets an empty bar
    assert '<text class="chart-value" x="6" y="61">-5</text>' in chart


def test_the_dashboard_the_statement_and_the_ledger_count_the_same_months(
    world, make_worker, bundle
):
    """One rule for "months funded": a fully refunded order and a part refunded before its
    dues went through count nowhere; the three places agree."""
    a = world["a"]
    w6 = make_worker(full_name="Agus Salim", province_code="32", occupation="farmer")
    order = Order(
        reference=f"PY-DASH-{next(_references)}",
        sponsor_id=a.id,
        status=OrderStatus.FULFILLED,
        total_idr=2 * 16_800 * 2,
        paid_at=at(date(2026, 11, 4)),
        worker_count=2,
    )
    kept, refunded = (
        OrderLine(
            order=order,
            worker_id=worker.id,
            bundle_id=bundle.id,
            months=2,
            first_month=date(2026, 12, 1),
            total_idr=16_800 * 2,
        )
        for worker in (world["w"][0], w6)
    )
    db.session.add_all([order, kept, refunded])
    db.session.flush()
    extend_coverage(
        world["w"][0],
        months=2,
        first_month=date(2026, 12, 1),
        order_line_id=kept.id,
        programmes=["JKK", "JKM"],
    )
    refund(order, refunded.total_idr, at(date(2026, 11, 20)))  # w6's dues never went through

    dashboard = sponsor_dashboard(a, TODAY).months_funded
    statement = yearly_statement(a, 2026).months_funded
    ledger = sum(
        funded.months
        for worker in [*world["w"], w6]
        for funded in months_funded_by_sponsor(worker.id)
        if funded.sponsor_id == a.id
    )
    assert dashboard == statement == ledger == 3 + 3 + 12 + 2
