"""Composing bundles (who may put what in), publishing, and what the bundle page tells sponsors."""

import re

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from bundles.models import (
    Bundle,
    BundlePart,
    FulfillmentMethod,
    OfferBilling,
    OfferKind,
    PartnerKind,
    PartnerStatus,
)
from extensions import db


@pytest.fixture
def own_offer(partner_client, make_offer):
    return make_offer(
        partner=partner_client.partner,
        name_en="Own premium",
        name_id="Premium sendiri",
        billing=OfferBilling.MONTHLY,
        premium_days=30,
    )


def new_bundle(client, name="Sehat Plus", **extra):
    response = client.post(
        "/kelola/paket/baru",
        data={"name": name, "summary_id": "Ringkas", "summary_en": "Short"} | extra,
    )
    assert response.status_code == 302, response.text
    return db.session.scalar(select(Bundle).order_by(Bundle.id.desc()))


def test_a_partner_composes_a_bundle_of_its_offer_and_the_insurers_dues(
    partner_client, own_offer, dues_offer
):
    bundle = new_bundle(partner_client, platform_fee_idr="99999")
    assert bundle.owner_partner_id == partner_client.partner.id
    assert bundle.platform_fee_idr == 0  # partners do not set Payung's fee
    assert bundle.slug == "sehat-plus"
    page = partner_client.get(f"/kelola/paket/{bundle.id}")
    assert "Premium sendiri" in page.text and "Iuran JKK + JKM" in page.text
    assert "iuran BPJS dari mitra asuransi" in page.text  # the rule is stated

    for offer, quantity in ((own_offer, "2"), (dues_offer, "1")):
        response = partner_client.post(
            f"/kelola/paket/{bundle.id}/bagian", data={"offer_id": offer.id, "quantity": quantity}
        )
        assert response.status_code == 302
    assert partner_client.post(f"/kelola/paket/{bundle.id}/terbitkan").status_code == 302
    db.session.refresh(bundle)
    assert bundle.is_published
    assert [(p.offer_id, p.quantity) for p in bundle.parts] == [
        (own_offer.id, 2),
        (dues_offer.id, 1),
    ]
    assert "Sehat Plus" in partner_client.get("/paket").text


def test_a_partner_cannot_add_another_partners_non_dues_offer(partner_client, make_offer):
    bundle = new_bundle(partner_client)
    foreign = make_offer(name_id="Milik mitra lain")
    assert "Milik mitra lain" not in partner_client.get(f"/kelola/paket/{bundle.id}").text
    response = partner_client.post(
        f"/kelola/paket/{bundle.id}/bagian", data={"offer_id": foreign.id, "quantity": "1"}
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(BundlePart)) == 0


@pytest.mark.parametrize("quantity", ["0", "13", "dua"])
def test_a_wrong_quantity_is_refused(partner_client, own_offer, quantity):
    bundle = new_bundle(partner_client)
    response = partner_client.post(
        f"/kelola/paket/{bundle.id}/bagian", data={"offer_id": own_offer.id, "quantity": quantity}
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(BundlePart)) == 0


def test_dues_come_once_per_month_and_one_dues_offer_per_bundle(
    client, login_as, make_user, dues_offer, make_offer, insurer
):
    login_as(make_user(Role.ADMIN))
    bundle = new_bundle(client)
    second_dues = make_offer(
        partner=insurer,
        kind=OfferKind.INSURANCE_DUES,
        income_idr=1_500_000,
        fulfillment_method=FulfillmentMethod.DUES_REMITTANCE,
    )
    bad = client.post(
        f"/kelola/paket/{bundle.id}/bagian", data={"offer_id": dues_offer.id, "quantity": "2"}
    )
    assert "jumlahnya 1" in bad.text
    client.post(
        f"/kelola/paket/{bundle.id}/bagian", data={"offer_id": dues_offer.id, "quantity": "1"}
    )
    bad = client.post(
        f"/kelola/paket/{bundle.id}/bagian", data={"offer_id": second_dues.id, "quantity": "1"}
    )
    assert "paling banyak satu penawaran iuran" in bad.text
    assert db.session.scalar(select(func.count()).select_from(BundlePart)) == 1


def test_the_admin_composes_platform_bundles_from_any_partner_and_sets_the_fee(
    client, login_as, make_user, make_offer, make_partner, dues_offer
):
    login_as(make_user(Role.ADMIN))
    quota = make_offer(
        partner=make_partner(PartnerKind.TELCO),
        kind=OfferKind.DATA_QUOTA,
        quota_mb=1024,
        validity_days=30,
        fulfillment_method=FulfillmentMethod.PARTNER_API,
    )
    health = make_offer()
    bundle = new_bundle(client, name="Combo", platform_fee_idr="5000")
    assert (bundle.owner_partner_id, bundle.platform_fee_idr) == (None, 5_000)
    for offer in (health, dues_offer, quota):
        client.post(
            f"/kelola/paket/{bundle.id}/bagian", data={"offer_id": offer.id, "quantity": "1"}
        )
    assert len(bundle.parts) == 3


