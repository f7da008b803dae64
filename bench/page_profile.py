"""Where a page's milliseconds go: cProfile over the test client, production settings.

    .venv/bin/python -m bench.page_profile [--workers 100000] [--requests 200] [--db FILE]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--top 25]
        [--only NAME] [--as-served] [--keep-schemas PREFIX]

Seeds ``--workers`` workers (``bench.directory_bench.seed``) and two ComboFit bundles into a
SQLite file (``--db``, default bench/out/pages-payung.db, kept for the next run) or a
PostgreSQL schema of its own, then, for each page of ``bench.pages``, times ``--requests``
requests unprofiled, counts the SQL statements of one, and prints the functions with the most
cumulative time under cProfile. With ``--keep-schemas PREFIX`` (PostgreSQL) it uses the schema
``<PREFIX>payung`` that ``bench.pages --keep-schemas PREFIX`` keeps (seeding it if empty) and
leaves it in place.
"""

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from accounts.access import public
from app import create_app
from bench.common import BENCH_KEYS, create_indexes, create_schema, drop_schema, kept_schema
from bench.pages import OUT, payung_pages, seed_pages
from extensions import db


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", default=str(OUT / "pages-payung.db"), help="SQLite file, kept")
    parser.add_argument("--database-url")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--only", help="profile only pages whose name contains this")
    parser.add_argument(
        "--as-served",
        action="store_true",
        help="rate limits on and no cookies kept between requests, as under gunicorn with wrk",
    )
    parser.add_argument("--keep-schemas", metavar="PREFIX", help="see bench.pages")
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
        for name, path in payung_pages(slugs).items():
            if args.only and args.only not in name:
                continue
            assert client.get(path).status_code == 200, path
            statements = 0
            client.get(path)
            per_page = statements
            started = time.perf_counter()
            for _ in range(args.requests):
                client.get(path)
            ms = (time.perf_counter() - started) * 1000 / args.requests
            print(f"\n## {name} ({path}): {ms:.2f} ms a request, {per_page} statements")
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.requests):
                client.get(path)
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    finally:
        if schema and not args.keep_schemas:
            drop_schema(url, schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
