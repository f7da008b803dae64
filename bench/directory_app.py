"""The app gunicorn serves for ``bench.directory_bench``: Payung as configured by PAYUNG_*
variables, plus a hello-world route measured in the same run as the baseline.

``BENCH_GC_LOG=1`` prints every garbage collection of generation 1 or 2 that takes over 2 ms to
stderr, with its generation, what it freed and whether it ran between answers or inside a
request (how the load run's 170–212 ms pauses were found; see ``core.runtime``)."""

import gc
import os
import sys
import time
from typing import Any

from accounts.access import public
from app import create_app
from core import runtime

app = create_app()


@app.route("/bench/hello")
@public
def hello() -> str:
    return "hello"


def _log_long_collections() -> None:
    started = 0.0

    def callback(phase: str, info: dict[str, Any]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
            return
        took_ms = (time.perf_counter() - started) * 1000
        if info["generation"] >= 1 and took_ms > 2:
            where = "between answers" if _between_answers() else "inside a request"
            print(
                f"GC gen{info['generation']} {took_ms:.1f} ms, freed {info['collected']}, {where}",
                file=sys.stderr,
                flush=True,
            )

    gc.callbacks.append(callback)


def _between_answers() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is runtime._full_collection.__code__:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


if os.environ.get("BENCH_GC_LOG"):
    _log_long_collections()
