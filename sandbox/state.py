"""Everything the sandbox remembers, behind locks; one instance per app.

Each store guards itself with its own lock and none calls another while holding it, so the
threaded server cannot deadlock on them. What a real partner keeps (keys, answers, members,
top-ups, activations, effects) is also written to :class:`sandbox.storage.Storage`, a SQLite
file under ``STATE_DIR`` that survives a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from flask import current_app

from sandbox.faults import FaultConfig, FaultSwitch
from sandbox.idempotency import IdempotencyStore
from sandbox.ledger import Ledger
from sandbox.members import MemberRegistry
from sandbox.storage import Storage
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
    """A thread-safe dictionary of records by id, kept in the storage under ``scope``."""

    def __init__(self, storage: Storage | None = None, scope: str = "records") -> None:
        self._lock = threading.Lock()
        self._storage = storage or Storage()
        self._scope = scope
        self._records: dict[str, dict[str, Any]] = self._storage.load(scope)

    def add(self, record_id: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._records[record_id] = record
        self._storage.put(self._scope, record_id, record)

    def add_first(self, record_id: str, record: dict[str, Any]) -> None:
        """Keep the first record under ``record_id``: a lookup by reference names the first."""
        with self._lock:
            if record_id in self._records:
                return
            self._records[record_id] = record
        self._storage.put(self._scope, record_id, record)

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
    storage: Storage = field(default_factory=Storage)
    settings: Settings = field(init=False)
    faults: FaultSwitch = field(default_factory=FaultSwitch)
    ledger: Ledger = field(init=False)
    idempotency: IdempotencyStore = field(init=False)
    topups: TopupBook = field(init=False)
    activations: RecordBook = field(init=False)
    members: MemberRegistry = field(init=False)
    # The first answer given for a caller's ``reference``, per kind: what the lookup
    # endpoints (``…/by-reference/<reference>``) return.
    by_reference: dict[str, RecordBook] = field(init=False)
    stopping: threading.Event = field(default_factory=threading.Event)
    # What other parts of the sandbox (the batch faults) put back on ``/_reset``.
    on_reset: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.settings = self.default_settings
        storage = self.storage
        self.ledger = Ledger(storage)
        self.idempotency = IdempotencyStore(storage)
        self.topups = TopupBook(storage)
        self.activations = RecordBook(storage, "activations")
        self.members = MemberRegistry(storage)
        self.by_reference = {
            kind: RecordBook(storage, f"reference:{kind}")
            for kind in ("health.activation", "insurer.registration", "insurer.dues")
        }

    def update_settings(self, **changes: int) -> Settings:
        self.settings = replace(self.settings, **changes)
        return self.settings

    def wait(self, seconds: float) -> None:
        """Sleep that ends early when the server is shutting down."""
        self.stopping.wait(seconds)

    def reset(self) -> None:
        self.faults.configure(FaultConfig())
        self.settings = self.default_settings
        with self.storage.transaction():
            self.storage.clear()
            stores = (self.ledger, self.idempotency, self.topups, self.activations, self.members)
            for store in (*stores, *self.by_reference.values()):
                store.clear()
        for hook in self.on_reset:
            hook()


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
        storage=Storage(config.get("STATE_DIR") or None),
    )


def current_state() -> SandboxState:
    state: SandboxState = current_app.extensions["sandbox"]
    return state
