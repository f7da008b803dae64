"""A stand-in for Payung's web server in the callback tests: an HTTP server on 127.0.0.1 that
the sandbox calls back. It keeps every request it receives and answers with the statuses it is
told (204 once they run out), or, with ``forward_to``, hands the request to Payung's own
callback endpoint (the test client) and answers what Payung answered."""

import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask

from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers

BATCH_CALLBACK = "/api/callbacks/telco/batch"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0  # what the receiver answered

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class CallbackReceiver:
    base_url: str
    received: queue.Queue[Received] = field(default_factory=queue.Queue)
    answers: list[int] = field(default_factory=list)
    forward_to: Callable[[Received], int] | None = None

    def next(self, timeout: float = 10) -> Received:
        return self.received.get(timeout=timeout)

    def answer(self, request: Received) -> int:
        if self.forward_to is not None:
            return self.forward_to(request)
        return self.answers.pop(0) if self.answers else 204


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    holder: list[CallbackReceiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = Received(self.path, dict(self.headers), body)
            status = request.status = holder[0].answer(request)
            holder[0].received.put(request)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(CallbackReceiver(f"http://127.0.0.1:{server.server_port}"))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield holder[0]
    server.shutdown()
    server.server_close()
    thread.join()


def post_callback(client: Any, request: Received) -> Any:
    """Hand a received callback to Payung as the telco sent it."""
    headers = {
        TIMESTAMP_HEADER: request.headers[TIMESTAMP_HEADER],
        SIGNATURE_HEADER: request.headers[SIGNATURE_HEADER],
        "Content-Type": "application/json",
    }
    return client.post(BATCH_CALLBACK, data=request.body, headers=headers)


def post_signed(client: Any, secret: str, body: bytes, *, timestamp: int | None = None) -> Any:
    headers = signed_headers(secret.encode(), body, timestamp=timestamp)
    return client.post(BATCH_CALLBACK, data=body, headers=headers)


def forwarding_to(app: Flask) -> Callable[[Received], int]:
    """Payung's callback endpoint, reached through the test client from the server's thread."""

    def forward(request: Received) -> int:
        with app.app_context():  # this thread's own session, as a web request would have
            return int(post_callback(app.test_client(), request).status_code)

    return forward
