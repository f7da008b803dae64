"""The telco's one status callback per bulk top-up, with a result per number.

When a bulk top-up names a ``callback_url``, a timer finishes the batch's top-ups after
``topup_pending_ms`` (plus ``callback_delay_ms`` from ``/_batch_faults``) and POSTs ``{"batch_id",
"results": [top-up, …]}`` once, signed with the telco secret like Payung's own requests, retried
with a growing pause until the receiver answers 2xx (a real telco keeps trying too). It stops
only when the sandbox shuts down, is reset, or after ``GIVE_UP_S``. ``drop_callbacks`` finishes
the batch but never sends its callback: a lost callback the caller's fallback poll must cover.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import requests

from core.signing import signed_headers
from sandbox.batches.control import callback_faults
from sandbox.state import SandboxState

GIVE_UP_S = 3600.0
MAX_PAUSE_S = 5.0


def schedule_batch_callback(
    state: SandboxState, batch_id: str, topup_ids: list[str], url: str
) -> None:
    drop, delay_ms = callback_faults()
    delay_s = (state.settings.topup_pending_ms + delay_ms) / 1000

    def deliver() -> None:
        if state.stopping.wait(delay_s):
            return
        with state.storage.transaction():
            results = [r for r in map(state.topups.complete, topup_ids) if r is not None]
        if not results:  # cleared by /_reset before it completed
            return
        delivery: dict[str, Any] = {"batch_id": batch_id, "url": url, "attempts": 0}
        if drop:
            state.ledger.count("faults.callback_dropped")
            state.ledger.record_callback(delivery | {"dropped": True, "delivered": False})
            return
        body = json.dumps({"batch_id": batch_id, "results": results}).encode()
        _post_until_accepted(state, body, delivery, first_reference=results[0]["reference"])
        state.ledger.record_callback(delivery)

    threading.Thread(target=deliver, name=f"callback-{batch_id}", daemon=True).start()


def _post_until_accepted(
    state: SandboxState, body: bytes, delivery: dict[str, Any], *, first_reference: str
) -> None:
    started = time.monotonic()
    pause = 0.2
    while True:
        delivery["attempts"] += 1
        headers = signed_headers(
            state.secrets["telco"], body, idempotency_key=f"callback-{delivery['batch_id']}"
        )
        try:
            answer = requests.post(delivery["url"], data=body, headers=headers, timeout=30)
            delivery["status_code"] = answer.status_code
            if answer.ok:
                break
        except requests.RequestException as exc:
            delivery["error"] = type(exc).__name__
        gone = state.topups.find_by_reference(first_reference) is None  # /_reset
        if gone or time.monotonic() - started > GIVE_UP_S or state.stopping.wait(pause):
            break
        pause = min(MAX_PAUSE_S, pause * 2)
    delivery["delivered"] = 200 <= delivery.get("status_code", 0) < 300
