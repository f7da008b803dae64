"""Run localstripe, the Stripe stand-in used by ``make run`` and the tests, on 127.0.0.1 only.

``python -m devtools.localstripe_local --port 8420`` (``--port 0`` picks a free port). Once it
accepts connections it prints ``localstripe listening on http://127.0.0.1:<port>`` on stdout;
SIGTERM or SIGINT stop it cleanly. Where it differs from localstripe's own command, and why:

- it binds 127.0.0.1 only; the stock command listens on every interface (``::``);
- it starts empty and keeps its store in memory; the stock command loads and rewrites
  /tmp/localstripe.pickle on every write, which parallel instances would share;
- it honours the ``Idempotency-Key`` header as Stripe does (localstripe ignores it, and our
  gateway relies on it): a repeated POST gets the first response again, and the same key with
  other parameters gets an ``idempotency_error``;
- PaymentIntents accept ``setup_future_usage`` (localstripe rejects the parameter); when such a
  payment succeeds its card is attached to the intent's customer, as Stripe does;
- after a declined attempt, giving an intent another payment method makes it ready to confirm
  again, as Stripe does (localstripe keeps deriving ``requires_payment_method`` from the
  declined charge, so the intent could never be paid).
"""

import argparse
import logging
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError

HOST = "127.0.0.1"
DEFAULT_PORT = 8420

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _keep_store_in_memory() -> None:
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    resources.store.clear()


# --- Idempotency-Key, as Stripe documents it ------------------------------------------------


@dataclass(frozen=True)
class _SavedResponse:
    request_fingerprint: tuple[str, bytes]
    status: int
    body: bytes
    content_type: str

    def replay(self) -> web.Response:
        return web.Response(
            status=self.status,
            body=self.body,
            content_type=self.content_type,
            headers={"Idempotent-Replayed": "true"},
        )


_saved_responses: dict[tuple[str, str], _SavedResponse] = {}
_requests_in_flight: set[tuple[str, str]] = set()


def _idempotency_error(status: int, message: str) -> web.Response:
    # Not UserError: it would overwrite the error type with ``invalid_request_error``.
    return web.json_response(
        {"error": {"type": "idempotency_error", "message": message}}, status=status
    )


def _is_saved_by_stripe(status: int) -> bool:
    # Stripe saves whatever the endpoint produced once it ran, failures included (a declined
    # card is a 402), but not the 4xx answers of requests that failed validation.
    return status < 400 or status == 402 or status >= 500


@web.middleware
async def _idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "DELETE" and request.path == "/_config/data":
        _saved_responses.clear()
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key or not request.path.startswith("/v1/"):
        return await handler(request)

    scope = (request.headers.get("Authorization", ""), key)
    fingerprint = (request.path, await request.read())
    saved = _saved_responses.get(scope)
    if saved is not None:
        if saved.request_fingerprint != fingerprint:
            return _idempotency_error(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
            )
        return saved.replay()
    if scope in _requests_in_flight:
        return _idempotency_error(409, f"A request with idempotency key '{key}' is in progress.")

    _requests_in_flight.add(scope)
    try:
        response = await handler(request)
    finally:
        _requests_in_flight.discard(scope)
    if isinstance(response, web.Response) and _is_saved_by_stripe(response.status):
        body = response.body if isinstance(response.body, bytes) else b""
        _saved_responses[scope] = _SavedResponse(
            fingerprint, response.status, body, response.content_type
        )
    return response


# --- setup_future_usage on PaymentIntents ----------------------------------------------------


