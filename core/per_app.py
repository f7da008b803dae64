"""Objects built once per Flask app from its settings, such as a payment gateway's client.

Kept in ``app.extensions`` under a key of the caller's, so each app (and each test's app) has
its own, built on first use and reused by every later request of that app.
"""

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import current_app

T = TypeVar("T")


def once_per_app(key: str, build: Callable[[Mapping[str, Any]], T]) -> T:
    """``build(current_app.config)``, made on the first call in this app and kept for the next."""
    extensions = current_app.extensions
    if key not in extensions:
        extensions[key] = build(current_app.config)
    built: T = extensions[key]
    return built
