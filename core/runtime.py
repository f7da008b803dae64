"""The garbage collector of a long-lived web process (issue 16).

Measured under the load run (``bench.load_run``: gunicorn, PostgreSQL, 10,000 workers): a
gunicorn worker holds about 280,000–300,000 objects the garbage collector tracks, nearly all
made while the app was built (modules, the app and its blueprints, SQLAlchemy's mappers, Babel's
locale data, Celery, Stripe). CPython's full collection walks every one of them each time it
runs, every few seconds under load: 170–212 ms during which the worker answered nobody. They
were the load run's worst latencies (270 ms) and most of its p99 when paced at half its
capacity (149–191 ms).

So a production process, once its app is built, moves every object then alive into the
permanent generation (``gc.freeze``), which collections skip, and does it once more
GC_FREEZE_AGAIN_AFTER_S later, for what the first requests made to stay. A full collection then
walks only what requests made since: 26,000 objects, 9–18 ms (40,000 and 28–38 ms with the
first freeze alone). Paced at half its capacity the load run's p99 went from 149 ms to 31–39.
Frozen objects are still freed by reference counting; only a cycle among them would stay, so
the freeze runs when what is alive is what lives as long as the process: the app factory's
last step, and after the first requests (``BENCH_GC_LOG=1`` with ``bench.load_run`` prints
the collections that took over 2 ms).
"""

import gc
import threading

from flask import Flask

_frozen = False


def settle_garbage_collector(app: Flask) -> None:
    """Freeze what building ``app`` made, once per process (``GC_FREEZE_AFTER_START``: off in
    development and tests, whose processes build many apps and must be able to collect
    them)."""
    global _frozen
    if app.config.get("GC_FREEZE_AFTER_START") and not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()
        # And what the first requests made to stay: compiled templates and statements, the
        # caches' first entries (imports done on first use).
        later = threading.Timer(float(app.config["GC_FREEZE_AGAIN_AFTER_S"]), gc.freeze)
        later.daemon = True
        later.start()
