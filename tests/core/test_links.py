"""One helper builds the absolute links in messages (partner, renewal and delivery notices)."""

from core.links import absolute_url


def test_a_link_from_a_job_points_at_the_public_site(app):
    app.config["SITE_URL"] = "https://payung.example/"
    with app.app_context():
        assert absolute_url("sponsorship.dashboard").startswith("https://payung.example/")


def test_a_link_built_during_a_request_ignores_the_host_that_asked(app):
    app.config["SITE_URL"] = "https://payung.example"
    with app.test_request_context(base_url="http://10.0.0.7:8000"):
        link = absolute_url("checkout.pay", reference="PY-1")
    assert link.startswith("https://payung.example/")
    assert "PY-1" in link
