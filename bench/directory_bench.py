"""Benchmark: the worker directory over 100,000 workers, served by gunicorn on 127.0.0.1.

    .venv/bin/python -m bench.directory_bench [--workers 100000] [--seconds 15]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Seeds the workers (and their search terms) with bulk INSERTs into a fresh SQLite file or a
PostgreSQL schema of its own, starts gunicorn with the production configuration, and loads a
few directory pages with a bounded client: ``--clients`` processes × ``--threads`` keep-alive
connections each, for ``--seconds`` per page. The baseline, measured in the same run against the
same server, is a hello-world route. Prints a Markdown table and writes JSON to bench/out/.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from app import create_app
from core.identity import PROVINCES, Gender, Occupation
from extensions import db
from vault import digest
from workers.models import Worker, WorkerSearchTerm
from workers.search import card_terms, occupation_words

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
TODAY = date.today()
KEYS = {
    "SECRET_KEY": "bench-secret",
    "FIELD_KEY": "bench-field-key",
    "LOOKUP_KEY": "bench-lookup-key",
}
PAGES = {
    "hello world (baseline)": "/bench/hello",
    "directory, first page": "/pekerja",
    # 154 of the seed's workers match: a full page of 24 cards (farmer/32 matched none).
    "directory, 3 filters": "/pekerja?occupation=market_trader&province=31&status=uncovered",
    "directory, text search": "/pekerja?q=siti",
    "directory, lapsing soonest": "/pekerja?sort=lapsing-soonest",
    "directory, page 2,000": "/pekerja?page=2000",
}
FIRST_NAMES = ["Siti", "Sri", "Dewi", "Budi", "Agus", "Joko", "Made", "Wayan", "Rina", "Eko"]
STORIES = [
    "Berjualan sayur di pasar sejak subuh untuk menyekolahkan dua anak.",
    "Mengantar penumpang dan paket setiap hari.",
    "Menggarap sawah sewaan; penghasilan naik turun mengikuti musim panen.",
    "Melaut dengan perahu kecil bersama dua tetangga.",
    None,
]


# --- seeding -------------------------------------------------------------------------------


def _worker_rows(count: int, rng: random.Random) -> list[dict[str, Any]]:
    occupations = [o.value for o in Occupation]
    provinces = sorted(PROVINCES)
    agreed = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(count):
        covered_until = None
        needs_sponsor = False
        roll = rng.random()
        if roll < 0.2:
            covered_until = TODAY + timedelta(days=rng.randint(31, 365))
        elif roll < 0.3:
            covered_until = TODAY + timedelta(days=rng.randint(0, 30))
        elif roll < 0.4:
            covered_until = TODAY - timedelta(days=rng.randint(1, 200))
            needs_sponsor = True
        waiting = (
            (covered_until + timedelta(days=1))
            if covered_until
            else (TODAY - timedelta(days=rng.randint(0, 700)))
        )
        nik = f"{3201000000000000 + n:016d}"
        rows.append(
            {
                "id": n + 1,
                "full_name": f"{rng.choice(FIRST_NAMES)} Pekerja {n}",
                "occupation": occupations[n % len(occupations)],
                "province_code": provinces[n % len(provinces)],
                "regency": f"Kab. Contoh {n % 50}",
                "gender": (Gender.FEMALE if n % 2 else Gender.MALE).value,
                "birth_date": date(1960, 1, 1) + timedelta(days=rng.randint(0, 46 * 365)),
                "story": rng.choice(STORIES),
                "phone_e164": f"+62857{n:08d}",
                "nik_encrypted": None,
                "nik_digest": digest(nik, purpose="nik"),
                "photo_version": 0,
                "is_listed": rng.random() < 0.95,
                "listing_consent_at": agreed,
                "insurer_consent_at": agreed,
                "consent_confirmed_at": agreed,
                "source": "agent_csv",
                "covered_until": covered_until,
                "needs_sponsor": needs_sponsor,
                "needs_cover_from": waiting,
                "created_at": agreed,
                "updated_at": agreed,
            }
        )
    return rows


def seed(count: int) -> float:
    """Insert ``count`` workers and their search terms; return the seconds it took."""
    started = time.perf_counter()
    rows = _worker_rows(count, random.Random(2026))
    occupations = occupation_words()
    batch = 5_000
    for start in range(0, count, batch):
        part = rows[start : start + batch]
        db.session.execute(insert(Worker), part)
        terms = [
            {"term": term, "worker_id": row["id"]}
            for row in part
            for term in card_terms(Worker(**row), occupations)
        ]
        db.session.execute(insert(WorkerSearchTerm), terms)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load in production: the statistics, and the
        # visibility map that lets counts use index-only scans.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE workers"))
            conn.execute(text("VACUUM ANALYZE worker_search_terms"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return time.perf_counter() - started


# --- server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(
    env: dict[str, str], port: int, workers: int, *, timeout: float = 30
) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--workers", str(workers),
        "--bind", f"127.0.0.1:{port}",
        "--chdir", str(ROOT),
        "--log-level", "warning",
        "bench.directory_app:app",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/bench/hello")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise RuntimeError("gunicorn did not start")


def stop(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


# --- load ----------------------------------------------------------------------------------


def _client_process(port: int, path: str, threads: int, seconds: float, queue: Any) -> None:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def loop() -> None:
        nonlocal errors
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        failed = 0
        while time.monotonic() < stop_at:
            began = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
                    continue
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)
            errors += failed

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put((latencies, errors))


def load(port: int, path: str, *, clients: int, threads: int, seconds: float) -> dict[str, Any]:
    queue: Any = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(target=_client_process, args=(port, path, threads, seconds, queue))
        for _ in range(clients)
    ]
    for process in processes:
        process.start()
    latencies: list[float] = []
    errors = 0
    for _ in processes:
        part, failed = queue.get()
        latencies.extend(part)
        errors += failed
    for process in processes:
        process.join()
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / seconds,
        "p50_ms": percentile(0.50) if latencies else None,
        "p95_ms": percentile(0.95) if latencies else None,
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else None,
    }


# --- one database --------------------------------------------------------------------------


def run(database: str, url: str, schema: str | None, args: argparse.Namespace) -> dict[str, Any]:
    config = {"ENV_NAME": "production", "DATABASE_URL": url, **KEYS}
    if schema:
        config["DATABASE_SCHEMA"] = schema
    app = create_app(config)
    with app.app_context():
        db.create_all()
        seconds = seed(args.workers)
        db.session.remove()
        db.engine.dispose()
    print(f"{database}: seeded {args.workers:,} workers in {seconds:.1f} s", flush=True)

    env = {**os.environ, **{f"PAYUNG_{k}": v for k, v in config.items() if k != "ENV_NAME"}}
    env["PAYUNG_ENV"] = "production"
    port = free_port()
    server = start_gunicorn(env, port, args.gunicorn_workers)
    try:
        results = {}
        for name, path in PAGES.items():
            load(port, path, clients=1, threads=1, seconds=1)  # warm the workers' caches
            results[name] = load(
                port, path, clients=args.clients, threads=args.threads, seconds=args.seconds
            )
            print(f"  {name:32} {results[name]['rps']:8.1f} req/s", flush=True)
    finally:
        stop(server)
    return {"database": database, "seed_seconds": seconds, "pages": results}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="connections per process")
    parser.add_argument("--gunicorn-workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite file)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    if args.database_url:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        engine = create_engine(args.database_url)
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            result = run("postgresql", args.database_url, schema, args)
        finally:
            with engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            engine.dispose()
    else:
        path = OUT / "directory-bench.db"
        for leftover in OUT.glob("directory-bench.db*"):
            leftover.unlink()
        result = run("sqlite", f"sqlite:///{path}", None, args)

    result.update(
        workers=args.workers,
        seconds=args.seconds,
        clients=f"{args.clients} processes × {args.threads} connections",
        gunicorn_workers=args.gunicorn_workers,
        cpus=os.cpu_count(),
        load_average=os.getloadavg(),
        date=TODAY.isoformat(),
    )
    (OUT / f"directory-{result['database']}.json").write_text(json.dumps(result, indent=2))
    baseline = result["pages"]["hello world (baseline)"]["rps"]
    print("\n| page | req/s | vs hello | p50 ms | p95 ms | errors |\n|---|---|---|---|---|---|")
    for name, page in result["pages"].items():
        print(
            f"| {name} | {page['rps']:.0f} | {page['rps'] / baseline:.0%} | "
            f"{page['p50_ms']:.1f} | {page['p95_ms']:.1f} | {page['errors']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
