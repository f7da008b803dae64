"""Cross-cutting guarantees: every view is guarded, headers and cookies are safe, CSRF and
rate limits hold, the dev outbox is absent in production, jobs wait for the commit."""

import socket

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from app import create_app
from extensions import db
from messaging.models import Channel, Message, MessageStatus
from messaging.services import queue_message
from security import content_security_policy
from tests.conftest import PASSWORD, UnplannedNetworkCall, make_test_app


def test_every_view_declares_who_may_open_it(app):
    unguarded = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not hasattr(app.view_functions[rule.endpoint], "access")
    ]
    assert unguarded == []


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/sponsor", Role.SPONSOR), ("/mitra", Role.PARTNER), ("/admin/", Role.ADMIN)],
)
def test_role_pages_refuse_other_roles_and_send_strangers_to_sign_in(
    app, login_as, make_user, path, allowed
):
    anonymous = app.test_client().get(path)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/masuk?next=")
    for role in Role:
        client = login_as(make_user(role))
        expected = 200 if role == allowed else 403
        assert client.get(path).status_code == expected, role


def test_security_headers_forbid_framing_sniffing_and_inline_scripts(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in response.text


def _directives(csp: str) -> dict[str, set[str]]:
    return {name: set(values) for name, *values in (part.split() for part in csp.split("; "))}


@pytest.mark.parametrize(
    ("js_url", "frames", "connects"),
    [
        # Live Stripe.js opens 3-D Secure in frames from hooks.stripe.com and calls its API.
        (
            "https://js.stripe.com/v3/",
            {"https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"},
            {"'self'", "https://api.stripe.com", "https://js.stripe.com"},
        ),
        # localstripe serves the script, the frames and the API from one local origin.
        (
            "http://127.0.0.1:8420/js.stripe.com/v3/",
            {"http://127.0.0.1:8420"},
            {"'self'", "http://127.0.0.1:8420"},
        ),
        (None, {"'none'"}, {"'self'"}),
    ],
)
def test_the_policy_lets_stripe_js_work_and_nothing_else(
    tmp_path, pg_schema, js_url, frames, connects
):
    app = make_test_app(tmp_path, pg_schema, STRIPE_JS_URL=js_url)
    with app.test_request_context("/"):
        policy = _directives(content_security_policy())
    assert policy["frame-src"] == frames
    assert policy["connect-src"] == connects
    assert "hooks.stripe.com" not in " ".join(policy["script-src"])
    assert policy["frame-ancestors"] == {"'none'"}


class TestProductionCookies:
    @pytest.fixture
    def app_config(self):
        return {"ENV_NAME": "production"}

    def test_cookies_are_secure_and_http_only(self, client, make_user):
        user = make_user(Role.SPONSOR)
        response = client.post("/masuk", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "Secure" in cookie
        assert "SameSite=Lax" in cookie
        assert "Strict-Transport-Security" in response.headers


def test_production_refuses_to_start_without_its_keys():
    with pytest.raises(RuntimeError, match="PAYUNG_SECRET_KEY"):
        create_app({"ENV_NAME": "production", "SECRET_KEY": None})


def test_production_refuses_to_start_without_a_shared_rate_limit_storage(tmp_path, pg_schema):
    with pytest.raises(RuntimeError, match="PAYUNG_RATELIMIT_STORAGE_URI"):
        make_test_app(tmp_path, pg_schema, ENV_NAME="production", RATELIMIT_STORAGE_URI="")
    # Said out loud, a single process's own counters are allowed; with limits off, none needed.
    single = make_test_app(tmp_path, pg_schema, ENV_NAME="production")
    assert single.config["RATELIMIT_STORAGE_URI"] == "memory://"
    unlimited = make_test_app(
        tmp_path, pg_schema, ENV_NAME="production", RATELIMIT_STORAGE_URI="",
        RATELIMIT_ENABLED=False,
    )  # fmt: skip
    assert unlimited.config["RATELIMIT_ENABLED"] is False


def test_dev_outbox_does_not_exist_in_production(tmp_path, pg_schema):
    production = make_test_app(tmp_path, pg_schema, ENV_NAME="production")
    assert "dev.outbox" not in production.view_functions
    assert production.test_client().get("/dev/outbox").status_code == 404


def test_dev_outbox_lists_sent_messages(client):
    queue_message(channel=Channel.SMS, recipient="+6281234567890", body="Halo", purpose="test")
    db.session.commit()
    page = client.get("/dev/outbox")
    assert page.status_code == 200
    assert "Halo" in page.text


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_forms_without_a_token_are_refused_and_change_nothing(self, client, make_user):
        user = make_user(Role.SPONSOR)
        response = client.post("/masuk", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 400
        assert client.get("/sponsor").status_code == 302
        response = client.post("/masuk/pekerja", data={"phone": "081234567890"})
        assert response.status_code == 400
        assert db.session.scalar(select(func.count()).select_from(Message)) == 0

    def test_sign_out_needs_a_token(self, client, login_as, make_user):
        login_as(make_user(Role.SPONSOR))
        assert client.post("/keluar").status_code == 400
        assert client.get("/sponsor").status_code == 200


class TestRateLimits:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_SIGN_IN": "3 per minute"}

    def test_password_guessing_is_slowed_down(self, client, make_user):
        user = make_user(Role.SPONSOR)
        codes = [
            client.post("/masuk", data={"email": user.email, "password": "guess"}).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        assert "Terlalu banyak percobaan" in client.post("/masuk", data={}).text

    def test_one_time_codes_are_limited_per_client_and_spaced_per_phone(self, client):
        statuses = [
            client.post("/masuk/pekerja", data={"phone": f"08123456789{n}"}).status_code
            for n in range(3)
        ]
        statuses += [
            client.post("/masuk/pekerja", data={"phone": "081234567890"}).status_code
            for _ in range(3)
        ]
        assert statuses[:5] == [302] * 5
        assert statuses[5] == 429
        # one SMS per phone: the same phone waits OTP_RESEND_SECONDS for another
        assert db.session.scalar(select(func.count()).select_from(Message)) == 3


def test_messages_are_delivered_only_after_commit(app):
    queue_message(channel=Channel.SMS, recipient="+6281234567890", body="a", purpose="test")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0

    message = queue_message(
        channel=Channel.SMS, recipient="+6281234567890", body="b", purpose="test"
    )
    assert message.status == MessageStatus.QUEUED
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Message, message.id).status == MessageStatus.SENT


def test_jobs_run_eagerly_without_a_broker_and_on_redis_with_one(tmp_path, pg_schema):
    eager = make_test_app(tmp_path, pg_schema)
    assert eager.extensions["celery"].conf.task_always_eager is True
    queued = make_test_app(tmp_path, pg_schema, CELERY_BROKER_URL="redis://127.0.0.1:6379/15")
    assert queued.extensions["celery"].conf.task_always_eager is False
    assert queued.extensions["celery"].conf.broker_url == "redis://127.0.0.1:6379/15"


def test_network_guard_stops_calls_to_the_outside_world():
    with socket.socket() as sock, pytest.raises(UnplannedNetworkCall):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: refused before any packet leaves


def test_query_counter_counts_statements(app, count_queries, make_worker):
    make_worker()
    with count_queries() as queries:
        db.session.scalar(select(func.count()).select_from(Message))
    assert len(queries) == 1
