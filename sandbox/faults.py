"""Fault switches: outages, random errors, latency, hangs and lost answers after an effect.

Every random decision is a hash of (seed, decision kind, request identity), where the identity
of a keyed request is its method, path, Idempotency-Key and attempt number. So the same seed
gives the same faults to the same logical requests even when threads interleave differently.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.errors import PartnerError

MAX_WAIT_S = 600.0


@dataclass(frozen=True)
class FaultConfig:
    error_rate: float = 0.0
    latency_ms: int = 0
    timeout: float = 0.0
    timeout_rate: float = 1.0
    down: bool = False
    drop_after_effect_rate: float = 0.0
    paths: tuple[str, ...] = ()
    seed: int | str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["paths"] = list(self.paths)
        return data


def _rate(
    payload: dict[str, Any], name: str, default: float, errors: dict[str, list[str]]
) -> float:
    value = payload.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        errors.setdefault(name, []).append("must be a number between 0 and 1")
        return default
    return float(value)


def _seconds(
    payload: dict[str, Any], name: str, scale: float, errors: dict[str, list[str]]
) -> float:
    value = payload.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        errors.setdefault(name, []).append("must be a number >= 0")
        return 0.0
    if value / scale > MAX_WAIT_S:
        errors.setdefault(name, []).append(f"must be at most {MAX_WAIT_S:.0f} seconds")
        return 0.0
    return float(value)


def parse_fault_config(payload: dict[str, Any]) -> FaultConfig:
    """Build a complete configuration: fields left out take their harmless defaults."""
    errors: dict[str, list[str]] = {}
    for name in sorted(set(payload) - set(FaultConfig.__dataclass_fields__)):
        errors.setdefault(name, []).append("unknown fault switch")
    down = payload.get("down", False)
    if not isinstance(down, bool):
        errors.setdefault("down", []).append("must be true or false")
    paths = payload.get("paths", [])
    if not isinstance(paths, list) or not all(
        isinstance(p, str) and p.startswith("/") for p in paths
    ):
        errors.setdefault("paths", []).append("must be a list of path prefixes starting with /")
        paths = []
    seed = payload.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | str)):
        errors.setdefault("seed", []).append("must be an integer or a string")
    config = FaultConfig(
        error_rate=_rate(payload, "error_rate", 0.0, errors),
        latency_ms=int(_seconds(payload, "latency_ms", 1000, errors)),
        timeout=_seconds(payload, "timeout", 1, errors),
        timeout_rate=_rate(payload, "timeout_rate", 1.0, errors),
        down=down is True,
        drop_after_effect_rate=_rate(payload, "drop_after_effect_rate", 0.0, errors),
        paths=tuple(paths),
        seed=seed,
    )
    if errors:
        raise PartnerError(400, "validation_failed", "invalid fault switches", fields=errors)
    return config


class FaultSwitch:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.configure(FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._seed = str(config.seed) if config.seed is not None else secrets.token_hex(8)
            self._attempts: Counter[str] = Counter()
            self._sequence = 0

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return self._config

    def applies_to(self, path: str) -> bool:
        paths = self.config.paths
        return not paths or any(path.startswith(prefix) for prefix in paths)

    def request_token(self, method: str, path: str, idempotency_key: str | None) -> str:
        """Name this request for :meth:`hits`; keyed retries are numbered per key."""
        with self._lock:
            if idempotency_key is None:
                self._sequence += 1
                return f"seq:{self._sequence}"
            identity = f"{method} {path} {idempotency_key}"
            self._attempts[identity] += 1
            return f"{identity}#{self._attempts[identity]}"

    def hits(self, decision: str, rate: float, token: str) -> bool:
        if rate <= 0:
            return False
        digest = hashlib.sha256(f"{self._seed}|{decision}|{token}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < rate
