"""What the sandbox saw and did: request counts, effects on the partner side, and replays.

Tests read it through ``GET /_stats`` to prove "N unique effects, 0 duplicates": an effect is a
topup, activation, registration or remittance that the partner would bill or act on, and two
effects of one kind with the same ``reference`` are a double issue. Effects are kept in the
sandbox's storage, so a restarted sandbox still counts what it did before; request and event
counters start again from zero.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.dates import utc_now_iso
from sandbox.storage import Storage


@dataclass(frozen=True)
class Effect:
    kind: str
    reference: str
    effect_id: str
    idempotency_key: str | None
    at: str


class Ledger:
    def __init__(self, storage: Storage | None = None) -> None:
        self._lock = threading.Lock()
        self._storage = storage or Storage()
        self.clear()
        with self._lock:
            self._effects = [Effect(**value) for value in self._storage.effects()]

    def clear(self) -> None:
        with self._lock:
            self._requests_by_api: Counter[str] = Counter()
            self._responses_by_status: Counter[str] = Counter()
            self._events: Counter[str] = Counter()
            self._effects: list[Effect] = []
            self._callbacks: list[dict[str, Any]] = []

    def record_request(self, api: str) -> None:
        with self._lock:
            self._requests_by_api[api] += 1

    def record_response(self, status: int) -> None:
        with self._lock:
            self._responses_by_status[str(status)] += 1

    def count(self, event: str, times: int = 1) -> None:
        """Count a named event such as ``idempotent_replays`` or ``faults.down``."""
        with self._lock:
            self._events[event] += times

    def record_effect(
        self, kind: str, reference: str, effect_id: str, idempotency_key: str | None
    ) -> None:
        effect = Effect(kind, reference, effect_id, idempotency_key, utc_now_iso())
        with self._lock:
            self._effects.append(effect)
        self._storage.append_effect(asdict(effect))

    def record_callback(self, delivery: dict[str, Any]) -> None:
        with self._lock:
            self._callbacks.append(delivery)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            effects = list(self._effects)
            seen: set[tuple[str, str]] = set()
            duplicates: list[dict[str, str]] = []
            for effect in effects:
                identity = (effect.kind, effect.reference)
                if identity in seen:
                    duplicates.append({"kind": effect.kind, "reference": effect.reference})
                seen.add(identity)
            return {
                "requests": {
                    "total": sum(self._requests_by_api.values()),
                    "by_api": dict(self._requests_by_api),
                },
                "responses_by_status": dict(self._responses_by_status),
                "effects_total": len(effects),
                "effects_by_kind": dict(Counter(effect.kind for effect in effects)),
                "unique_effects": len(seen),
                "duplicate_effects": len(duplicates),
                "duplicate_references": duplicates,
                "idempotent_replays": self._events["idempotent_replays"],
                "events": dict(self._events),
                "effects": [asdict(effect) for effect in effects],
                "callbacks": list(self._callbacks),
            }