def test_parts_change_only_while_unpublished(partner_client, own_offer, make_offer):
    bundle = new_bundle(partner_client)
    partner_client.post(
        f"/kelola/paket/{bundle.id}/bagian", data={"offer_id": own_offer.id, "quantity": "1"}
    )
    partner_client.post(f"/kelola/paket/{bundle.id}/terbitkan")
    another = make_offer(partner=partner_client.partner)
    response = partner_client.post(
        f"/kelola/paket/{bundle.id}/bagian", data={"offer_id": another.id, "quantity": "1"}
    )
    assert response.status_code == 422
    (part,) = bundle.parts
    partner_client.post(f"/kelola/paket/{bundle.id}/bagian/{part.id}/hapus")
    db.session.refresh(bundle)
    assert [p.offer_id for p in bundle.parts] == [own_offer.id]
    partner_client.post(f"/kelola/paket/{bundle.id}/tarik")
    partner_client.post(f"/kelola/paket/{bundle.id}/bagian/{part.id}/hapus")
    db.session.refresh(bundle)
    assert bundle.parts == []


def test_an_empty_bundle_cannot_be_published(partner_client):
    bundle = new_bundle(partner_client)
    response = partner_client.post(f"/kelola/paket/{bundle.id}/terbitkan", follow_redirects=True)
    assert "Tambahkan setidaknya satu bagian" in response.text
    db.session.refresh(bundle)
    assert not bundle.is_published


def test_partners_never_open_each_others_bundles(partner_client, make_bundle, make_offer):
    foreign = make_bundle(offers=[make_offer()], name="Paket Orang Lain")
    for path in (f"/kelola/paket/{foreign.id}", f"/kelola/paket/{foreign.id}/terbitkan"):
        method = partner_client.post if path.endswith("terbitkan") else partner_client.get
        assert method(path).status_code == 404
    assert "Paket Orang Lain" not in partner_client.get("/kelola/paket/").text


def test_sponsors_cannot_compose(client, login_as, make_user):
    login_as(make_user(Role.SPONSOR))
    assert client.get("/kelola/paket/").status_code == 403
    assert client.post("/kelola/paket/baru", data={"name": "x y"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Bundle)) == 0


def test_the_bundle_page_shows_what_the_worker_gets_month_by_month(
    client, make_bundle, make_offer, dues_offer
):
    health = make_offer(
        name_id="Premium 30 hari",
        unit_price_idr=25_000,
        billing=OfferBilling.MONTHLY,
        premium_days=30,
    )
    bundle = make_bundle(offers=[health, dues_offer], platform_fee_idr=1_000, name="ComboTest")
    page = client.get(
        f"/paket/{bundle.slug}?bulan=3&mulai=2027-02&pekerja=transport&pembayar=person"
    )
    text = page.text
    assert page.status_code == 200
    assert "3 voucher × 30 hari premium" in text
    assert "3 bulan perlindungan" in text
    # February and March 2027 at the PP 50/2025 rate, April at the full rate.
    assert "Maret 2027" in text and "April 2027" in text
    rows = {m: text[text.index(f'<th scope="row">{m}') :] for m in ("Maret 2027", "April 2027")}
    assert "−Rp8.400" in rows["Maret 2027"].split("</tr>")[0]
    assert "−Rp8.400" not in rows["April 2027"].split("</tr>")[0]
    assert "Rp33.400" in text and "Rp41.800" in text  # month totals with the app
    assert "PP 50/2025" in text
    assert "tidak pernah berlaku bila iuran dibayar dari APBN/APBD" in text
    total = 75_000 + 8_400 + 8_400 + 16_800 + 1_000
    assert f"Rp{total:,}".replace(",", ".") in text
    for months in ("1 bulan", "6 bulan", "12 bulan"):
        assert months in text
    government = client.get(
        f"/paket/{bundle.slug}?bulan=3&mulai=2027-02&pekerja=transport&pembayar=government"
    )
    assert f"Rp{75_000 + 3 * 16_800 + 1_000:,}".replace(",", ".") in government.text


def test_the_bundle_page_survives_odd_query_strings(client, make_bundle, dues_offer):
    bundle = make_bundle(offers=[dues_offer])
    for query in (
        "bulan=7",
        "bulan=x",
        "mulai=1999-01",
        "mulai=abc",
        "pembayar=alien",
        "mulai=2026-13",
    ):
        assert client.get(f"/paket/{bundle.slug}?{query}").status_code == 200


def test_unpublished_and_unavailable_bundles_are_not_shown(
    client, make_bundle, make_offer, make_partner
):
    draft = make_bundle(offers=[make_offer()], is_published=False, name="Draf Rahasia")
    inactive_offer = make_offer(is_active=False)
    broken = make_bundle(offers=[inactive_offer], name="Paket Rusak")
    pending = make_partner(status=PartnerStatus.PENDING)
    unapproved = make_bundle(offers=[make_offer(partner=pending)], name="Belum Disetujui")
    catalog = client.get("/paket").text
    for bundle in (draft, broken, unapproved):
        assert bundle.name not in catalog
        assert client.get(f"/paket/{bundle.slug}").status_code == 404


def test_the_catalog_page_costs_the_same_queries_for_more_bundles(
    client, make_bundle, make_offer, count_queries
):
    make_bundle(offers=[make_offer()])
    with count_queries() as queries:
        client.get("/paket")
    few = len(queries)
    for _ in range(5):
        make_bundle(offers=[make_offer(), make_offer()])
    with count_queries() as queries:
        page = client.get("/paket")
    assert len(queries) == few
    assert len(re.findall(r'class="card bundle-card"', page.text)) == 6
