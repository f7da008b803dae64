"""The per-request middleware made cheap (issue 16) still does its job.

``extensions.LeanLimiter`` skips Flask-Limiter's before-request pass only where no limit could
apply before the view (view limits are checked by their decorators; the partner API's blueprint
budget, tested in tests/bundles/test_partner_api.py, still runs before). ``security.
LeanSessionInterface`` opens and saves no session for a visitor without one.
"""

import pytest

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
