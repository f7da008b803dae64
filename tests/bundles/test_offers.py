"""Partners list offers of each kind; wrong terms are refused; the partner API connects."""

import threading

import pytest
from flask import Flask, request
from sqlalchemy import func, select
from werkzeug.serving import make_server

from bundles.models import FulfillmentMethod, Offer, OfferBilling, OfferKind, PartnerKind
from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from extensions import db
from vault import decrypt, encrypt

HEALTH = {
    "kind": "health_app",
    "name_id": "Premium sehat 30 hari",
    "name_en": "Health premium, 30 days",
    "description_id": "Konsultasi dokter dan pantau tidur.",
    "description_en": "Doctor chats and sleep tracking.",
    "unit_price_idr": "25000",
    "billing": "monthly",
    "premium_days": "30",
    "fulfillment_method": "code_pool",
    "low_stock_threshold": "50",
    "is_active": "y",
}
SECRET = "a-shared-secret-of-32-characters"


def offers():
    return db.session.scalars(select(Offer)).all()


def test_a_partner_lists_a_health_app_offer(partner_client):
    response = partner_client.post("/mitra/penawaran/baru", data=HEALTH)
    assert response.status_code == 302
    (offer,) = offers()
    assert (offer.kind, offer.unit_price_idr, offer.billing, offer.premium_days) == (
        OfferKind.HEALTH_APP,
        25_000,
        OfferBilling.MONTHLY,
        30,
    )
    assert offer.partner_id == partner_client.partner.id
    page = partner_client.get(f"/mitra/penawaran/{offer.id}")
    assert "Premium sehat 30 hari" in page.text
    assert "30 hari premium per unit" in page.text


def test_a_telco_lists_telkomsel_only_quota_through_its_api(client, login_as, make_partner):
    telco = make_partner(PartnerKind.TELCO)
    login_as(telco.user)
    response = client.post(
        "/mitra/penawaran/baru",
        data={
            "kind": "data_quota",
            "name_id": "Kuota 5 GB",
            "name_en": "5 GB quota",
            "unit_price_idr": "30000",
            "billing": "monthly",
            "quota_mb": "5120",
            "validity_days": "30",
            "operator": "telkomsel",
            "fulfillment_method": "partner_api",
            "api_endpoint_url": "http://127.0.0.1:8430/telco",
            "api_secret": SECRET,
            "low_stock_threshold": "0",
            "is_active": "y",
        },
    )
    assert response.status_code == 302
    (offer,) = offers()
    assert offer.operator == "telkomsel"
    assert SECRET not in offer.api_secret_encrypted
    assert decrypt(offer.api_secret_encrypted) == SECRET
    assert SECRET not in client.get(f"/mitra/penawaran/{offer.id}/ubah").text


def test_an_insurer_lists_dues_priced_by_the_engine(client, login_as, make_partner, dues_tables):
    insurer = make_partner(PartnerKind.INSURER)
    login_as(insurer.user)
    response = client.post(
        "/mitra/penawaran/baru",
        data={
            "kind": "insurance_dues",
            "name_id": "Iuran JKK JKM JHT",
            "name_en": "Dues JKK JKM JHT",
            "income_idr": "1500000",
            "include_jht": "y",
            "unit_price_idr": "999",
            "fulfillment_method": "dues_remittance",
            "low_stock_threshold": "0",
            "is_active": "y",
        },
    )
    assert response.status_code == 302
    (offer,) = offers()
    assert (offer.income_idr, offer.include_jht, offer.unit_price_idr, offer.billing) == (
        1_500_000,
        True,
        0,
        OfferBilling.MONTHLY,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"premium_days": ""}, "Kolom ini wajib diisi."),
        (
            {
                "kind": "insurance_dues",
                "fulfillment_method": "dues_remittance",
                "income_idr": "1000000",
            },
            "Hanya mitra asuransi",
        ),
        ({"fulfillment_method": "dues_remittance"}, "Pilih kumpulan kode atau API Anda"),
        ({"fulfillment_method": "partner_api"}, "Masukkan alamat API Anda."),
        (
            {
                "fulfillment_method": "partner_api",
                "api_endpoint_url": "ftp://x",
                "api_secret": SECRET,
            },
            "alamat web lengkap",
        ),
        (
            {
                "fulfillment_method": "partner_api",
                "api_endpoint_url": "http://127.0.0.1/x",
                "api_secret": "short",
            },
            "",
        ),
        ({"unit_price_idr": "-5"}, ""),
        ({"unit_price_idr": "dua puluh"}, ""),
        ({"billing": ""}, "per bulan atau sekali"),
        ({"name_en": "x"}, ""),
        ({"operator": "xl"}, ""),
        ({"kind": "other", "premium_days": ""}, "Jelaskan apa yang didapat pekerja."),
    ],
)
def test_wrong_terms_are_refused_and_nothing_is_saved(partner_client, changes, message):
    response = partner_client.post("/mitra/penawaran/baru", data=HEALTH | changes)
    assert response.status_code == 200
    assert 'class="alert alert-error"' in response.text or "error-message" in response.text
    assert message in response.text
    assert offers() == []


