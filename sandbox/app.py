"""Application factory for the partner sandbox, a stand-in for the partners' HTTP APIs.

Not part of Payung: it plays the telco, health-app and insurer side so the fulfillment issuers
can be tested over real HTTP, with signing, idempotency and switchable faults.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from flask import Flask

from sandbox import control, health, insurer, telco
from sandbox.batches import register_batches
from sandbox.errors import register_error_handlers
from sandbox.messaging import register as register_messaging
from sandbox.pipeline import register_pipeline
from sandbox.state import build_state
from sandbox.xendit import control as xendit

DEFAULT_CONFIG: dict[str, Any] = {
    "SECRETS": {
        "telco": "sandbox-telco-secret",
        "health": "sandbox-health-secret",
        "insurer": "sandbox-insurer-secret",
    },
    "TIMESTAMP_TOLERANCE_S": 300,
    "TOPUP_PENDING_POLLS": 1,
    "TOPUP_PENDING_MS": 0,
    "HEALTH_ACTIVATE_BASE_URL": None,
    # Where keys, answers and effects are kept across restarts; None keeps them in memory.
    "STATE_DIR": None,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # Xendit (sandbox/xendit): where its callbacks go, with which x-callback-token.
    "XENDIT_CALLBACK_URL": None,
    "XENDIT_CALLBACK_TOKEN": "payung-sandbox-callback-token",
}


def create_sandbox_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Defaults, then ``SANDBOX_*`` environment variables, then ``config``."""
    app = Flask(__name__)
    app.config.from_mapping(copy.deepcopy(DEFAULT_CONFIG))
    app.config.from_prefixed_env("SANDBOX")
    if config is not None:
        app.config.from_mapping(config)
    app.extensions["sandbox"] = build_state(app.config)
    register_error_handlers(app)
    register_pipeline(app)
    register_blueprints(app)
    return app


def register_blueprints(app: Flask) -> None:
    for module in (telco, health, insurer, control):
        app.register_blueprint(module.bp)
    app.register_blueprint(xendit.bp)
    register_messaging(app)
    register_batches(app)
