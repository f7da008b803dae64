"""The partner API's plumbing: API-key authentication, JSON errors, language, rate-limit key.

Every error under ``/api/`` is ``{"error": {"code", "message", "fields"?}}`` with the HTTP
status; ``code`` is stable for programs, ``message`` is English unless the client prefers
Indonesian (``Accept-Language: id``).
"""

import logging
import math
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, jsonify, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint as ApiBlueprint
from limits import parse_many
from werkzeug.exceptions import HTTPException, InternalServerError

from bundles.models import ApiKey, Partner, PartnerStatus
from extensions import csrf, limiter
from partnerhome.api.keys import find_api_key
from partnerhome.api.schemas import ErrorSchema
from vault import digest

log = logging.getLogger(__name__)
API_PREFIX = "/api/"
F = TypeVar("F", bound=Callable[..., Any])

GENERIC_ERRORS: dict[int, tuple[str, object]] = {
    400: ("bad_request", _l("The request could not be read.")),
    401: ("unauthorized", _l("Send a valid API key: Authorization: Bearer <key>.")),
    403: ("forbidden", _l("This API key may not do this.")),
    404: ("not_found", _l("Nothing here: check the address and the id.")),
    405: ("method_not_allowed", _l("This method is not allowed here.")),
    409: ("conflict", _l("The request conflicts with the current state; try again.")),
    413: ("payload_too_large", _l("The request body is too large.")),
    415: ("unsupported_media_type", _l("Send the body in the documented content type.")),
    422: ("validation_error", _l("Some fields are not valid.")),
    429: ("rate_limited", _l("Too many requests: slow down and retry later.")),
    500: ("internal_error", _l("Something went wrong on our side; nothing was saved.")),
}


class ApiError(HTTPException):
    """An API refusal with a stable ``error_code`` and optional per-field problems."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: object,
        *,
        fields: dict[str, list[Any]] | None = None,
    ) -> None:
        super().__init__(description=str(error_code))
        self.code = status
        self.error_code = error_code
        self.message = message
        self.fields = fields


def api_locale() -> str:
    return request.accept_languages.best_match(["en", "id"], default="en") or "en"


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """``{"codes": {"3": {"code": ["bad"]}}}`` → ``{"codes.3.code": ["bad"]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str | bytes) for m in messages):
        flat[prefix or "_body"] = [str(m) for m in messages]
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            flat.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        flat[prefix or "_body"] = [str(messages)]
    return flat


def _webargs_fields(error: HTTPException) -> dict[str, list[str]] | None:
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if not messages:
        return None
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "path", "headers"}:
        merged: dict[str, list[str]] = {}
        for location_messages in messages.values():
            merged.update(_flatten(location_messages))
        return merged
    return _flatten(messages)


def json_error(error: HTTPException) -> Response:
    status = error.code or 500
    error_code, default_message = GENERIC_ERRORS.get(status, (f"http_{status}", error.name))
    fields = None
    message: object = default_message
    if isinstance(error, ApiError):
        error_code, message, fields = error.error_code, error.message, error.fields
    else:
        fields = _webargs_fields(error)
        if fields and any("Invalid JSON body." in problems for problems in fields.values()):
            error_code, message, fields = "malformed_json", _l("The body is not valid JSON."), None
    with force_locale(api_locale()):
        body: dict[str, Any] = {"code": error_code, "message": str(message)}
        if fields:
            body["fields"] = {
                name: [str(problem) for problem in problems] for name, problems in fields.items()
            }
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    data = getattr(error, "data", None) or {}
    response.headers.update(data.get("headers") or {})
    return response


def route_api_errors_as_json(app: Flask) -> None:
    """Make every HTTP error under ``/api/`` JSON, leaving the HTML error pages of the rest of
    the site to the handlers already registered (they are called for other paths)."""
    page_handler = app.error_handler_spec[None][None].get(HTTPException)
    server_handler = app.error_handler_spec[None][500].get(InternalServerError)

    def http_error(error: HTTPException) -> Any:
        if request.path.startswith(API_PREFIX):
            return json_error(error)
        return page_handler(error) if page_handler else error

    def server_error(error: InternalServerError) -> Any:
        if request.path.startswith(API_PREFIX):
            log.exception("partner API error", exc_info=error.original_exception)
            return json_error(InternalServerError())
        return server_handler(error) if server_handler else error

    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(500, server_error)


def _bearer_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def rate_limit_key() -> str:
    """Per API key (hashed: the key itself never reaches the limiter's storage)."""
    key = _bearer_key()
    if key:
        return "api:" + digest(key, purpose="rate_limit")[:32]
    return "api-ip:" + (request.remote_addr or "unknown")


def spend_identity_budget(rows: int) -> None:
    """Count ``rows`` identities (NIK and phone pairs) against this API key's budget,
    ``RATELIMIT_PARTNER_API_IDENTITIES``; a request that does not fit is refused whole (429,
    ``identity_limit``, with ``Retry-After``) and spends nothing."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    strategy = limiter.limiter
    key = rate_limit_key()
    for item in parse_many(current_app.config["RATELIMIT_PARTNER_API_IDENTITIES"]):
        if not strategy.test(item, "identities", key, cost=rows):
            reset_at = strategy.get_window_stats(item, "identities", key).reset_time
            wait = max(1, math.ceil(reset_at - time.time()))
            refused = ApiError(
                429,
                "identity_limit",
                _l(
                    "This API key has sent too many workers for now (limit: %(limit)s). "
                    "Retry in %(seconds)s seconds.",
                    limit=str(item),
                    seconds=wait,
                ),
            )
            refused.data = {"headers": {"Retry-After": str(wait)}}
            raise refused
    for item in parse_many(current_app.config["RATELIMIT_PARTNER_API_IDENTITIES"]):
        strategy.hit(item, "identities", key, cost=rows)


def api_key_required(view: F) -> F:
    """Authenticates ``Authorization: Bearer <key>``; sets ``g.api_key`` and ``g.partner``."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        plain = _bearer_key()
        key = find_api_key(plain) if plain else None
        if key is None:
            raise ApiError(401, "unauthorized", GENERIC_ERRORS[401][1])
        if key.partner.status != PartnerStatus.APPROVED:
            raise ApiError(
                403,
                "partner_not_approved",
                _l("Your partner account is not approved (or is suspended)."),
            )
        g.api_key, g.partner = key, key.partner
        return view(*args, **kwargs)

    wrapper.access = "partner_api_key"  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def current_partner() -> Partner:
    return g.partner


def current_api_key() -> ApiKey:
    return g.api_key


# --- the blueprint every API module adds its routes to ------------------------------------

api_bp = ApiBlueprint(
    "partner_api", __name__, url_prefix="/api/v1", description="Partner API (API key)"
)
csrf.exempt(api_bp)  # authenticated by API key, not by a session cookie
# One budget per API key across every endpoint of the API.
limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_PARTNER_API"],
    scope="partner_api",
    key_func=rate_limit_key,
)(api_bp)

ERROR_DESCRIPTIONS = {
    401: "Missing, unknown or revoked API key.",
    403: "The partner is not approved (or is suspended).",
    404: "No such object among this partner's objects.",
    415: "Wrong content type.",
    422: "Invalid input; `fields` names each problem.",
    429: "Rate limited.",
}


def errors(*statuses: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document the error answers of a view (401, 403 and 429 always apply)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        for status in (*statuses, 401, 403, 429):
            view = api_bp.alt_response(
                status, schema=ErrorSchema, description=ERROR_DESCRIPTIONS.get(status, "Error")
            )(view)
        return view

    return decorate
