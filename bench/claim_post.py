"""What one claim POST costs: SQL statements, commits and this process's CPU, with a profile.

    .venv/bin/python -m bench.claim_post [--codes 400] [--requests 150] [--top 30]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--broker [URL]]
        [--limits URL] [--statements] [--no-profile] [--dump FILE]

Seeds a small database of its own (a SQLite file in a temporary folder, or a PostgreSQL schema
dropped afterwards): a ComboFit bundle and a paid order for ``--codes`` workers, each with an
unclaimed bundle code. Then posts each code once to ``/klaim`` as the load run does
(production settings, rate limits on, CSRF token and Referer over https, one client keeping its
session): a 302 and a one-time code by SMS each time. Prints the statements and commits of one
POST (``--statements`` lists them), the mean wall and CPU milliseconds of ``--requests`` POSTs,
and the functions with the most cumulative time under cProfile over as many more.

Jobs run eagerly in the request (the load run's default: the SMS delivery job commits too);
``--broker`` sends them to an in-memory broker instead, as production leaves them to Celery
(``--broker redis://127.0.0.1:6379/13``: to Redis, as production does; nothing consumes them, so
empty that database afterwards). ``--limits redis://…`` keeps the rate limits in Redis, as
production must (emptied first); by default they count in memory.
Instructions (load-independent): ``valgrind --tool=callgrind --instr-atstart=no
.venv/bin/python -m bench.claim_post --callgrind --no-profile --requests 50`` counts only the
measured POSTs (it switches callgrind on around them); divide the total Ir by the requests.
"""

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import event

from app import create_app
from bench.common import BENCH_KEYS, create_schema, drop_schema, table_of
from bench.page_profile import claim_poster
from extensions import db
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers


def callgrind(state: str) -> None:
    subprocess.run(["callgrind_control", "--instr=" + state, str(os.getpid())], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codes", type=int, default=400)
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--broker",
        nargs="?",
        const="memory://",
        metavar="URL",
        help="jobs to a broker, not eager (default memory://; e.g. redis://127.0.0.1:6379/13)",
    )
    parser.add_argument(
        "--limits",
        metavar="URL",
        help="the rate limits' storage, emptied first (default memory://)",
    )
    parser.add_argument("--statements", action="store_true", help="list one POST's statements")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--callgrind", action="store_true", help="callgrind counts only the measured POSTs"
    )
    parser.add_argument("--dump", metavar="FILE", help="also save the profile (pstats) here")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory(prefix="claim-post-")
    url = args.database_url or f"sqlite:///{folder.name}/claim.db"
    config: dict[str, Any] = {"ENV_NAME": "production", "DATABASE_URL": url, **BENCH_KEYS}
    config["RATELIMIT_ENABLED"] = True
    if args.broker:
        config["CELERY_BROKER_URL"] = args.broker
    if args.limits:
        redis.Redis.from_url(args.limits).flushdb()
        config["RATELIMIT_STORAGE_URI"] = args.limits
    schema = create_schema(url) if url.startswith("postgresql") else None
    if schema:
        config["DATABASE_SCHEMA"] = schema
    try:
        app = create_app(config)
        with app.app_context():
            db.create_all()
            combo = make_combofit(codes=10)
            make_paid_order(combo.bundle, make_workers(args.codes))
            db.session.commit()
            db.session.remove()
        post = claim_poster(app, Path(folder.name) / "codes.txt")

        statements: list[str] = []
        commits = 0

        def statement(conn: Any, cursor: Any, text: str, *_: Any) -> None:
            statements.append(text)

        def commit(conn: Any) -> None:
            nonlocal commits
            commits += 1

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", statement)
            event.listen(db.engine, "commit", commit)
        post()  # warm-up
        statements.clear()
        commits = 0
        post()
        print(f"one POST /klaim: {len(statements)} statements, {commits} commits")
        for text in statements:
            first = " ".join(text.split())
            print(f"  {table_of(text):<20} {first[:150] if args.statements else first[:60]}")
        requests = min(args.requests, (args.codes - 2) // (1 if args.no_profile else 2))
        if args.callgrind:
            callgrind("on")
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(requests):
            post()
        if args.callgrind:
            callgrind("off")
        wall_ms = (time.perf_counter() - started) * 1000 / requests
        cpu_ms = (time.process_time() - cpu) * 1000 / requests
        print(f"{requests} POSTs: {wall_ms:.2f} ms a request, {cpu_ms:.2f} ms CPU of this process")
        if not args.no_profile:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(requests):
                post()
            profile.disable()
            if args.dump:
                profile.dump_stats(args.dump)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    finally:
        if schema:
            drop_schema(url, schema)
        folder.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
