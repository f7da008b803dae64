"""The sandbox's JSON error shape and the exception its views raise to produce it.

Every error answer is ``{"error": {"code": str, "message": str, "fields"?: {name: [msg]}}}`` so
an issuer can branch on ``code`` without parsing prose.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException


class PartnerError(Exception):
    """An answer the partner gives on purpose: validation, refusal, conflict or fault."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}


def error_response(error: PartnerError) -> Response:
    body: dict[str, object] = {"code": error.code, "message": error.message}
    if error.fields:
        body["fields"] = error.fields
    response = jsonify({"error": body})
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _http_error(error: HTTPException) -> Response:
    code = (error.name or "error").lower().replace(" ", "_")
    return error_response(PartnerError(error.code or 500, code, error.description or code))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(PartnerError, error_response)
    app.register_error_handler(HTTPException, _http_error)
