"""Every state-changing route refuses a request without a CSRF token, for every role.

The routes are read from ``app.url_map``, so a new form is covered the day it is added. The
only exceptions are the machine-to-machine endpoints, which authenticate every request with a
signature or an API key instead; they are listed here on purpose.
"""

import pytest
from werkzeug.routing import Rule

from accounts.models import Role

# Signed by the caller instead (Stripe, the SMS gateway, WhatsApp and SMS provider reports).
CSRF_EXEMPT_PREFIXES = ("/stripe/webhook", "/sms/", "/api/", "/messaging/", "/xendit/callback")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def sample_value(converter: object) -> object:
    kind = type(converter).__name__
    if kind == "IntegerConverter":
        return 1
    if kind == "AnyConverter":  # <any(a, b):name> only builds with one of its words
        return sorted(converter.items)[0]  # type: ignore[attr-defined]
    return "x"


def sample_url(rule: Rule) -> str:
    values = {name: sample_value(rule._converters[name]) for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def state_changing_rules(app) -> list[tuple[Rule, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & STATE_CHANGING):
            found.append((rule, method))
    return found


def test_the_app_has_forms_to_protect(app):
    assert len(state_changing_rules(app)) >= 5


@pytest.mark.parametrize("role", [None, *Role])
def test_no_form_is_accepted_without_a_csrf_token(app, login_as, make_user, role):
    client = login_as(make_user(role)) if role else app.test_client()
    accepted = []
    for rule, method in state_changing_rules(app):
        url = sample_url(rule)
        if url.startswith(CSRF_EXEMPT_PREFIXES):
            continue
        response = client.open(url, method=method, data={"x": "1"})
        if response.status_code != 400:
            accepted.append((method, url, response.status_code))
    assert accepted == []
