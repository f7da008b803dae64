"""The issue's "done when": a partner signs up, is approved, lists an offer, uploads 10,000
codes, composes a bundle, and reads its stock and settlement — in the browser and by API."""

import io
import re
from datetime import timedelta

from sqlalchemy import select

from accounts.models import Role
from bundles.models import Bundle, Offer, Partner
from core.dates import jakarta_today
from extensions import db
from tests.conftest import PASSWORD

EXPIRY = (jakarta_today() + timedelta(days=400)).isoformat()


def test_the_whole_partner_journey(app, client, make_user, dues_offer):
    # Sign up and complete the profile.
    client.post(
        "/daftar",
        data={
            "name": "Sehat Nusantara",
            "email": "mitra@sehat.example",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "role": "partner",
            "accept_terms": "y",
        },
    )
    client.post(
        "/mitra/profil",
        data={
            "name": "Sehat Nusantara",
            "kind": "health_app",
            "contact_name": "Ayu",
            "contact_email": "ayu@sehat.example",
            "contact_phone": "021 555 0102",
        },
    )
    partner = db.session.scalar(select(Partner).where(Partner.name == "Sehat Nusantara"))
    assert "Menunggu persetujuan" in client.get("/mitra").text
    client.post("/keluar")

    # An admin approves.
    admin = make_user(Role.ADMIN)
    client.post("/masuk", data={"email": admin.email, "password": PASSWORD})
    client.post(f"/admin/mitra/{partner.id}/setujui")
    client.post("/keluar")

    # Back as the partner: an offer, 10,000 codes, a bundle with the insurer's dues.
    client.post("/masuk", data={"email": "mitra@sehat.example", "password": PASSWORD})
    client.post(
        "/mitra/penawaran/baru",
        data={
            "kind": "health_app",
            "name_id": "Premium 30 hari",
            "name_en": "Premium 30 days",
            "unit_price_idr": "20000",
            "billing": "monthly",
            "premium_days": "30",
            "fulfillment_method": "code_pool",
            "low_stock_threshold": "100",
            "is_active": "y",
        },
    )
    offer = db.session.scalar(select(Offer).where(Offer.partner_id == partner.id))
    csv_text = "code,expires_on\n" + "".join(f"WEB-{n:08d},{EXPIRY}\n" for n in range(10_000))
    response = client.post(
        f"/mitra/penawaran/{offer.id}/kode",
        data={"file": (io.BytesIO(csv_text.encode()), "codes.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    client.post("/kelola/paket/baru", data={"name": "Sehat dan Terlindungi"})
    bundle = db.session.scalar(select(Bundle).where(Bundle.owner_partner_id == partner.id))
    for part in (offer, dues_offer):
        client.post(
            f"/kelola/paket/{bundle.id}/bagian", data={"offer_id": part.id, "quantity": "1"}
        )
    client.post(f"/kelola/paket/{bundle.id}/terbitkan")
    assert "Sehat dan Terlindungi" in client.get("/paket").text
    dashboard = client.get("/mitra").text
    assert "10.000" in dashboard
    assert client.get("/mitra/penyelesaian").status_code == 200

    # The same through the API.
    page = client.post("/mitra/kunci-api", data={"name": "integrasi"})
    (key,) = set(re.findall(r"pyg_[A-Za-z0-9_\-]{20,}", page.text))
    auth = {"Authorization": f"Bearer {key}"}
    created = client.post(
        "/api/v1/offers",
        json={
            "kind": "health_app",
            "name_id": "Premium 90 hari",
            "name_en": "Premium 90 days",
            "unit_price_idr": 50_000,
            "billing": "once",
            "premium_days": 90,
            "fulfillment_method": "code_pool",
        },
        headers=auth,
    ).get_json()
    codes = [{"code": f"API-{n:08d}", "expires_on": EXPIRY} for n in range(10_000)]
    uploaded = client.post(
        f"/api/v1/offers/{created['id']}/codes", json={"codes": codes}, headers=auth
    )
    assert (uploaded.status_code, uploaded.get_json()["accepted"]) == (201, 10_000)
    stock = {
        s["offer_id"]: s["available"] for s in client.get("/api/v1/stock", headers=auth).get_json()
    }
    assert stock == {offer.id: 10_000, created["id"]: 10_000}
    settlement = client.get("/api/v1/settlement", headers=auth).get_json()
    assert settlement["owed_idr"] == 0
