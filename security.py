"""Web security that applies to every response: headers, cookies, safe redirects."""

import logging
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, current_app
from flask.globals import request_ctx
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix


def is_safe_next(target: str | None) -> bool:
    """Only our own absolute paths are followed after sign-in: ``/x`` yes, ``//evil`` no."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str) -> str:
    return target if is_safe_next(target) else default


# What live Stripe.js loads besides itself: its own frames (3-D Secure challenges come from
# hooks.stripe.com) and calls to its API. localstripe serves everything from one origin.
LIVE_STRIPE_JS = "js.stripe.com"
LIVE_STRIPE_EXTRA = {
    "script": ["https://*.js.stripe.com"],
    "frame": ["https://*.js.stripe.com", "https://hooks.stripe.com"],
    "connect": ["https://api.stripe.com"],
}


def content_security_policy() -> str:
    return _content_security_policy(current_app.config.get("STRIPE_JS_URL"))


def _content_security_policy(stripe_js: str | None) -> str:
    stripe: dict[str, list[str]] = {"script": [], "frame": [], "connect": []}
    if stripe_js:
        parts = urlsplit(stripe_js)
        origin = f"{parts.scheme}://{parts.netloc}"
        extra = LIVE_STRIPE_EXTRA if parts.netloc == LIVE_STRIPE_JS else {}
        for kind, sources in stripe.items():
            sources.extend([origin, *extra.get(kind, [])])
    script_sources = " ".join(["'self'", *stripe["script"]])
    frame_sources = " ".join(stripe["frame"]) or "'none'"
    connect_sources = " ".join(["'self'", *stripe["connect"]])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script_sources}",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect_sources}",
            f"frame-src {frame_sources}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@lru_cache(maxsize=16)
def _policy_lines(
    stripe_js: str | None, strict_transport: bool
) -> tuple[tuple[str, str, str], ...]:
    """The headers every answer carries, for one configuration, as ``(name, value, lowercase
    name)`` lines: built and checked for newlines once, not per answer."""
    headers = [
        ("Content-Security-Policy", _content_security_policy(stripe_js)),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if strict_transport:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    for _, value in headers:
        if "\r" in value or "\n" in value:  # what werkzeug checked on every answer
            raise ValueError("Header values must not contain newline characters.")
    return tuple((name, value, name.lower()) for name, value in headers)


class PayungResponse(Response):
    """Flask's response, carrying the security headers as a prebuilt list of header lines and
    the ``Vary`` names the after-request hooks added.

    werkzeug checks every value for newlines when it is added to ``response.headers`` and once
    more when the headers are copied for the server: the policy headers (the CSP alone is 400
    characters) made a fifth of a minimal page's instructions (issue 16). Their values are
    fixed per configuration and checked once when built; they join the answer's header lines
    as they leave for the server, where a header the view set itself wins as before. ``Vary``
    names (``Accept-Encoding`` from compression, ``Cookie`` from the session) join the same
    way: each one written through ``response.headers`` cost a scan, a parse and a check (a
    tenth of a minimal page). They go first in the ``Vary`` line, before any names the view
    or Flask set there, each name once whatever its case."""

    policy_headers: tuple[tuple[str, str, str], ...] = ()
    vary_names: tuple[str, ...] = ()

    def get_wsgi_response(
        self, environ: Mapping[str, Any]
    ) -> tuple[Iterable[bytes], str, list[tuple[str, str]]]:
        app_iter, status, headers = super().get_wsgi_response(environ)  # type: ignore[arg-type]
        if not (self.policy_headers or self.vary_names):
            return app_iter, status, headers
        present: dict[str, int] = {}
        for index, (name, _) in enumerate(headers):
            present.setdefault(name.lower(), index)
        if self.vary_names:
            index = present.get("vary")
            if index is None:
                headers.append(("Vary", ", ".join(self.vary_names)))
            else:
                name, value = headers[index]
                named = {part.strip().lower() for part in value.split(",")}
                added = [vary for vary in self.vary_names if vary.lower() not in named]
                if added:
                    headers[index] = (name, ", ".join([*added, value]))
        headers.extend(
            (name, value) for name, value, lower in self.policy_headers if lower not in present
        )
        return app_iter, status, headers


def set_security_headers(response: Response) -> Response:
    """Our headers, unless the view set its own (see ``PayungResponse``)."""
    # The request context itself, not the request, session and current_app proxies (each
    # attribute read through a proxy raised and caught an AttributeError inside Python 3.11).
    context = request_ctx._get_current_object()  # type: ignore[attr-defined]
    config = context.app.config
    lines = _policy_lines(config.get("STRIPE_JS_URL"), bool(config["SESSION_COOKIE_SECURE"]))
    headers = response.headers
    if isinstance(response, PayungResponse):
        response.policy_headers = lines
        has_cache_control = header_value(headers, "Cache-Control") is not None
    else:  # a response class of someone else's: the headers the ordinary way
        present = {name.lower() for name, _ in headers}
        for name, value, lower in lines:
            if lower not in present:
                headers.add(name, value)
        has_cache_control = "cache-control" in present
    if not has_cache_control and is_personal(context, response):
        headers.add("Cache-Control", "private, no-store")
    return response


def is_personal(context: Any, response: Response) -> bool:
    """A signed-in user's page or an API answer to a key (``context``: the request context):
    shared caches and the browser's back/forward history must not keep it (worker home, claim
    pages, receipts, settlement)."""
    request = context.request
    if response.status_code >= 300 or request.endpoint == "static":
        return False
    # The environ, not request.headers: a missing header there costs a KeyError raised,
    # built as a werkzeug exception and caught.
    if request.environ.get("HTTP_AUTHORIZATION"):
        return True
    return bool(context.session.get("_user_id"))


class LeanSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, minus the work a visitor without a session causes.

    Flask builds the itsdangerous serializer (and its key derivation) on every request, even
    when no cookie came, and walks the cookie settings before saving an empty session: 14 % of
    a minimal page (issue 16). Here the serializer is built once per key set, a request without
    the cookie gets an empty session straight away, and an empty untouched session is not
    saved (only ``Vary: Cookie`` is added when it was read, as Flask does). Cookies, their
    flags, signing and expiry are Flask's own.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple[object, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        key = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            if serializer is not None:
                self._serializers = {key: serializer}  # keys rotate: keep only the current set
        return serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and (
            not request.environ.get("HTTP_COOKIE")
            or not request.cookies.get(self.get_cookie_name(app))
        ):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified:
            if session.accessed:
                add_vary(response, "Cookie")
            return
        super().save_session(app, session, response)


def header_value(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The first value of ``name`` (any case) or None. werkzeug's ``headers.get`` and ``in``
    raise, build and catch an exception for every missing header: a few per answer, a tenth of
    a minimal page (issue 16). Pass the ``Headers`` themselves: ``items()`` is a generator."""
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


