"""Absolute links for messages: built from SITE_URL, so they work from a job (no request) and
from a request alike, and always point at the public site, never at the host that asked."""

from flask import current_app, url_for


def absolute_url(endpoint: str, **values: object) -> str:
    """The absolute URL of ``endpoint`` on the public site (``SITE_URL``)."""
    site = current_app.config["SITE_URL"].rstrip("/")
    with current_app.test_request_context(base_url=site):
        return url_for(endpoint, _external=True, **values)
