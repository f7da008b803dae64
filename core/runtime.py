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

What requests keep alive after that (the directory's kept cards and their rows, compiled
statements) still made each full collection walk 20,000 objects or more: 12–31 ms of a
gunicorn worker under the load run, every 4 s, in the middle of whichever request happened to
allocate at that moment, and of those queued behind it. So a web process
(``GC_FULL_COLLECTIONS_BETWEEN_REQUESTS``) makes its full collections between answers instead:
once it has served its first request it stops CPython from starting one by itself, and when as
many young collections have run as would have started one (the third threshold), the next
answer runs it after its last byte has gone to the client (``call_on_close``). The young
generations are still collected as they fill, inside requests: they are small, and cycles made
and dropped within a request are found there. A process that serves no requests (a Celery
worker, a command) keeps CPython's own schedule.

Those collections between answers still took 13–30 ms each (17 on average, 38 in a load run)
and freed 57–736 objects: they walked everything the caches had come to hold, again and again,
to find almost nothing, while the requests queued behind the worker waited. So what survives a
full collection is frozen right after it: the next one walks only what was kept since (the
cards and statements of the last seconds). A cycle among frozen objects that dies later (a
cache entry dropped with a cycle inside) would never be found that way, so every
GC_WHOLE_HEAP_EVERY-th collection first unfreezes everything and walks it all (the whole
process: about 200 ms, between answers, minutes apart under load).
"""

import gc
import threading

from flask import Flask
from werkzeug.wrappers import Response

_frozen = False
# (young, middle, full) thresholds of CPython's own schedule, once this process has taken its
# full collections over (None until its first answer).
_schedule: tuple[int, int, int] | None = None
# Full collections made between answers, and every how many of them walks the frozen objects too.
_collections = 0
_whole_heap_every = 100


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


def collect_between_requests(app: Flask) -> None:
    """Full collections after answers, not inside requests (``GC_FULL_COLLECTIONS_BETWEEN_
    REQUESTS``: production)."""
    global _whole_heap_every
    if app.config.get("GC_FULL_COLLECTIONS_BETWEEN_REQUESTS"):
        _whole_heap_every = max(1, int(app.config["GC_WHOLE_HEAP_EVERY"]))
        app.after_request(_full_collection_when_due)


def _full_collection_when_due(response: Response) -> Response:
    global _schedule
    if _schedule is None:
        # The first answer of a serving process: from now on CPython never starts a full
        # collection by itself (a middle collection counts towards one that never comes).
        _schedule = gc.get_threshold()
        gc.set_threshold(_schedule[0], _schedule[1], 2**31 - 1)
    if gc.get_count()[2] >= _schedule[2]:
        response.call_on_close(_full_collection)
    return response


def _full_collection() -> None:
    global _collections
    _collections += 1
    if _collections % _whole_heap_every == 0:
        gc.unfreeze()  # this one walks everything, frozen or not
    gc.collect()
    gc.freeze()  # what survived: the next collection walks only what is kept after this