class TestProductionEndpoints:
    @pytest.fixture
    def app_config(self):
        return {"PARTNER_API_ALLOW_INSECURE": False}

    @pytest.mark.parametrize(
        "url",
        [
            "http://api.partner.example/payung",  # not HTTPS
            "https://127.0.0.1/payung",  # our own machine
            "https://10.0.0.5/payung",  # a private network
            "https://169.254.169.254/latest",  # cloud metadata
            "https://localhost/payung",
        ],
    )
    def test_production_refuses_endpoints_that_are_not_public_https(self, partner_client, url):
        data = HEALTH | {
            "fulfillment_method": "partner_api",
            "api_endpoint_url": url,
            "api_secret": SECRET,
        }
        response = partner_client.post("/mitra/penawaran/baru", data=data)
        assert response.status_code == 200
        assert offers() == []

    def test_a_public_https_endpoint_is_accepted(self, partner_client):
        data = HEALTH | {
            "fulfillment_method": "partner_api",
            "api_endpoint_url": "https://api.partner.example/payung",
            "api_secret": SECRET,
        }
        assert partner_client.post("/mitra/penawaran/baru", data=data).status_code == 302


def test_editing_keeps_the_kind_and_the_saved_secret(partner_client, make_offer):
    offer = make_offer(
        partner=partner_client.partner,
        fulfillment_method=FulfillmentMethod.PARTNER_API,
        api_endpoint_url="http://127.0.0.1:9/x",
        premium_days=30,
        billing=OfferBilling.MONTHLY,
    )

    offer.api_secret_encrypted = encrypt(SECRET)
    db.session.commit()
    data = HEALTH | {
        "kind": "data_quota",
        "fulfillment_method": "partner_api",
        "api_endpoint_url": "http://127.0.0.1:9/y",
        "name_en": "Renamed",
    }
    response = partner_client.post(f"/mitra/penawaran/{offer.id}/ubah", data=data)
    assert response.status_code == 302
    db.session.refresh(offer)
    assert (offer.kind, offer.name_en, offer.api_endpoint_url) == (
        OfferKind.HEALTH_APP,
        "Renamed",
        "http://127.0.0.1:9/y",
    )
    assert decrypt(offer.api_secret_encrypted) == SECRET


def test_a_partner_never_opens_another_partners_offer(partner_client, make_offer):
    foreign = make_offer(name_en="Foreign secret offer")
    for path in (f"/mitra/penawaran/{foreign.id}", f"/mitra/penawaran/{foreign.id}/ubah"):
        assert partner_client.get(path).status_code == 404
    before = foreign.name_en
    response = partner_client.post(f"/mitra/penawaran/{foreign.id}/ubah", data=HEALTH)
    assert response.status_code == 404
    db.session.refresh(foreign)
    assert foreign.name_en == before
    assert "Foreign secret offer" not in partner_client.get("/mitra/penawaran").text


# --- test connection ----------------------------------------------------------------------


@pytest.fixture
def partner_api_server():
    """A stand-in partner API on 127.0.0.1 that checks Payung's signature on GET /ping."""
    stub = Flask("partner-stub")
    seen = []

    @stub.get("/api/ping")
    def ping():
        seen.append(dict(request.headers))
        try:
            verify(
                SECRET.encode(),
                request.headers.get(TIMESTAMP_HEADER),
                request.get_data(),
                request.headers.get(SIGNATURE_HEADER),
            )
        except SignatureError as exc:
            return {"error": {"code": exc.code}}, 401
        return {"status": "ok"}

    server = make_server("127.0.0.1", 0, stub, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    thread.join(timeout=5)


def _api_offer(make_offer, partner, url, secret):
    offer = make_offer(
        partner=partner,
        fulfillment_method=FulfillmentMethod.PARTNER_API,
        api_endpoint_url=url,
        api_secret_encrypted=encrypt(secret),
        premium_days=30,
    )
    return offer


def test_test_connection_signs_the_request_and_reports_success(
    partner_client, make_offer, partner_api_server
):
    url, seen = partner_api_server
    offer = _api_offer(make_offer, partner_client.partner, f"{url}/api", SECRET)
    response = partner_client.post(
        f"/mitra/penawaran/{offer.id}/uji-koneksi", follow_redirects=True
    )
    assert "Terhubung" in response.text
    assert seen[0][SIGNATURE_HEADER].startswith("v1=")
    db.session.refresh(offer)
    assert offer.api_check_ok is True


def test_test_connection_explains_a_wrong_secret(partner_client, make_offer, partner_api_server):
    url, _seen = partner_api_server
    offer = _api_offer(make_offer, partner_client.partner, f"{url}/api", "another-secret-123456")
    response = partner_client.post(
        f"/mitra/penawaran/{offer.id}/uji-koneksi", follow_redirects=True
    )
    assert "menolak tanda tangan kami" in response.text
    db.session.refresh(offer)
    assert offer.api_check_ok is False


def test_test_connection_explains_an_unreachable_api(
    partner_client, make_offer, partner_api_server
):
    url, _seen = partner_api_server
    offer = _api_offer(make_offer, partner_client.partner, "http://127.0.0.1:9/api", SECRET)
    response = partner_client.post(
        f"/mitra/penawaran/{offer.id}/uji-koneksi", follow_redirects=True
    )
    assert "Tidak dapat menghubungi API Anda" in response.text
    missing = _api_offer(make_offer, partner_client.partner, f"{url}/nothing-here", SECRET)
    response = partner_client.post(
        f"/mitra/penawaran/{missing.id}/uji-koneksi", follow_redirects=True
    )
    assert "tidak punya endpoint ping" in response.text


def test_counting_offers_in_the_list_is_cheap(partner_client, make_offer, count_queries):
    for _ in range(5):
        make_offer(partner=partner_client.partner)
    with count_queries() as queries:
        assert partner_client.get("/mitra/penawaran").status_code == 200
    few = len(queries)
    for _ in range(10):
        make_offer(partner=partner_client.partner)
    with count_queries() as queries:
        partner_client.get("/mitra/penawaran")
    assert len(queries) == few
    assert db.session.scalar(select(func.count()).select_from(Offer)) == 15
