"""No form field answers a 500, whatever is typed into it: too long, empty, or bytes that are
not UTF-8 (issue 13, item 5: a search over 100 characters crashed in ``ngettext``).

Two sweeps, both discovered from the app so a new form is covered the day it is added:

* every form class (every subclass of ``i18n.Form``) validates every field filled with each
  bad value, and every error message can be shown;
* every page and every form route of ``app.url_map`` is called, by each role, with all form
  field names in the query string and in the body, filled with each bad value.
"""

import urllib.parse
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.routing import Rule
from wtforms import Field, SelectFieldBase

from accounts.models import Role
from bundles.models import PartnerKind
from i18n import Form

TOO_LONG = "9" * 5_000
BAD_VALUES = {
    "too_long": TOO_LONG.encode(),
    "empty": b"",
    "not_utf8": b"%FF%FE%C3%28%80",  # percent-encoded bytes that are not UTF-8
}
SKIPPED_PREFIXES = ("/static/", "/stripe/webhook", "/sms/", "/dev/")


def form_classes() -> list[type[Form]]:
    found: list[type[Form]] = []
    todo = list(Form.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def field_names(cls: type[Form]) -> Iterator[str]:
    for name in dir(cls):
        unbound = getattr(cls, name, None)
        if getattr(unbound, "field_class", None) and issubclass(unbound.field_class, Field):
            yield name


def all_field_names() -> list[str]:
    return sorted({name for cls in form_classes() for name in field_names(cls)})


def encoded_body(names: list[str], raw: bytes) -> bytes:
    value = raw if raw.startswith(b"%") else urllib.parse.quote_from_bytes(raw).encode()
    return b"&".join(name.encode() + b"=" + value for name in names)


def test_the_sweep_finds_the_forms(app: Flask) -> None:
    names = {cls.__name__ for cls in form_classes()}
    assert {"BundleCodeForm", "SignInForm", "OfferForm"} <= names
    assert len(names) >= 30
    assert "q" in all_field_names()


@pytest.mark.parametrize("value", sorted(BAD_VALUES))
def test_every_form_field_gives_a_message_not_a_crash(app: Flask, value: str) -> None:
    crashed = []
    for cls in form_classes():
        names = list(field_names(cls))
        body = encoded_body(names, BAD_VALUES[value])
        with app.test_request_context(
            "/", method="POST", data=body, content_type="application/x-www-form-urlencoded"
        ):
            try:
                form = cls()
                for field in form:
                    if isinstance(field, SelectFieldBase) and getattr(field, "choices", 0) is None:
                        field.choices = []  # the view fills them in
                form.validate()
                for messages in form.errors.values():
                    [str(message) for message in messages]
            except Exception as error:  # collect every crash, then fail once
                crashed.append(f"{cls.__module__}.{cls.__qualname__}: {error!r}")
    assert crashed == []


def test_a_too_long_search_is_told_so(client) -> None:
    response = client.get("/pekerja", query_string={"q": "a" * 101})
    assert response.status_code == 200
    assert b"100" in response.data  # "at most 100 characters", in the visitor's language


def test_a_too_long_claim_code_is_told_so(client) -> None:
    response = client.post("/klaim", data={"code": "A" * 61})
    assert response.status_code in (200, 400, 422)
    assert b"60" in response.data


def sample_url(rule: Rule) -> str:
    def sample(name: str) -> object:
        kind = type(rule._converters[name]).__name__
        if kind == "IntegerConverter":
            return 1
        if kind == "AnyConverter":
            return sorted(rule._converters[name].items)[0]  # type: ignore[attr-defined]
        return "x"

    values = {name: sample(name) for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def form_routes(app: Flask) -> list[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        url = sample_url(rule)
        if url.startswith(SKIPPED_PREFIXES):
            continue
        for method in {"GET", "POST"} & (rule.methods or set()):
            routes.add((method, url))
    return sorted(routes)


@pytest.mark.parametrize("role", [None, *Role])
def test_no_route_crashes_on_bad_field_values(
    app, client, login_as, make_user, make_partner, make_worker, role
) -> None:
    if role == Role.PARTNER:
        login_as(make_partner(PartnerKind.AGENT).user)
    elif role == Role.WORKER:
        user = make_user(Role.WORKER)
        make_worker(user_id=user.id, phone_e164=user.phone_e164)
        login_as(user)
    elif role:
        login_as(make_user(role))
    names = all_field_names()

    def call(method: str, url: str, body: bytes) -> int:
        if method == "GET":
            response = client.get(url + ("?" + body.decode("ascii") if body else ""))
        else:
            response = client.post(url, data=body, content_type="application/x-www-form-urlencoded")
        response.close()  # a streamed download holds its request context until closed
        return response.status_code

    crashed = []
    for method, url in form_routes(app):
        if call(method, url, b"") in (302, 401, 403, 404, 405):
            continue  # not this role's page (or no such object): the values are not read
        for value, raw in BAD_VALUES.items():
            status = call(method, url, encoded_body(names, raw))
            if status >= 500:
                crashed.append((method, url, value, status))
    assert crashed == []
