"""Field-by-field validation of partner request bodies, collecting every error before answering.

Bodies are strict: unknown fields are refused so contract drift in an issuer shows up at once.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sandbox.errors import PartnerError


def parse_json_object(raw_body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(raw_body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise PartnerError(400, "invalid_json", "request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise PartnerError(400, "invalid_json", "request body must be a JSON object")
    return payload


class Fields:
    """Reads typed fields from a JSON object and remembers what was wrong with them."""

    def __init__(self, payload: dict[str, Any], *, allowed: set[str]) -> None:
        self.payload = payload
        self.errors: dict[str, list[str]] = {}
        for name in sorted(set(payload) - allowed):
            self.add_error(name, "unknown field")

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def has(self, name: str) -> bool:
        return self.payload.get(name) is not None

    def string(
        self,
        name: str,
        *,
        required: bool = True,
        max_length: int = 200,
        pattern: re.Pattern[str] | None = None,
        pattern_message: str = "has the wrong format",
    ) -> str | None:
        value = self.payload.get(name)
        if value is None:
            if required:
                self.add_error(name, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.add_error(name, "must be a non-empty string")
            return None
        if len(value) > max_length:
            self.add_error(name, f"must be at most {max_length} characters")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.add_error(name, pattern_message)
            return None
        return value

    def integer(
        self, name: str, *, minimum: int, maximum: int, required: bool = True
    ) -> int | None:
        value = self.payload.get(name)
        if value is None:
            if required:
                self.add_error(name, "is required")
            return None
        # bool is an int subclass; true is not a quantity.
        if isinstance(value, bool) or not isinstance(value, int):
            self.add_error(name, "must be an integer")
            return None
        if not minimum <= value <= maximum:
            self.add_error(name, f"must be between {minimum} and {maximum}")
            return None
        return value

    def string_list(self, name: str, *, max_items: int = 24) -> list[str] | None:
        value = self.payload.get(name)
        if value is None:
            self.add_error(name, "is required")
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.add_error(name, "must be a list of strings")
            return None
        if not 1 <= len(value) <= max_items:
            self.add_error(name, f"must hold between 1 and {max_items} items")
            return None
        if len(set(value)) != len(value):
            self.add_error(name, "must not repeat items")
            return None
        return value

    def raise_if_invalid(self) -> None:
        if self.errors:
            raise PartnerError(
                400, "validation_failed", "request body has invalid fields", fields=self.errors
            )
