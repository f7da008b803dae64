"""The bundle pages are kept rendered per catalogue stamp (issue 16): every edit of what they
show changes the stamp in its own transaction, so the next view shows the edit; a view from
the cache costs one statement; nothing of a visitor is kept."""

from datetime import date

from sqlalchemy import text, update

from bundles.catalog_stamp import catalog_stamp
from bundles.dues.data import add_rate_version
from bundles.models import Offer, OfferBilling, PartnerStatus
from extensions import db

QUERY = "?bulan=3&mulai=2027-05&pekerja=lain&pembayar=person"


def _page(client, bundle, query=QUERY):
    page = client.get(f"/paket/{bundle.slug}{query}")
    assert page.status_code == 200
    return page.text


def test_a_second_view_costs_one_statement_and_shows_the_same_page(
    client, make_bundle, make_offer, dues_offer, count_queries
):
    bundle = make_bundle(offers=[make_offer(), dues_offer])
    first = _page(client, bundle)
    url = f"/paket/{bundle.slug}{QUERY}"
    with count_queries() as queries:
        second = client.get(url).text
    assert len(queries) == 1 and "catalog_stamps" in queries[0]
    assert second == first
    with count_queries() as queries:
        client.get("/paket")
        client.get("/paket")
    assert len(queries) > 2  # the catalogue's first view reads the bundles
    with count_queries() as queries:
        client.get("/paket")
    assert len(queries) == 1


def test_a_view_that_seeds_the_dues_defaults_keeps_nothing(
    client, make_bundle, make_offer, insurer, count_queries
):
    """Dues tables still empty: the page view seeds the defaults in its own transaction (and
    does not commit them), so what it rendered is not kept under the stamp it read."""
    dues = make_offer(
        partner=insurer,
        kind="insurance_dues",
        unit_price_idr=0,
        income_idr=1_000_000,
        billing=OfferBilling.MONTHLY,
        fulfillment_method="dues_remittance",
    )
    url = f"/paket/{make_bundle(offers=[dues]).slug}{QUERY}"
    assert client.get(url).status_code == 200
    with count_queries() as queries:
        assert client.get(url).status_code == 200
    assert len(queries) > 2


def test_a_price_edit_shows_on_the_next_view(client, make_bundle, make_offer):
    offer = make_offer(unit_price_idr=25_000, billing=OfferBilling.MONTHLY)
    bundle = make_bundle(offers=[offer])
    assert "Rp75.000" in _page(client, bundle)
    before = catalog_stamp()
    offer.unit_price_idr = 30_000
    db.session.commit()
    assert catalog_stamp() != before
    text_after = _page(client, bundle)
    assert "Rp90.000" in text_after and "Rp75.000" not in text_after


def test_an_admins_new_dues_rates_show_on_the_next_view(client, make_bundle, dues_offer):
    bundle = make_bundle(offers=[dues_offer])
    assert "Rp7.300" not in _page(client, bundle)  # JKM is Rp6.800 a month until the edit
    add_rate_version(
        effective_from=date(2027, 5, 1),
        jkk_rate_bp=100,
        jkm_flat_idr=7_300,
        jht_rate_bp=200,
        note="test",
        by_id=None,
    )
    db.session.commit()
    page = _page(client, bundle)
    assert '<td data-label="JKM" class="num">Rp7.300</td>' in page


def test_a_suspended_partner_takes_the_bundle_off_the_pages(client, make_bundle, make_offer):
    offer = make_offer()
    bundle = make_bundle(offers=[offer], name="Paket Sehat Cache")
    assert "Paket Sehat Cache" in client.get("/paket").text
    _page(client, bundle)
    offer.partner.transition(PartnerStatus.SUSPENDED)
    db.session.commit()
    assert "Paket Sehat Cache" not in client.get("/paket").text
    assert client.get(f"/paket/{bundle.slug}{QUERY}").status_code == 404


def test_an_orm_bulk_update_restamps_and_a_rollback_leaves_the_stamp(app, make_offer):
    offer = make_offer()
    before = catalog_stamp()
    db.session.commit()
    offer.unit_price_idr = 1
    db.session.flush()
    assert catalog_stamp() != before  # inside the edit's transaction
    db.session.rollback()
    assert catalog_stamp() == before  # rolled back with it
    db.session.execute(update(Offer).where(Offer.id == offer.id).values(unit_price_idr=2))
    db.session.commit()
    assert catalog_stamp() != before


def test_nothing_of_the_visitor_is_kept(client, make_bundle, make_offer, login_as, make_user):
    bundle = make_bundle(offers=[make_offer()])
    anonymous = _page(client, bundle)
    sponsor = make_user()
    login_as(sponsor)
    signed_in = _page(client, bundle)
    assert sponsor.display_name in signed_in and sponsor.display_name not in anonymous
    content = signed_in[signed_in.index('<main id="main"') :]
    assert 'name="csrf_token"' not in content.split("</main>")[0]


def test_the_language_is_part_of_the_key(client, make_bundle, make_offer):
    bundle = make_bundle(offers=[make_offer()])
    assert "Total" in _page(client, bundle) and "Bahasa Indonesia" in _page(client, bundle)
    indonesian = _page(client, bundle)
    client.get("/bahasa?lang=en&next=/")
    english = _page(client, bundle)
    assert english != indonesian
    assert "Other durations" in english and "Other durations" not in indonesian


def test_a_stale_page_never_reaches_checkout(client, catalog, workers, ordered):
    """Checkout prices from the database, never from a page: even a price changed behind the
    stamp's back (raw SQL, which no code of Payung writes on these tables) is charged at the
    new price while the page still shows the old one."""
    assert "Rp25.000" in _page(client, catalog.sehat, "?bulan=1")
    db.session.execute(
        text("UPDATE offers SET unit_price_idr = 40000 WHERE id = :id"), {"id": catalog.app.id}
    )
    db.session.commit()
    assert "Rp25.000" in _page(client, catalog.sehat, "?bulan=1")  # not told: no new stamp
    db.session.expire_all()
    order = ordered(workers(1), catalog.sehat, months=1)
    assert order.total_idr == 40_000
