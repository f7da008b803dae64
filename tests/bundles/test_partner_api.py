"""The partner JSON API: keys, offers, codes, stock, items, settlement; errors; isolation."""

import pytest
from sqlalchemy import func, select

from bundles.codes.pools import issue_pool_code
from bundles.models import (
    ApiKey,
    FulfillmentMethod,
    Offer,
    OfferBilling,
    PartnerStatus,
    PoolCode,
)
from extensions import db
from partnerhome.api.keys import revoke_api_key
from vault import digest

HEALTH = {
    "kind": "health_app",
    "name_id": "Premium 30 hari",
    "name_en": "Premium, 30 days",
    "unit_price_idr": 25_000,
    "billing": "monthly",
    "premium_days": 30,
    "fulfillment_method": "code_pool",
}


@pytest.fixture
def partner(make_partner):
    return make_partner()


@pytest.fixture
def auth(partner, api_key_for):
    return api_key_for(partner)


@pytest.fixture
def pool(partner, make_offer):
    return make_offer(
        partner=partner,
        fulfillment_method=FulfillmentMethod.CODE_POOL,
        billing=OfferBilling.MONTHLY,
        premium_days=30,
        low_stock_threshold=2,
    )


def error_of(response):
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert response.mimetype == "application/json"
    return body["error"]


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


# --- keys ---------------------------------------------------------------------------------


def test_a_partner_creates_a_key_shown_once_and_stored_hashed(partner_client):
    page = partner_client.post("/mitra/kunci-api", data={"name": "Server stok"})
    (shown,) = set(__import__("re").findall(r"pyg_[A-Za-z0-9_\-]{20,}", page.text))
    key = db.session.scalar(select(ApiKey))
    assert key.key_digest == digest(shown, purpose="api_key")
    assert shown not in (key.prefix, key.key_digest)
    assert shown not in partner_client.get("/mitra/kunci-api").text  # never shown again
    ok = partner_client.get("/api/v1/partner", headers={"Authorization": f"Bearer {shown}"})
    assert ok.status_code == 200
    assert ok.get_json()["id"] == partner_client.partner.id

    partner_client.post(f"/mitra/kunci-api/{key.id}/cabut")
    refused = partner_client.get("/api/v1/partner", headers={"Authorization": f"Bearer {shown}"})
    assert refused.status_code == 401


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "Bearer pyg_wrongwrongwrongwrongwrong"],
)
def test_requests_without_a_valid_key_are_refused(client, header, pool):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/offers", headers=headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    response = client.post("/api/v1/offers", json=HEALTH, headers=headers)
    assert response.status_code == 401
    assert count(Offer) == 1


def test_a_revoked_key_and_an_unapproved_partner_are_refused(client, partner, auth, api_key_for):
    partner.status = PartnerStatus.SUSPENDED
    db.session.commit()
    response = client.get("/api/v1/offers", headers=auth)
    assert (response.status_code, error_of(response)["code"]) == (403, "partner_not_approved")
    partner.status = PartnerStatus.APPROVED
    db.session.commit()
    assert client.get("/api/v1/offers", headers=auth).status_code == 200
    revoke_api_key(db.session.scalar(select(ApiKey)))
    db.session.commit()
    assert client.get("/api/v1/offers", headers=auth).status_code == 401


# --- offers -------------------------------------------------------------------------------


def test_offers_are_created_listed_read_and_updated(client, auth, partner):
    created = client.post("/api/v1/offers", json=HEALTH, headers=auth)
    assert created.status_code == 201
    offer = created.get_json()
    assert (offer["kind"], offer["premium_days"], offer["is_listed"]) == ("health_app", 30, True)
    assert "api_secret" not in offer
    listed = client.get("/api/v1/offers", headers=auth).get_json()
    assert [o["id"] for o in listed] == [offer["id"]]
    patched = client.patch(
        f"/api/v1/offers/{offer['id']}",
        json={"unit_price_idr": 27_500, "is_active": False},
        headers=auth,
    )
    assert patched.status_code == 200
    assert (patched.get_json()["unit_price_idr"], patched.get_json()["is_listed"]) == (
        27_500,
        False,
    )
    assert (
        client.get(f"/api/v1/offers/{offer['id']}", headers=auth).get_json()["unit_price_idr"]
        == 27_500
    )


