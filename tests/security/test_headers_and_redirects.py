"""Cookies, response headers and redirects after sign-in.

- The session and remember-me cookies are HttpOnly and SameSite=Lax everywhere, Secure in
  production.
- Every HTML page, for every role and for strangers, carries a strict CSP that forbids framing,
  nosniff and a Referrer-Policy (the GET routes are read from ``app.url_map``).
- Pages with personal data are never stored by a browser or proxy cache.
- ``next=`` after password or phone sign-in never leaves the site, however it is encoded.
"""

import re
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
from sqlalchemy import select

from accounts.models import Role
from config import CONFIGS
from extensions import db
from messaging.models import Message
from tests.conftest import PASSWORD
from tests.security.world import World, build_world, signed_in_client


@pytest.mark.parametrize("env", ["production", "development", "testing"])
def test_cookie_settings(env):
    config = CONFIGS[env]
    assert config.SESSION_COOKIE_HTTPONLY is True
    assert config.SESSION_COOKIE_SAMESITE == "Lax"
    assert config.REMEMBER_COOKIE_HTTPONLY is True
    assert config.REMEMBER_COOKIE_SAMESITE == "Lax"
    if env == "production":
        assert config.SESSION_COOKIE_SECURE is True
        assert config.REMEMBER_COOKIE_SECURE is True


def test_the_session_cookie_set_at_sign_in_is_http_only_and_lax(client, make_user):
    user = make_user(Role.SPONSOR)
    response = client.post("/masuk", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- headers on every page --------------------------------------------------------------------


def _assert_safe_headers(response: Any, where: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, where
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin"), where


def test_every_html_page_for_every_role_carries_the_security_headers(
    app, make_user, make_partner, make_worker
):
    partner = make_partner()
    worker_user = make_user(Role.WORKER)
    make_worker(user_id=worker_user.id, phone_e164=worker_user.phone_e164)
    people = [None, make_user(Role.SPONSOR), partner.user, worker_user, make_user(Role.ADMIN)]
    paths = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.arguments and rule.endpoint != "static"
    ]
    paths += ["/no-such-page", "/pesanan/PAY-NOPE"]  # error pages too
    checked = 0
    for person in people:
        client = signed_in_client(app, person)
        for path in paths:
            response = client.get(path)
            if response.mimetype == "text/html":
                _assert_safe_headers(response, f"{person and person.role} {path}")
                checked += 1
    assert checked >= 100


# --- no caching of personal data --------------------------------------------------------------


@pytest.fixture
def world(app) -> World:
    return build_world(app)


def test_pages_with_personal_data_are_never_cached(world):
    ids = world.ids
    pages = {
        "worker_a": [
            "/saya",
            "/saya/data",
            f"/saya/paket/{ids['claim_id']}",
            f"/saya/paket/{ids['claim_id']}/kartu",
        ],
        "sponsor_a": [
            "/sponsor",
            "/sponsor/pekerja-saya",
            "/pesanan",
            f"/pesanan/{ids['reference']}",
            f"/pesanan/{ids['reference']}/kuitansi",
            f"/pesanan/{ids['reference']}/kuitansi.pdf",
            f"/laporan/{ids['year']}",
            f"/pilihan/{ids['selection_id']}",
        ],
        "partner_a": [
            "/mitra",
            "/mitra/penyelesaian",
            f"/mitra/pendaftaran/{ids['job_id']}",
            f"/mitra/pendaftaran/{ids['job_id']}/laporan.csv",
        ],
        "admin": ["/admin/", f"/admin/fulfillment/{ids['item_id']}"],
    }
    cached = []
    for who, paths in pages.items():
        client = world.client(who)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (who, path, response.status_code)
            if "no-store" not in response.headers.get("Cache-Control", ""):
                cached.append((who, path, response.headers.get("Cache-Control")))
    api = world.client("anonymous").get(
        "/api/v1/settlement", headers={"Authorization": f"Bearer {world.api_keys['partner_a']}"}
    )
    assert api.status_code == 200
    if "no-store" not in api.headers.get("Cache-Control", ""):
        cached.append(("partner_a", "/api/v1/settlement", api.headers.get("Cache-Control")))
    assert cached == []


def test_public_pages_and_static_files_stay_cacheable(client):
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    static = client.get("/static/css/payung.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


# --- open redirects after sign-in -------------------------------------------------------------

EVIL_NEXT = [
    "//evil.test",
    "///evil.test",
    "https://evil.test",
    "http:evil.test",
    "https:/\\evil.test",
    "/\\evil.test",
    "\\\\evil.test",
    "/\t/evil.test",
    " //evil.test",
    "javascript:alert(1)",
    "%2F%2Fevil.test",
    "/%2F/evil.test",
    "/%5Cevil.test",
    "%5C%5Cevil.test",
    "//evil.test@localhost/",
    "/\x00/evil.test",
]


def _stays_home(location: str) -> bool:
    target = urlsplit(urljoin("http://localhost/masuk", location))
    return target.scheme == "http" and target.netloc == "localhost"


def test_password_sign_in_never_redirects_off_site(app, make_user, cheap_passwords):
    user = make_user(Role.SPONSOR, password_hash=cheap_passwords.hash(PASSWORD))
    client = app.test_client()
    for evil in EVIL_NEXT:
        # The link /masuk?next=… puts ``next`` in the form's hidden field; the form posts it.
        page = client.get(f"/masuk?next={quote(evil, safe='')}")
        assert page.status_code == 200
        response = client.post(
            f"/masuk?next={quote(evil, safe='')}",
            data={"email": user.email, "password": PASSWORD, "next": evil},
        )
        assert response.status_code == 302, evil
        assert _stays_home(response.headers["Location"]), (evil, response.headers["Location"])
        with client.session_transaction() as session:
            session.clear()


def test_phone_sign_in_never_redirects_off_site(app, make_user):
    worker = make_user(Role.WORKER)
    client = app.test_client()
    for evil in EVIL_NEXT:
        response = client.post(
            f"/masuk/pekerja?next={quote(evil, safe='')}", data={"phone": worker.phone_e164}
        )
        assert response.status_code == 302, evil
        message = db.session.scalar(
            select(Message)
            .where(Message.recipient == worker.phone_e164)
            .order_by(Message.id.desc())
            .limit(1)
        )
        code = re.search(r"\b(\d{6})\b", message.full_body()).group(1)
        response = client.post("/masuk/pekerja/kode", data={"code": code})
        assert response.status_code == 302, evil
        assert _stays_home(response.headers["Location"]), (evil, response.headers["Location"])
        with client.session_transaction() as session:
            session.clear()


def test_a_local_next_is_still_followed(app, make_user, cheap_passwords):
    user = make_user(Role.SPONSOR, password_hash=cheap_passwords.hash(PASSWORD))
    response = app.test_client().post(
        "/masuk?next=%2Fpaket", data={"email": user.email, "password": PASSWORD, "next": "/paket"}
    )
    assert response.headers["Location"] == "/paket"


def test_the_language_switch_never_redirects_off_site(app):
    client = app.test_client()
    for evil in EVIL_NEXT:
        response = client.post("/bahasa", data={"lang": "en", "next": evil})
        assert response.status_code == 302, evil
        assert _stays_home(response.headers["Location"]), (evil, response.headers["Location"])
    assert (
        client.post("/bahasa", data={"lang": "en", "next": "/paket"}).headers["Location"]
        == "/paket"
    )