def add_vary(response: Response, name: str) -> None:
    """``response.vary.add(name)`` without parsing the header into a set and writing it back;
    on a ``PayungResponse`` the name joins the header as the answer leaves."""
    if isinstance(response, PayungResponse):
        if name not in response.vary_names:
            response.vary_names = (*response.vary_names, name)
        return
    vary = header_value(response.headers, "Vary")
    if not vary:
        response.headers["Vary"] = name
    elif name.lower() not in (part.strip().lower() for part in vary.split(",")):
        response.headers["Vary"] = f"{vary}, {name}"


# Ten or more digits, possibly split by single spaces, dashes or their URL encodings (not dots:
# IP addresses keep theirs), possibly after a + (%2B): a phone number or a NIK in a query string.
_LONG_NUMBER = re.compile(r"(?:\+|%2B)?\d(?:(?:[ \-+]|%20|%2D)?\d){9,}", re.IGNORECASE)
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


def mask_numbers(text: str) -> str:
    """``/admin/pesan/?recipient=081234567890`` → ``…recipient=#########890``."""
    return _LONG_NUMBER.sub(lambda m: "#" * 9 + re.sub(r"\D", "", m.group(0))[-3:], text)


class MaskNumbersFilter(logging.Filter):
    """Request lines in access logs carry query strings; a phone number or NIK typed into a
    search form must not reach the logs with them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_numbers(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {k: _masked(v) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_masked(v) for v in record.args)
        return True


def _masked(value: Any) -> Any:
    return mask_numbers(value) if isinstance(value, str) else value


def mask_access_logs() -> None:
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskNumbersFilter) for f in logger.filters):
            logger.addFilter(MaskNumbersFilter())


def register_security(app: Flask) -> None:
    if app.config["ENV_NAME"] == "production":
        missing = [k for k in ("SECRET_KEY", "FIELD_KEY", "LOOKUP_KEY") if not app.config.get(k)]
        if missing:
            raise RuntimeError(f"set PAYUNG_{', PAYUNG_'.join(missing)} before starting Payung")
        if app.config["RATELIMIT_ENABLED"] and not app.config.get("RATELIMIT_STORAGE_URI"):
            # Every gunicorn worker counting on its own would multiply each limit (wrong
            # one-time codes, sign-ins, SMS sent) by the number of workers.
            raise RuntimeError(
                "set PAYUNG_RATELIMIT_STORAGE_URI before starting Payung: a storage every "
                "process shares (redis://host:6379/1); memory:// only for a single process"
            )
    app.session_interface = LeanSessionInterface()
    app.response_class = PayungResponse
    app.after_request(set_security_headers)
    mask_access_logs()
    trust_proxies(app)


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies, take the visitor's address and scheme from the headers
    they set, so rate limits key on the visitor; with 0 (the default) nobody can forge them."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
