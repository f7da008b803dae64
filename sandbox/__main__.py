"""``python -m sandbox``: serve the partner sandbox on 127.0.0.1 until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from werkzeug.serving import make_server

from sandbox.app import create_sandbox_app
from sandbox.state import SandboxState

HOST = "127.0.0.1"  # a stand-in for outside systems must never be reachable from outside


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Serve the partner sandbox on 127.0.0.1 until SIGTERM or SIGINT.",
    )
    parser.add_argument("--port", type=int, default=8430, help="0 picks a free port")
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    parser.add_argument(
        "--state-dir",
        help="keep idempotency keys, answers and effects in this directory across restarts "
        "(default: SANDBOX_STATE_DIR, else in memory only)",
    )
    args = parser.parse_args(argv)
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    app = create_sandbox_app({"STATE_DIR": args.state_dir} if args.state_dir else None)
    state: SandboxState = app.extensions["sandbox"]
    server = make_server(HOST, args.port, app, threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        state.stopping.set()  # wakes requests hanging on an injected timeout
        # shutdown() waits for serve_forever() to return, so it cannot run on this thread.
        threading.Thread(target=server.shutdown, name="sandbox-shutdown", daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"partner sandbox listening on http://{HOST}:{server.port}", flush=True)
    server.serve_forever()  # closes the listening socket when it returns
    print("partner sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
