"""Test-only control endpoints: fault switches, behaviour settings, statistics and reset.

They are never faulted, signed or counted, so a test can always see and repair the sandbox.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from sandbox.faults import parse_fault_config
from sandbox.state import current_state
from sandbox.validation import Fields, parse_json_object

bp = Blueprint("control", __name__)


@bp.get("/_faults")
def show_faults() -> dict[str, Any]:
    return current_state().faults.config.as_json()


@bp.post("/_faults")
def set_faults() -> dict[str, Any]:
    """Replace every switch at once: switches left out go back to off."""
    config = parse_fault_config(parse_json_object(request.get_data()))
    current_state().faults.configure(config)
    return config.as_json()


@bp.get("/_config")
def show_settings() -> dict[str, Any]:
    return current_state().settings.as_json()


@bp.post("/_config")
def change_settings() -> dict[str, Any]:
    """Change only the settings given; ``/_reset`` restores the start-up values."""
    fields = Fields(
        parse_json_object(request.get_data()),
        allowed={"topup_pending_polls", "topup_pending_ms"},
    )
    changes = {
        name: value
        for name, value in (
            (
                "topup_pending_polls",
                fields.integer("topup_pending_polls", minimum=0, maximum=100, required=False),
            ),
            (
                "topup_pending_ms",
                fields.integer("topup_pending_ms", minimum=0, maximum=600_000, required=False),
            ),
        )
        if value is not None
    }
    fields.raise_if_invalid()
    return current_state().update_settings(**changes).as_json()


@bp.get("/_stats")
def show_stats() -> dict[str, Any]:
    state = current_state()
    return {
        **state.ledger.snapshot(),
        "idempotency_keys": len(state.idempotency),
        "faults": state.faults.config.as_json(),
        "settings": state.settings.as_json(),
    }


@bp.post("/_reset")
def reset() -> dict[str, Any]:
    current_state().reset()
    return {"status": "reset"}
