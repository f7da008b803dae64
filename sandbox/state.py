"""Everything the sandbox remembers, in memory, behind locks; one instance per app.

Each store guards itself with its own lock and none calls another while holding it, so the
threaded server cannot deadlock on them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

from flask import current_app

from sandbox.faults import FaultConfig, FaultSwitch
from sandbox.idempotency import IdempotencyStore
from sandbox.ledger import Ledger
from sandbox.members import MemberRegistry
from sandbox.topups import TopupBook

PARTNER_APIS = ("telco", "health", "insurer")


@dataclass(frozen=True)
class Settings:
    """Behaviour knobs a test may change at run time through ``/_config``."""

    topup_pending_polls: int = 1
    topup_pending_ms: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "topup_pending_polls": self.topup_pending_polls,
            "topup_pending_ms": self.topup_pending_ms,
        }


class RecordBook:
    """A thread-safe dictionary of records by id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = {}

    def add(self, record_id: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._records[record_id] = record

    def get(self, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._records.get(record_id)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


@dataclass
class SandboxState:
    secrets: dict[str, bytes]
    timestamp_tolerance_s: int
    default_settings: Settings
    activate_base_url: str | None = None
    settings: Settings = field(init=False)
    faults: FaultSwitch = field(default_factory=FaultSwitch)
    ledger: Ledger = field(default_factory=Ledger)
    idempotency: IdempotencyStore = field(default_factory=IdempotencyStore)
    topups: TopupBook = field(default_factory=TopupBook)
    activations: RecordBook = field(default_factory=RecordBook)
    members: MemberRegistry = field(default_factory=MemberRegistry)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.settings = self.default_settings

    def update_settings(self, **changes: int) -> Settings:
        self.settings = replace(self.settings, **changes)
        return self.settings

    def wait(self, seconds: float) -> None:
        """Sleep that ends early when the server is shutting down."""
        self.stopping.wait(seconds)

    def reset(self) -> None:
        self.faults.configure(FaultConfig())
        self.settings = self.default_settings
        for store in (self.ledger, self.idempotency, self.topups, self.activations, self.members):
            store.clear()


def build_state(config: dict[str, Any]) -> SandboxState:
    configured: dict[str, str] = config["SECRETS"]
    missing = [api for api in PARTNER_APIS if not configured.get(api)]
    if missing:
        raise ValueError(f"sandbox secrets missing for: {', '.join(missing)}")
    return SandboxState(
        secrets={api: configured[api].encode() for api in PARTNER_APIS},
        timestamp_tolerance_s=int(config["TIMESTAMP_TOLERANCE_S"]),
        default_settings=Settings(
            topup_pending_polls=int(config["TOPUP_PENDING_POLLS"]),
            topup_pending_ms=int(config["TOPUP_PENDING_MS"]),
        ),
        activate_base_url=config.get("HEALTH_ACTIVATE_BASE_URL"),
    )


def current_state() -> SandboxState:
    state: SandboxState = current_app.extensions["sandbox"]
    return state