def _accept_setup_future_usage() -> None:
    payment_intent = resources.PaymentIntent
    original_init = payment_intent.__init__
    original_on_success = payment_intent._on_success

    def __init__(self, *args, setup_future_usage=None, **kwargs):  # type: ignore[no-untyped-def]
        if setup_future_usage not in (None, "on_session", "off_session"):
            raise UserError(400, "Bad request")
        original_init(self, *args, **kwargs)
        self.setup_future_usage = setup_future_usage

    def _on_success(self):  # type: ignore[no-untyped-def]
        if self.setup_future_usage and self.customer and self.payment_method.startswith("pm_"):
            resources.PaymentMethod._api_retrieve(self.payment_method).customer = self.customer
        original_on_success(self)

    payment_intent.__init__ = __init__  # type: ignore[method-assign]
    payment_intent._on_success = _on_success  # type: ignore[method-assign]


def _allow_another_attempt_after_a_decline() -> None:
    payment_intent = resources.PaymentIntent
    original_update = payment_intent._api_update

    def _api_update(cls, id, **data):  # type: ignore[no-untyped-def]
        intent = original_update(id, **data)
        charge = intent.latest_charge
        if "payment_method" in data and charge is not None and charge.status == "failed":
            intent.latest_charge = None  # the declined charge stays in the store
        return intent

    payment_intent._api_update = classmethod(_api_update)  # type: ignore[method-assign,assignment]


def _index_refunds_by_charge() -> None:
    """localstripe lists a charge's refunds by scanning its whole store, three times for every
    charge it returns (``refunds``, ``amount_refunded``, ``refunded``): a wave of thousands of
    charges then costs more per charge the longer it runs. Refunds are indexed by charge here;
    the answers are the same (refunds still in the store, newest first)."""
    refund = resources.Refund
    by_charge: dict[str, list[Any]] = {}
    original_init = refund.__init__
    original_list = refund._api_list_all

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original_init(self, *args, **kwargs)
        by_charge.setdefault(self.charge, []).append(self)

    def _api_list_all(cls, url, charge=None, payment_intent=None, limit=None, starting_after=None):  # type: ignore[no-untyped-def]
        if charge is None and payment_intent is None:
            return original_list(url, limit=limit, starting_after=starting_after)
        if charge is None:
            if not (isinstance(payment_intent, str) and payment_intent.startswith("pi_")):
                raise UserError(400, "Bad request")
            charge = resources.PaymentIntent._api_retrieve(payment_intent).latest_charge.id
        elif not (isinstance(charge, str) and charge.startswith("ch_")) or payment_intent:
            raise UserError(400, "Bad request")
        listed = resources.List(url, limit=limit, starting_after=starting_after)
        resources.Charge._api_retrieve(charge)  # 404 for an unknown charge, as before
        listed._list = [
            r for r in by_charge.get(charge, []) if resources.store.get(f"refund:{r.id}") is r
        ]
        listed._list.sort(key=lambda r: r.date, reverse=True)
        return listed

    refund.__init__ = __init__  # type: ignore[method-assign]
    refund._api_list_all = classmethod(_api_list_all)  # type: ignore[method-assign,assignment]


_is_built = False


def build_app() -> web.Application:
    """localstripe's aiohttp application with the changes listed in the module docstring."""
    global _is_built
    if not _is_built:
        _keep_store_in_memory()
        _accept_setup_future_usage()
        _allow_another_attempt_after_a_decline()
        _index_refunds_by_charge()
        server.app.middlewares.insert(0, _idempotency_middleware)
        _is_built = True
    return server.app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    args = parser.parse_args(argv)

    app = build_app()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, args.port))
    # Listening at once lets clients that come before the server is started queue up.
    sock.listen(128)
    port = sock.getsockname()[1]

    access_log = logging.getLogger("aiohttp.access")
    access_log.setLevel(logging.INFO)
    access_log.addHandler(logging.StreamHandler(sys.stderr))

    async def announce(app: web.Application) -> None:
        # Startup runs after run_app has taken over SIGINT and SIGTERM, so whoever waits for
        # this line may stop us from then on and get a clean exit.
        print(f"localstripe listening on http://{HOST}:{port}", flush=True)

    app.on_startup.append(announce)
    web.run_app(app, sock=sock, print=None, access_log=access_log, shutdown_timeout=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
