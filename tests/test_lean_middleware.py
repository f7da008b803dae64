"""The per-request middleware made cheap (issue 16) still does its job.

``extensions.LeanLimiter`` skips Flask-Limiter's before-request pass only where no limit could
apply before the view (view limits are checked by their decorators; the partner API's blueprint
budget, tested in tests/bundles/test_partner_api.py, still runs before). ``security.
LeanSessionInterface`` opens and saves no session for a visitor without one.
"""

import pytest
from flask_limiter.util import get_qualified_name

from extensions import limiter


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