def test_an_api_offer_keeps_its_secret_write_only_and_encrypted(client, auth):
    body = HEALTH | {
        "fulfillment_method": "partner_api",
        "api_endpoint_url": "http://127.0.0.1:8430/health",
        "api_secret": "sandbox-health-secret",
    }
    created = client.post("/api/v1/offers", json=body, headers=auth).get_json()
    assert created["has_api_secret"] is True
    assert "sandbox-health-secret" not in str(created)
    stored = db.session.get(Offer, created["id"])
    assert "sandbox-health-secret" not in stored.api_secret_encrypted


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (HEALTH | {"surprise": 1}, "surprise"),
        (HEALTH | {"unit_price_idr": "25000"}, "unit_price_idr"),
        (HEALTH | {"unit_price_idr": 25_000.5}, "unit_price_idr"),
        (HEALTH | {"unit_price_idr": True}, "unit_price_idr"),
        (HEALTH | {"premium_days": None}, "premium_days"),
        (HEALTH | {"kind": "pizza"}, "kind"),
        (HEALTH | {"name_en": ""}, "name_en"),
        (HEALTH | {"is_active": "yes"}, "is_active"),
        ({k: v for k, v in HEALTH.items() if k != "name_id"}, "name_id"),
        (HEALTH | {"kind": "insurance_dues", "fulfillment_method": "dues_remittance"}, "kind"),
        (
            HEALTH | {"fulfillment_method": "partner_api", "api_endpoint_url": "gopher://x"},
            "api_endpoint_url",
        ),
    ],
)
def test_bad_offers_are_refused_with_the_field_and_nothing_is_saved(client, auth, body, field):
    response = client.post("/api/v1/offers", json=body, headers=auth)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert field in error["fields"], error
    assert count(Offer) == 0


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "malformed_json"),
        ("[1, 2]", "application/json", 422, "validation_error"),
        ('"offer"', "application/json", 422, "validation_error"),
    ],
)
def test_malformed_json_is_refused(client, auth, data, content_type, status, code):
    response = client.post("/api/v1/offers", data=data, content_type=content_type, headers=auth)
    assert response.status_code == status
    assert error_of(response)["code"] == code
    assert count(Offer) == 0


def test_an_empty_or_kind_changing_patch_is_refused(client, auth, pool):
    for body in ({}, {"kind": "data_quota"}, {"premium_days": 0}):
        response = client.patch(f"/api/v1/offers/{pool.id}", json=body, headers=auth)
        assert response.status_code == 422, body
    db.session.refresh(pool)
    assert pool.premium_days == 30


def test_errors_speak_indonesian_when_asked(client, auth):
    response = client.post(
        "/api/v1/offers",
        json=HEALTH | {"premium_days": None},
        headers=auth | {"Accept-Language": "id"},
    )
    assert error_of(response)["fields"]["premium_days"] == ["Kolom ini wajib diisi."]
    english = client.post("/api/v1/offers", json=HEALTH | {"premium_days": None}, headers=auth)
    assert error_of(english)["fields"]["premium_days"] == ["This field is required."]


def test_unknown_paths_and_methods_answer_json(client, auth):
    missing = client.get("/api/v1/nothing", headers=auth)
    assert (missing.status_code, error_of(missing)["code"]) == (404, "not_found")
    wrong = client.delete("/api/v1/offers", headers=auth)
    assert (wrong.status_code, error_of(wrong)["code"]) == (405, "method_not_allowed")
    assert "POST" in wrong.headers["Allow"]
    huge = client.get(f"/api/v1/offers/{10**30}", headers=auth)
    assert huge.status_code == 404


# --- codes, stock, items ------------------------------------------------------------------


def test_codes_are_uploaded_as_json_or_csv_all_or_nothing(client, auth, pool):
    good = {"codes": [{"code": f"API-{n:04d}", "expires_on": "2030-01-01"} for n in range(3)]}
    response = client.post(f"/api/v1/offers/{pool.id}/codes", json=good, headers=auth)
    assert response.status_code == 201
    assert response.get_json()["accepted"] == 3

    bad = {
        "codes": [
            {"code": "API-0100", "expires_on": "2030-01-01"},
            {"code": "API-0001", "expires_on": "2030-01-01"},  # uploaded before
            {"code": "=1+1", "expires_on": "2030-01-01"},
        ]
    }
    response = client.post(f"/api/v1/offers/{pool.id}/codes", json=bad, headers=auth)
    error = error_of(response)
    assert (response.status_code, error["code"]) == (422, "codes_refused")
    assert set(error["fields"]) == {"codes.3"}  # shape problems come first; nothing saved
    assert count(PoolCode) == 3

    csv_body = "code,expires_on\nCSV-0001,2030-01-01\nCSV-0002,2030-01-01\n"
    response = client.post(
        f"/api/v1/offers/{pool.id}/codes.csv", data=csv_body, content_type="text/csv", headers=auth
    )
    assert (response.status_code, response.get_json()["accepted"]) == (201, 2)
    response = client.post(
        f"/api/v1/offers/{pool.id}/codes.csv",
        data="code,expires_on\nCSV-0001,2030-01-01\n",
        content_type="text/csv",
        headers=auth,
    )
    assert error_of(response)["fields"] == {"line.2": ["This code was uploaded before."]}
    wrong_type = client.post(f"/api/v1/offers/{pool.id}/codes.csv", json={"a": 1}, headers=auth)
    assert wrong_type.status_code == 415
    assert count(PoolCode) == 5


