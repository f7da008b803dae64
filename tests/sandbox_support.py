"""Pytest plugin: the partner sandbox running as a real subprocess on 127.0.0.1.

``partner_sandbox`` (session) starts ``python -m sandbox`` once; ``sandbox`` (function) resets
its state and faults first. Both yield a :class:`PartnerSandbox` handle.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from core.signing import signed_headers
from sandbox.app import DEFAULT_CONFIG

REPO_ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


@dataclass
class PartnerSandbox:
    base_url: str
    secrets: dict[str, str]

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def secret_for(self, path: str) -> bytes:
        return self.secrets[path.strip("/").split("/", 1)[0]].encode()

    def signed_post(
        self,
        path: str,
        json: Any,
        key: str | None,
        *,
        secret: bytes | None = None,
        timestamp: int | None = None,
        timeout: float = 10.0,
    ) -> requests.Response:
        """POST ``json`` signed for the API the path belongs to, as Payung's issuers will."""
        body = _json_bytes(json)
        headers = signed_headers(
            secret or self.secret_for(path), body, idempotency_key=key, timestamp=timestamp
        )
        return requests.post(self.url(path), data=body, headers=headers, timeout=timeout)

    def signed_get(
        self, path: str, *, secret: bytes | None = None, timeout: float = 10.0
    ) -> requests.Response:
        headers = signed_headers(secret or self.secret_for(path), b"")
        return requests.get(self.url(path), headers=headers, timeout=timeout)

    def set_faults(self, **switches: Any) -> dict[str, Any]:
        """Replace all fault switches; ``set_faults()`` turns every fault off."""
        return self._control("/_faults", switches)

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change behaviour settings such as ``topup_pending_polls`` or ``topup_pending_ms``."""
        return self._control("/_config", settings)

    def reset(self) -> None:
        self._control("/_reset", {})

    def stats(self) -> dict[str, Any]:
        response = requests.get(self.url("/_stats"), timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def _control(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(self.url(path), json=payload, timeout=10)
        if response.status_code != 200:
            raise AssertionError(f"{path} refused {payload}: {response.text}")
        result: dict[str, Any] = response.json()
        return result


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _is_ready(base_url: str) -> bool:
    try:
        return requests.get(f"{base_url}/_stats", timeout=0.5).status_code == 200
    except requests.RequestException:
        return False


def start_partner_sandbox(
    log_path: Path, *, attempts: int = 3, state_dir: Path | None = None, port: int | None = None
) -> tuple[subprocess.Popen[bytes], PartnerSandbox]:
    """Start ``python -m sandbox`` on a free port (or ``port``, to restart one); retry if
    another process took the port. With ``state_dir`` it keeps its keys and effects there,
    so a sandbox started again on the same directory remembers them."""
    # SANDBOX_* variables would change the secrets the handle reports.
    env = {name: value for name, value in os.environ.items() if not name.startswith("SANDBOX_")}
    extra = ["--state-dir", str(state_dir)] if state_dir is not None else []
    for _ in range(attempts):
        chosen = port or _free_port()
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "sandbox", "--port", str(chosen), "--quiet", *extra],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        handle = PartnerSandbox(f"http://127.0.0.1:{chosen}", dict(DEFAULT_CONFIG["SECRETS"]))
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline:
            if _is_ready(handle.base_url):
                return process, handle
            time.sleep(0.05)
        stop_partner_sandbox(process)
    raise RuntimeError(f"partner sandbox did not start; log:\n{log_path.read_text()}")


def stop_partner_sandbox(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then SIGKILL if it has not stopped in time; return the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@pytest.fixture(scope="session")
def partner_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerSandbox]:
    directory = tmp_path_factory.mktemp("partner-sandbox")
    process, handle = start_partner_sandbox(directory / "sandbox.log", state_dir=directory)
    try:
        yield handle
    finally:
        stop_partner_sandbox(process)


@pytest.fixture
def sandbox(partner_sandbox: PartnerSandbox) -> PartnerSandbox:
    """The session's sandbox with no faults, default settings and no remembered state."""
    partner_sandbox.reset()
    return partner_sandbox
