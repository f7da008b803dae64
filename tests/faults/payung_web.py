"""Payung's web server for the chaos tests' callback runs: gunicorn serving ``app:create_app()``
as a process of its own (1 worker × 4 threads, as ``bench/fulfillment_bench.py`` runs it),
configured like the test's Celery worker, where the partner sandbox posts its bulk top-ups'
callbacks (``/api/callbacks/telco/batch``).

Between the sandbox and gunicorn sits a small recording relay in the test process: it passes
each callback on unchanged (body, signature, timestamp) and keeps what was sent and what Payung
answered, so a test can add up what the callbacks settled and post each one again at the end.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER

REPO_ROOT = Path(__file__).resolve().parents[2]
BATCH_CALLBACK = "/api/callbacks/telco/batch"
# The fallback poll comes this long after a bulk top-up without its callback (production: 60 s):
# short, so the batches whose callback a killed partner took with it are polled within the test.
CALLBACK_WAIT_S = 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Delivery:
    path: str  # the batch callback, or the single top-up's ``/api/callbacks/telco``
    body: bytes
    headers: dict[str, str]
    status: int  # what Payung answered; 0: no answer (the web server was unreachable)
    answer: dict[str, Any]

    @property
    def settled(self) -> int:
        return int(self.answer.get("settled", 0)) if self.status == 200 else 0


class PayungWeb:
    """gunicorn serving Payung, with ``env`` (the Celery worker's PAYUNG_* variables)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log_path = log_dir / "web.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4",
                    "-b", f"127.0.0.1:{self.port}", "app:create_app()",
                ],
                cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.logs()
            try:
                requests.get(self.url + BATCH_CALLBACK, timeout=1)  # 405: it is up
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError(f"Payung's web server did not start\n{self.logs()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def logs(self) -> str:
        return self.log_path.read_text()[-3000:] if self.log_path.exists() else ""


class CallbackRelay:
    """An HTTP server the sandbox posts to; it relays every request to Payung's web server and
    records the delivery."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {
                    name: self.headers[name]
                    for name in (TIMESTAMP_HEADER, SIGNATURE_HEADER, "Content-Type")
                    if self.headers[name] is not None
                }
                status = relay.post(self.path, body, headers).status
                self.send_response(status or 502)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Delivery:
        try:
            answer = requests.post(self.target + path, data=body, headers=headers, timeout=30)
        except requests.RequestException:
            status, parsed = 0, {}
        else:
            status = answer.status_code
            try:
                parsed = answer.json()
            except ValueError:
                parsed = {}
        delivery = Delivery(path, body, headers, status, parsed)
        with self._lock:
            self.deliveries.append(delivery)
        return delivery

    def accepted(self) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.status == 200]

    def statuses(self) -> dict[int, int]:
        with self._lock:
            counts: dict[int, int] = {}
            for delivery in self.deliveries:
                counts[delivery.status] = counts.get(delivery.status, 0) + 1
            return counts

    def references(self) -> set[str]:
        """The parts named by any callback posted (answered or not)."""
        with self._lock:
            bodies = [json.loads(d.body) for d in self.deliveries]
        return {r["reference"] for body in bodies for r in body.get("results", [body])}

    def replay_accepted(self) -> list[Delivery]:
        """Post every accepted callback to Payung again, as the telco sent it (and, as the
        telco does, again after a 5xx or no answer, up to 5 times); Payung's last answers."""
        answers = []
        for delivery in self.accepted():
            for _ in range(5):
                answer = self.post(delivery.path, delivery.body, delivery.headers)
                if 0 < answer.status < 500:
                    break
                time.sleep(0.2)
            answers.append(answer)
        return answers


@contextmanager
def payung_web(env: dict[str, str], log_dir: Path) -> Iterator[tuple[PayungWeb, CallbackRelay]]:
    """Payung's web server and the relay in front of it; the sandbox posts to ``relay.url``."""
    web = PayungWeb(env, log_dir)
    relay = CallbackRelay(web.url)
    relay.thread.start()
    try:
        web.start()
        yield web, relay
    finally:
        web.stop()
        relay.server.shutdown()
        relay.server.server_close()
        relay.thread.join()


def callback_settings(relay_url: str) -> dict[str, Any]:
    """Settings that make bulk top-ups name Payung's callback endpoint (through the relay)."""
    return {
        "PARTNER_CALLBACK_BASE_URL": relay_url,
        "FULFILLMENT_CALLBACK_WAIT_S": CALLBACK_WAIT_S,
    }


def with_callbacks(env: dict[str, str], relay_url: str) -> dict[str, str]:
    """A Celery worker's environment, plus the callback settings."""
    settings = callback_settings(relay_url)
    return env | {
        f"PAYUNG_{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in settings.items()
    }
