"""Where a page's milliseconds go: cProfile over the test client, production settings.

    .venv/bin/python -m bench.page_profile [--workers 100000] [--requests 200] [--db FILE]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--top 25]
        [--only NAME] [--as-served] [--keep-schemas PREFIX] [--claims] [--random-pages N]
        [--no-profile]

Seeds ``--workers`` workers (``bench.directory_bench.seed``) and two ComboFit bundles into a
SQLite file (``--db``, default bench/out/pages-payung.db, kept for the next run) or a
PostgreSQL schema of its own, then, for each page of ``bench.pages``, times ``--requests``
requests unprofiled (wall time and this process's CPU time: the database server's is not in
it), counts the SQL statements of one, and prints the functions with the most
cumulative time under cProfile. With ``--keep-schemas PREFIX`` (PostgreSQL) it uses the schema
``<PREFIX>payung`` that ``bench.pages --keep-schemas PREFIX`` keeps (seeding it if empty) and
leaves it in place. ``--claims`` adds the claim POST, on the schema ``bench.load_run
--keep-schemas load_`` keeps (``--keep-schemas load_``; it replaces that schema's claim codes).
``--random-pages N`` adds the load mix's typed-in pages: each request a page from 2 to N, drawn
the same way every run. On PostgreSQL each page's round trips to the server are counted too
(each statement, and each ``BEGIN``, ``COMMIT`` or ``ROLLBACK``, is one wait for the server).
"""

import argparse
import cProfile
import pstats
import random
import re
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from flask import Flask
from psycopg import _cursor_base, generators
from sqlalchemy import event
from werkzeug.test import TestResponse

from accounts.access import public
from app import create_app
from bench.common import BENCH_KEYS, create_indexes, create_schema, drop_schema, kept_schema
from bench.load_seed import issue_codes
from bench.pages import OUT, payung_pages, seed_pages
from extensions import db


def claim_poster(
    app: Flask, codes_file: Path = OUT / "profile-codes.txt"
) -> Callable[[], TestResponse]:
    """One legitimate claim per call (``POST /klaim`` with a fresh code, as in the load run:
    302 and a one-time code by SMS), from a client of its own that keeps its session for the
    CSRF token. Needs a paid order whose workers hold unclaimed codes (``bench.load_run``'s
    schema, ``bench.claim_post``'s database); their codes are written to ``codes_file``."""
    with app.app_context():
        issue_codes(codes_file)
    codes = iter(unquote(code) for code in codes_file.read_text().split())
    # Over https with a Referer, as a browser posts it: production's session cookie is Secure
    # and Flask-WTF checks the Referer of a secure POST.
    site = "https://localhost"
    poster = app.test_client()
    page = poster.get("/klaim", base_url=site).get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found, "no CSRF token on /klaim"
    form = {"csrf_token": found.group(1)}

    def post() -> TestResponse:
        answer = poster.post(
            "/klaim",
            base_url=site,
            data={**form, "code": next(codes)},
            headers={"Referer": f"{site}/klaim"},
        )
        assert answer.status_code == 302, answer.status_code
        return answer

    return post


class RoundTrips:
    """Round trips to PostgreSQL: each exchange psycopg waits for (a statement, a statement's
    preparation, ``BEGIN``, ``COMMIT``, ``ROLLBACK``) runs its ``execute`` generator once;
    counted from when this is made."""

    def __init__(self) -> None:
        self.count = 0

        def counting(execute: Callable[[Any], Any]) -> Callable[[Any], Any]:
            def counted(pgconn: Any) -> Any:
                self.count += 1
                return execute(pgconn)

            return counted

        generators.execute = counting(generators.execute)  # the connection's commands
        _cursor_base.execute = counting(_cursor_base.execute)  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", default=str(OUT / "pages-payung.db"), help="SQLite file, kept")
    parser.add_argument("--database-url")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--only", help="profile only pages whose name contains this")
    parser.add_argument("--sort", default="cumulative", help="pstats order: cumulative, tottime…")
    parser.add_argument(
        "--as-served",
        action="store_true",
        help="rate limits on and no cookies kept between requests, as under gunicorn with wrk",
    )
    parser.add_argument("--keep-schemas", metavar="PREFIX", help="see bench.pages")
    parser.add_argument("--random-pages", type=int, metavar="N", help="add pages 2-N at random")
    parser.add_argument("--no-profile", action="store_true", help="times and counts only")
    parser.add_argument(
        "--claims",
        action="store_true",
        help="also claim POSTs (needs bench.load_run's schema: --keep-schemas load_)",
    )
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(args.db).resolve()}"
    config: dict[str, Any] = {"ENV_NAME": "production", "DATABASE_URL": url, **BENCH_KEYS}
    schema = None
    if url.startswith("postgresql"):
        if args.keep_schemas:
            schema, _ = kept_schema(url, f"{args.keep_schemas}payung")
        else:
            schema = create_schema(url)
    if schema:
        config["DATABASE_SCHEMA"] = schema
    try:
        app = create_app({**config, "RATELIMIT_ENABLED": args.as_served})
        app.add_url_rule("/bench/hello", "hello", public(lambda: "hello"))
        with app.app_context():
            db.create_all()
            create_indexes()
            slugs = seed_pages(args.workers)
            db.session.remove()
        client = app.test_client(use_cookies=not args.as_served)
        statements = 0

        def counter(*_: Any) -> None:
            nonlocal statements
            statements += 1

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", counter)
            round_trips = RoundTrips() if schema else None
        visits: dict[str, tuple[str, Callable[[], TestResponse]]] = {
            name: (path, partial(client.get, path)) for name, path in payung_pages(slugs).items()
        }
        if args.random_pages:
            drawn = random.Random(1)  # which page to ask for: the same every run
            last = args.random_pages
            visits[f"directory, random pages 2-{last}"] = (
                f"/pekerja?page=2…{last}",
                lambda: client.get(f"/pekerja?page={drawn.randint(2, last)}"),
            )
        if args.claims:
            visits["claim (POST /klaim)"] = ("/klaim", claim_poster(app))
        for name, (path, visit) in visits.items():
            if args.only and args.only not in name:
                continue
            assert visit().status_code in (200, 302), path
            statements = 0
            if round_trips:
                round_trips.count = 0
            visit()
            per_page = statements
            trips = f", {round_trips.count} round trips" if round_trips else ""
            started, cpu_started = time.perf_counter(), time.process_time()
            for _ in range(args.requests):
                visit()
            ms = (time.perf_counter() - started) * 1000 / args.requests
            cpu_ms = (time.process_time() - cpu_started) * 1000 / args.requests
            print(f"\n## {name} ({path}): {ms:.2f} ms a request ({cpu_ms:.2f} ms of this "
                  f"process's CPU), {per_page} statements{trips}")  # fmt: skip
            if args.no_profile:
                continue
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.requests):
                visit()
            profile.disable()
            pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
    finally:
        if schema and not args.keep_schemas:
            drop_schema(url, schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
