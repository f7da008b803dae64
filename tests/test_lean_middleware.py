"""The per-request middleware made cheap (issue 16) still does its job.

``extensions.LeanLimiter`` skips Flask-Limiter's before-request pass only where no limit could
apply before the view (view limits are checked by their decorators; the partner API's blueprint
budget, tested in tests/bundles/test_partner_api.py, still runs before). ``security.
LeanSessionInterface`` opens and saves no session for a visitor without one.
"""

import pytest
from flask import Response, session
from flask_limiter.util import get_qualified_name
from sqlalchemy import select

from accounts.access import public
from extensions import db, limiter, login_manager


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "RATELIMIT_SIGN_IN": "2 per minute"}


def test_the_before_request_pass_is_skipped_only_where_nothing_applies(app):
    with app.test_request_context("/paket"):
        app.preprocess_request()
        assert limiter._nothing_before_the_view()
    with app.test_request_context("/api/v1/offers"):
        assert not limiter._nothing_before_the_view()  # the partner API's shared budget


def test_a_view_limit_still_stops_the_third_sign_in_attempt(client):
    form = {"email": "nobody@example.test", "password": "wrong password"}
    statuses = [client.post("/masuk", data=form).status_code for _ in range(3)]
    assert statuses[:2] != [429, 429] and statuses[2] == 429


def test_a_session_is_read_and_written_as_before(client):
    assert "Set-Cookie" not in client.get("/paket").headers
    with client.session_transaction() as session:
        session["lang"] = "en"
    client.get("/paket")  # Flask-Login's session protection marks it not fresh, once
    page = client.get("/paket")
    assert 'lang="en"' in page.text
    assert "Cookie" in page.headers.get("Vary", "")
    assert "Set-Cookie" not in page.headers  # nothing changed, nothing re-sent
    client.set_cookie("payung_session", "tampered.value.here")
    assert 'lang="id"' in client.get("/paket").text  # a forged cookie is an empty session


def test_a_view_whose_limits_count_posts_evaluates_none_on_get(app):
    """GET /klaim skips its POST-only limits (issue 16, third round); a POST evaluates them."""
    claim_view = get_qualified_name(app.view_functions["claim.enter_code"])
    with app.test_request_context("/klaim", method="GET"):
        assert limiter._no_view_limit_for_this_method(claim_view)
    with app.test_request_context("/klaim", method="POST"):
        assert not limiter._no_view_limit_for_this_method(claim_view)
    sign_in_view = get_qualified_name(app.view_functions["accounts.login"])
    with app.test_request_context("/masuk", method="POST"):
        assert not limiter._no_view_limit_for_this_method(sign_in_view)


def test_no_rate_limit_headers_or_context_where_no_limit_looked(client):
    page = client.get("/klaim")
    assert page.status_code == 200
    assert not any(name.startswith("X-RateLimit") for name, _ in page.headers.items())


def test_a_missing_cookie_header_or_a_foreign_cookie_gives_an_empty_session(client):
    client.set_cookie("other", "x")
    page = client.get("/paket")
    assert "Set-Cookie" not in page.headers and "Cookie" in page.headers.get("Vary", "")


def test_vary_names_join_a_vary_line_the_view_set_each_name_once(app):
    """``PayungResponse`` adds compression's and the session's Vary names as the answer leaves;
    a name the view already gave, in any case, is not repeated."""

    @app.route("/test-vary")
    @public
    def vary_page() -> Response:
        response = Response("<p>" + "x" * 600 + "</p>", mimetype="text/html")
        response.headers["Vary"] = "accept-encoding, Origin"
        return response

    page = app.test_client().get("/test-vary", headers={"Accept-Encoding": "gzip"})
    names = [part.strip() for part in page.headers["Vary"].split(",")]
    assert [name.lower() for name in names].count("accept-encoding") == 1
    assert "Origin" in names and "Cookie" in names
    assert len(page.headers.getlist("Vary")) == 1
    assert page.headers["Content-Encoding"] == "gzip"


def test_a_page_without_a_session_still_gets_vary_cookie_and_the_policy_headers(client):
    page = client.get("/klaim", headers={"Accept-Encoding": "br"})
    vary = [part.strip() for part in page.headers["Vary"].split(",")]
    assert vary == ["Accept-Encoding", "Cookie"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_the_database_session_is_removed_after_a_request_that_used_it(app):
    seen = []

    @app.route("/test-session")
    @public
    def session_page() -> str:
        seen.append(db.session())
        db.session.execute(select(1))
        return "ok"

    client = app.test_client()
    assert client.get("/test-session").status_code == 200
    assert client.get("/test-session").status_code == 200
    assert seen[0] is not seen[1]  # each request its own session, the first one closed
    with app.app_context():
        assert not db.session.registry.has()


def test_a_remember_me_cookie_is_still_set_and_cleared(app):
    """``LeanLoginManager`` returns early only when the session asks for nothing."""
    with app.test_request_context("/"):
        session["_remember"] = "set"
        session["_user_id"] = "1:token"
        response = login_manager._update_remember_cookie(Response("x"))
        assert "remember_token=" in response.headers.get("Set-Cookie", "")
        assert "_remember" not in session
    with app.test_request_context("/"):
        session["_remember"] = "clear"
        response = login_manager._update_remember_cookie(Response("x"))
        assert "remember_token=;" in response.headers.get("Set-Cookie", "")
