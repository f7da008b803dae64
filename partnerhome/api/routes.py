"""The partner JSON API, ``/api/v1``: offers, code uploads, stock, fulfillment items, settlement,
worker enrolment.

Authentication is an API key (``Authorization: Bearer pyg_…``) made on the partner dashboard;
every query is scoped to the key's partner, so another partner's ids answer 404. The views
(``api_offers``, ``api_reports``) call the same services as the HTML pages. The OpenAPI document
is at ``/api/v1/openapi.json`` and rendered for people (no JavaScript) at ``/api/v1/docs``.
"""

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template
from flask_smorest import Api
from werkzeug.wrappers import Response

from accounts.access import public
from partnerhome.api import offers as api_offers
from partnerhome.api import reports as api_reports
from partnerhome.api.schemas import ErrorSchema
from partnerhome.api.support import api_bp, route_api_errors_as_json

ROUTE_MODULES = (api_offers, api_reports)  # imported for their routes on ``api_bp``
API_SETTINGS = {
    "API_TITLE": "Payung partner API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": None,  # served by our own views below (guarded, readable page)
}
DESCRIPTION = (
    "Partners list offers, upload voucher codes, read stock, fulfillment items and settlement; "
    "agents register workers. Authenticate with an API key from the partner dashboard: "
    '`Authorization: Bearer <key>`. Errors are `{"error": {"code", "message", "fields"}}`; '
    "unknown fields are refused."
)

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")


class PartnerApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """Errors are handled by ``route_api_errors_as_json`` for /api/ paths only."""


# --- the OpenAPI document and its page ----------------------------------------------------


def _spec() -> dict[str, Any]:
    return current_app.extensions["payung_api"].spec.to_dict()


@docs_bp.route("/openapi.json")
@public
def openapi_json() -> Response:
    return jsonify(_spec())


@docs_bp.route("/docs")
@public
def api_docs() -> str:
    return render_template("bundles/api_docs.html", spec=_spec())


def register_partner_api(app: Flask) -> None:
    """Call after the HTML error pages are registered (the API's JSON errors wrap them)."""
    for key, value in API_SETTINGS.items():
        app.config.setdefault(key, value)
    api = PartnerApi(
        app,
        spec_kwargs={
            "info": {"description": DESCRIPTION},
            "servers": [{"url": "/"}],
            "security": [{"bearerAuth": []}],
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "Partner API key"}
    )
    api.register_blueprint(api_bp)
    app.register_blueprint(docs_bp)
    app.extensions["payung_api"] = api
    route_api_errors_as_json(app)
