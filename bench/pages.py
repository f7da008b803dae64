"""Payung's pages against minimal reference pages, same server settings, same run (issue 16).

    .venv/bin/python -m bench.pages [--workers 100000] [--seconds 3] [--rounds 3]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--db FILE]
        [--keep-schemas PREFIX] [--only NAME ...]

Builds the reference catalog database (``../shared/perf/reference/mkdb.py``: 100,000 products)
and Payung's (``--workers`` workers as ``bench.directory_bench`` seeds them, two ComboFit
bundles) in SQLite files or PostgreSQL schemas of their own (dropped afterwards), then serves
three apps with the same gunicorn settings (``-k sync --workers 2``, production configuration):
the reference hello world, the reference catalog, and Payung (``bench.directory_app``, whose
``/bench/hello`` is a route behind all of Payung's middleware). wrk (Debian's package) loads
each page for ``--seconds`` at 8 connections and then at 1, page after page, for ``--rounds``
interleaved rounds, so a busy moment of the shared machine falls on every page alike. Prints,
per page, the issue's ratios: req/s at 8 connections ÷ the reference catalog's, p50 at one
connection ÷ the reference catalog's (medians over the rounds), and for the hello route its
req/s ÷ plain hello's; with the load average. Writes bench/out/pages-<database>.json.

On PostgreSQL, seeding 100,000 workers takes minutes (11 on a loaded machine). With
``--keep-schemas PREFIX`` the two schemas are ``<PREFIX>payung`` and ``<PREFIX>reference``,
created and seeded on the first run, kept afterwards and reused as they are by the next runs
(indexes added to the models since are created on the kept schema; drop a schema by hand to
reseed it). ``--only NAME`` (repeatable) loads only the Payung pages whose name contains NAME,
next to the two reference pages.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from app import create_app
from bench.common import (
    BENCH_KEYS,
    create_indexes,
    create_schema,
    drop_schema,
    ensure_wrk,
    kept_schema,
)
from bench.directory_bench import free_port, seed, start_gunicorn, stop
from bundles.dues.data import ensure_default_dues_data
from bundles.models import Bundle
from extensions import db
from tests.fulfillment.support import make_combofit
from workers.models import Worker

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
REFERENCE = ROOT.parent / "shared" / "perf" / "reference"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
GUNICORN_FLAGS = ["-k", "sync", "--log-level", "warning"]
# Prints p50 and the counts as JSON at the end of a run (wrk's own summary has no p50 in ms).
REPORT_LUA = """
errors = 0
function response(status, headers, body) if status >= 400 then errors = errors + 1 end end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('JSON {"requests": %d, "duration_us": %d, "p50_ms": %.3f, '
    .. '"p99_ms": %.3f, "errors": %d}\\n', summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def payung_pages(slugs: list[str]) -> dict[str, str]:
    """Every Payung page of the issue's table; each directory page shows 24 cards."""
    return {
        "hello (all middleware)": "/bench/hello",
        "directory, first page": "/pekerja",
        "directory, 3 filters": "/pekerja?occupation=market_trader&province=31&status=uncovered",
        "directory, text search": "/pekerja?q=siti",
        "directory, page 2,000": "/pekerja?page=2000",
        "bundle page": f"/paket/{slugs[0]}",
        "bundle catalogue": "/paket",
        "claim page (GET /klaim)": "/klaim",
    }


def seed_pages(workers: int) -> list[str]:
    """Workers and two ComboFit bundles, unless already there; returns the bundle slugs."""
    if not db.session.scalar(select(func.count()).select_from(Worker)):
        seed(workers)
        ensure_default_dues_data()
        for _ in range(2):
            make_combofit(codes=20)
        db.session.commit()
    return list(db.session.scalars(select(Bundle.slug).order_by(Bundle.id)))


def vacuum_analyze(url: str, schemas: list[str]) -> None:
    """What autovacuum does soon after a bulk load in production (this machine's PostgreSQL
    runs without it): statistics and visibility maps for every table of both apps, so neither
    page is measured with plans made blind (the reference catalog ran at 6.9 ms instead of
    2.7 on a schema mkdb.py had just filled)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for schema in schemas:
            tables = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :schema"),
                {"schema": schema},
            ).scalars()
            for table in list(tables):
                conn.execute(text(f'VACUUM ANALYZE "{schema}"."{table}"'))
    engine.dispose()


def reference_url(url: str | None, schema: str | None) -> str:
    if not url:
        return f"sqlite:///{OUT / 'pages-reference.db'}"
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def serve(
    app: str, port: int, env: dict[str, str], chdir: Path, *, workers: int = 2
) -> subprocess.Popen[bytes]:
    command = [GUNICORN, *GUNICORN_FLAGS, "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
               "--chdir", str(chdir)]  # fmt: skip
    server = subprocess.Popen([*command, app], env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        probe = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{port}/"],
            capture_output=True,
            text=True,
        )
        if probe.stdout.strip() not in ("", "000"):
            return server
        time.sleep(0.3)
    stop(server)
    raise RuntimeError(f"{app} did not start")


def wrk(binary: str, url: str, *, connections: int, seconds: float, script: Path) -> dict[str, Any]:
    threads = min(connections, 2)
    command = [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s"]
    run = subprocess.run([*command, "-s", str(script), url], capture_output=True, text=True)
    for line in run.stdout.splitlines():
        if line.startswith("JSON "):
            stats = json.loads(line[5:])
            stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
            return dict(stats)
    raise RuntimeError(f"wrk failed: {run.stdout}\n{run.stderr}")


def measure(args: argparse.Namespace, database: str, url: str | None) -> dict[str, Any]:
    binary = ensure_wrk()
    keep = args.keep_schemas
    payung_schema = reference_schema = None
    reference_ready = False
    if url and keep:
        payung_schema, _ = kept_schema(url, f"{keep}payung")
        reference_schema, reference_ready = kept_schema(url, f"{keep}reference", "products")
    elif url:
        payung_schema, reference_schema = create_schema(url), create_schema(url)
    payung_url = url or f"sqlite:///{Path(args.db).resolve()}"
    config: dict[str, Any] = {"ENV_NAME": "production", "DATABASE_URL": payung_url, **BENCH_KEYS}
    if payung_schema:
        config["DATABASE_SCHEMA"] = payung_schema
    servers: list[subprocess.Popen[bytes]] = []
    try:
        started = time.perf_counter()
        reference_db = reference_url(url, reference_schema)
        if (url and not reference_ready) or (not url and not (OUT / "pages-reference.db").exists()):
            subprocess.run(
                [sys.executable, str(REFERENCE / "mkdb.py"), reference_db],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        app = create_app(config)
        with app.app_context():
            db.create_all()
            create_indexes()
            slugs = seed_pages(args.workers)
            db.session.remove()
            db.engine.dispose()
        if url:
            vacuum_analyze(url, [s for s in (payung_schema, reference_schema) if s])
        print(f"{database}: seeded in {time.perf_counter() - started:.0f} s", flush=True)

        env = {**os.environ, **{f"PAYUNG_{k}": v for k, v in config.items() if k != "ENV_NAME"}}
        env["PAYUNG_ENV"] = "production"
        ports = {name: free_port() for name in ("hello", "catalog", "payung")}
        servers.append(serve("hello_app:app", ports["hello"], dict(os.environ), REFERENCE))
        reference_env = {**os.environ, "DATABASE_URL": reference_db}
        servers.append(serve("catalog_app:app", ports["catalog"], reference_env, REFERENCE))
        servers.append(start_gunicorn(env, ports["payung"], 2, timeout=120))

        report = OUT / "pages-report.lua"
        report.write_text(REPORT_LUA)
        catalog_lua = OUT / "pages-catalog.lua"
        catalog_lua.write_text((REFERENCE / "wrk_catalog.lua").read_text() + REPORT_LUA)
        targets: dict[str, tuple[str, Path]] = {
            "plain hello (reference)": (f"http://127.0.0.1:{ports['hello']}/", report),
            "reference catalog": (f"http://127.0.0.1:{ports['catalog']}", catalog_lua),
        }
        for name, path in payung_pages(slugs).items():
            if args.only and not any(part in name for part in args.only):
                continue
            targets[name] = (f"http://127.0.0.1:{ports['payung']}{path}", report)
        for target, script in targets.values():  # warm every worker's caches and connections
            wrk(binary, target, connections=2, seconds=1, script=script)
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
        loads = [os.getloadavg()[0]]
        for n in range(args.rounds):
            for name, (target, script) in targets.items():
                busy = wrk(binary, target, connections=8, seconds=args.seconds, script=script)
                one = wrk(binary, target, connections=1, seconds=args.seconds, script=script)
                rounds[name].append({"rps_8": busy["rps"], "p50_1": one["p50_ms"],
                                     "p99_8": busy["p99_ms"],
                                     "errors": busy["errors"] + one["errors"]})  # fmt: skip
            loads.append(os.getloadavg()[0])
            print(f"  round {n + 1}/{args.rounds} done, load {loads[-1]:.2f}", flush=True)
    finally:
        for server in servers:
            stop(server)
        for schema in (payung_schema, reference_schema):
            if schema and url and not keep:
                drop_schema(url, schema)
    pages = {}
    for name, runs in rounds.items():
        pages[name] = {
            "rps_8": statistics.median(r["rps_8"] for r in runs),
            "p50_1_ms": statistics.median(r["p50_1"] for r in runs),
            "p99_8_ms": statistics.median(r["p99_8"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
            "rounds": runs,
        }
    return {"database": database, "pages": pages, "load_average": loads}


def table(result: dict[str, Any]) -> str:
    pages = result["pages"]
    catalog, hello = pages["reference catalog"], pages["plain hello (reference)"]
    lines = [
        "| page | req/s at 8 conns | ÷ reference catalog | p50 at 1 conn (ms) "
        "| ÷ reference p50 | errors |",
        "|---|---|---|---|---|---|",
    ]
    for name, page in pages.items():
        ratio = f"{page['rps_8'] / catalog['rps_8']:.2f}"
        if name.startswith("hello"):
            ratio += f" ({page['rps_8'] / hello['rps_8']:.2f} of plain hello)"
        lines.append(
            f"| {name} | {page['rps_8']:.0f} | {ratio} | {page['p50_1_ms']:.2f} | "
            f"{page['p50_1_ms'] / catalog['p50_1_ms']:.2f} | {page['errors']} |"
        )
    low, high = min(result["load_average"]), max(result["load_average"])
    lines.append(f"\nload average (1 min) during the run: {low:.2f}–{high:.2f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--db", default=str(OUT / "pages-payung.db"), help="SQLite file, kept")
    parser.add_argument(
        "--keep-schemas",
        metavar="PREFIX",
        help="PostgreSQL: keep the seeded schemas <PREFIX>payung and <PREFIX>reference and reuse "
        "them on the next run (drop them by hand when done)",
    )
    parser.add_argument(
        "--only", action="append", help="load only the Payung pages whose name contains this"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    database = "postgresql" if args.database_url else "sqlite"
    result = measure(args, database, args.database_url)
    result.update(workers=args.workers, seconds=args.seconds, rounds=args.rounds,
                  cpus=os.cpu_count(), date=date.today().isoformat())  # fmt: skip
    (OUT / f"pages-{database}.json").write_text(json.dumps(result, indent=2))
    print(f"\n{database}, {args.workers:,} workers, {args.rounds} rounds × {args.seconds} s:\n")
    print(table(result))
    return 1 if any(page["errors"] for page in result["pages"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