@pytest.mark.parametrize(
    "body",
    [
        {"codes": []},
        {"codes": [{"code": "X-0001"}]},
        {"codes": [{"code": "X-0001", "expires_on": "31-12-2030"}]},
        {"codes": [{"code": "X-0001", "expires_on": "2030-01-01", "pin": "1234"}]},
        {"codes": "X-0001"},
    ],
)
def test_malformed_code_uploads_change_nothing(client, auth, pool, body):
    response = client.post(f"/api/v1/offers/{pool.id}/codes", json=body, headers=auth)
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert count(PoolCode) == 0


def test_stock_and_fulfillment_items_report_issued_codes(client, auth, pool):
    client.post(
        f"/api/v1/offers/{pool.id}/codes",
        json={"codes": [{"code": f"ITEM-{n:04d}", "expires_on": "2030-01-01"} for n in range(3)]},
        headers=auth,
    )
    issued = issue_pool_code(pool)
    db.session.commit()
    (level,) = client.get("/api/v1/stock", headers=auth).get_json()
    assert (level["available"], level["issued"], level["is_low"]) == (2, 1, False)
    assert client.get(f"/api/v1/offers/{pool.id}/stock", headers=auth).get_json()["issued"] == 1
    page = client.get("/api/v1/fulfillment-items?per_page=10", headers=auth).get_json()
    assert page["total"] == 1
    (item,) = page["items"]
    assert (item["id"], item["offer_id"], item["status"]) == (issued.id, pool.id, "issued")
    assert item["code_hint"] == "0000"  # ITEM-0000, the first code by expiry and id
    refused = client.get("/api/v1/fulfillment-items?per_page=1000&color=red", headers=auth)
    assert set(error_of(refused)["fields"]) == {"per_page", "color"}


def test_settlement_reports_what_payung_owes(client, auth, pool, make_paid_part):
    make_paid_part(pool, amount_idr=75_000, units=3)
    body = client.get("/api/v1/settlement", headers=auth).get_json()
    assert (body["sales_idr"], body["owed_idr"], len(body["lines"])) == (75_000, 75_000, 1)
    refused = client.get("/api/v1/settlement?period=2026-13", headers=auth)
    assert refused.status_code == 422


# --- isolation, CSRF, rate limits, documentation ------------------------------------------


def test_a_partner_never_reaches_another_partners_objects(
    client, auth, make_partner, make_offer, api_key_for
):
    stranger = make_partner()
    theirs = make_offer(partner=stranger, fulfillment_method=FulfillmentMethod.CODE_POOL)
    client.post(
        f"/api/v1/offers/{theirs.id}/codes",
        json={"codes": [{"code": "THEIRS-01", "expires_on": "2030-01-01"}]},
        headers=api_key_for(stranger),
    )
    issue_pool_code(theirs)
    db.session.commit()
    for method, path, body in [
        ("get", f"/api/v1/offers/{theirs.id}", None),
        ("patch", f"/api/v1/offers/{theirs.id}", {"name_en": "Hijacked"}),
        (
            "post",
            f"/api/v1/offers/{theirs.id}/codes",
            {"codes": [{"code": "MINE-0001", "expires_on": "2030-01-01"}]},
        ),
        ("get", f"/api/v1/offers/{theirs.id}/stock", None),
    ]:
        response = getattr(client, method)(path, json=body, headers=auth)
        assert response.status_code == 404, path
    assert client.get("/api/v1/offers", headers=auth).get_json() == []
    assert client.get("/api/v1/stock", headers=auth).get_json() == []
    assert client.get("/api/v1/fulfillment-items", headers=auth).get_json()["total"] == 0
    db.session.refresh(theirs)
    assert theirs.name_en != "Hijacked"
    assert count(PoolCode) == 1


class TestWithCsrfAndRateLimits:
    @pytest.fixture
    def app_config(self):
        return {
            "WTF_CSRF_ENABLED": True,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_PARTNER_API": "5 per minute",
        }

    def test_the_api_needs_no_csrf_token_but_is_rate_limited_per_key(
        self, client, auth, partner, api_key_for
    ):
        created = client.post("/api/v1/offers", json=HEALTH, headers=auth)
        assert created.status_code == 201  # no CSRF token needed with an API key
        statuses = [client.get("/api/v1/offers", headers=auth).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]
        limited = client.get("/api/v1/offers", headers=auth)
        assert error_of(limited)["code"] == "rate_limited"
        # Another key has its own budget.
        assert client.get("/api/v1/offers", headers=api_key_for(partner)).status_code == 200
        # The HTML forms still need their token.
        assert client.post("/mitra/profil", data={}).status_code == 400


def test_the_openapi_document_and_its_page(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/offers", "/api/v1/offers/{offer_id}/codes", "/api/v1/settlement"} <= set(
        spec["paths"]
    )
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert "<script" not in page.text
    assert "/api/v1/offers/{offer_id}/codes" in page.text
    assert 'id="schema-ErrorDetail"' in page.text
