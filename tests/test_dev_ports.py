"""``make run`` on other ports: the demo's partner endpoints follow the sandbox's address, the
README documents the port variables, and the partner's "test connection" button gets an
answer from the sandbox."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from accounts.models import User
from bundles.models import FulfillmentMethod, Offer
from demo import follow_sandbox_address, seed_demo
from devtools import run_dev
from extensions import db
from vault import encrypt

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def app_config(sandbox):
    # The session's sandbox runs on a random port, never the default 8430.
    return {"PARTNER_SANDBOX_URL": sandbox.base_url, "PARTNER_API_ALLOW_INSECURE": True}


def _demo_quota() -> Offer:
    offer = db.session.scalar(
        select(Offer).where(Offer.fulfillment_method == FulfillmentMethod.PARTNER_API)
    )
    assert offer is not None
    return offer


def _test_connection(client, login_as, offer: Offer) -> str:
    owner = db.session.get(User, offer.partner.user_id)
    login_as(owner)
    response = client.post(f"/mitra/penawaran/{offer.id}/uji-koneksi", follow_redirects=True)
    assert response.status_code == 200
    return response.text


def test_demo_seeded_with_another_sandbox_port_calls_the_sandbox_there(
    app, client, login_as, sandbox
):
    assert not sandbox.base_url.endswith(":8430")
    seed_demo()
    db.session.commit()
    quota = _demo_quota()
    assert quota.api_endpoint_url == f"{sandbox.base_url}/telco/v1"

    page = _test_connection(client, login_as, quota)
    assert "Terhubung" in page  # the sandbox answered the signed ping
    db.session.refresh(quota)
    assert quota.api_check_ok is True
    assert sandbox.stats()["requests"]["by_api"] == {"telco": 1}


def test_a_database_seeded_at_another_port_follows_the_sandbox_when_the_port_changes(
    app, client, login_as, sandbox
):
    app.config["PARTNER_SANDBOX_URL"] = "http://127.0.0.1:8430"  # what `make run` seeded with
    seed_demo()
    quota = _demo_quota()
    own = Offer(
        partner=quota.partner,
        kind=quota.kind,
        name_id="Kuota mitra",
        name_en="Partner quota",
        unit_price_idr=10_000,
        quota_mb=1024,
        validity_days=30,
        fulfillment_method=FulfillmentMethod.PARTNER_API,
        api_endpoint_url="https://api.telco.example/payung/telco/v1",
        api_secret_encrypted=encrypt("partner-secret-123456"),
    )
    db.session.add(own)
    db.session.commit()
    assert quota.api_endpoint_url == "http://127.0.0.1:8430/telco/v1"

    app.config["PARTNER_SANDBOX_URL"] = sandbox.base_url  # make run on another port
    assert follow_sandbox_address() == 1
    db.session.commit()
    assert quota.api_endpoint_url == f"{sandbox.base_url}/telco/v1"
    assert own.api_endpoint_url == "https://api.telco.example/payung/telco/v1"
    assert follow_sandbox_address() == 0
    assert "Terhubung" in _test_connection(client, login_as, quota)


def test_run_dev_tells_the_site_where_the_stand_ins_and_the_site_listen():
    env = run_dev.dev_env({"PATH": "/bin"}, stripe_port=8521, sandbox_port=8531, site_port=5100)
    assert env["PAYUNG_PARTNER_SANDBOX_URL"] == "http://127.0.0.1:8531"
    assert env["PAYUNG_STRIPE_API_BASE"] == "http://127.0.0.1:8521"
    assert env["PAYUNG_PARTNER_CALLBACK_BASE_URL"] == "http://127.0.0.1:5100"
    assert env["PAYUNG_SITE_URL"] == "http://127.0.0.1:5100"
    assert env["PATH"] == "/bin"
    # A site URL set on purpose (a tunnel, say) is kept.
    kept = run_dev.dev_env(
        {"PAYUNG_SITE_URL": "https://tunnel.example"},
        stripe_port=8420,
        sandbox_port=8430,
        site_port=5000,
    )
    assert kept["PAYUNG_SITE_URL"] == "https://tunnel.example"


def test_the_readme_documents_every_dev_port_variable():
    variables = set(re.findall(r"PAYUNG_DEV_\w+", (REPO / "devtools/run_dev.py").read_text()))
    assert {"PAYUNG_DEV_STRIPE_PORT", "PAYUNG_DEV_SANDBOX_PORT", "PAYUNG_DEV_SITE_PORT"} <= (
        variables
    )
    readme = (REPO / "README.md").read_text()
    missing = sorted(name for name in variables if name not in readme)
    assert missing == []
