"""Load run: gunicorn serving Payung on PostgreSQL under a mix of directory browsing, bundle
pages and claims, driven by wrk, next to a hello-world route on the same server in the same run.

    .venv/bin/python -m bench.load_run [--workers 10000] [--codes 3000] [--seconds 30]
        [--connections 8] [--threads 2] [--gunicorn-workers 2]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Seeds a schema of its own (dropped afterwards): ``--workers`` workers with their search terms
(as ``bench.directory_bench`` does), two published ComboFit bundles with their partners and code
pools, and a paid order whose first ``--codes`` workers each hold an unclaimed bundle code. Then
gunicorn (sync workers, production configuration) and wrk (Debian's package, installed here if
missing): first the hello-world baseline, then the mix of ``bench/load_mix.lua``; each after a
short warm-up. The reference catalog of ``../shared/perf/reference/`` (100,000 products, in a
schema of its own on the same server, served by the same gunicorn settings) is measured at one
connection just before and just after the mix: issue 16's goal 3 is the mix's p99 at most
10 × that p50. Every answer with a status >= 400 and every socket error or timeout is an error;
the run fails (exit 1) unless there are none. Claims are legitimate traffic from one IP: each
code is posted once, so neither the per-code/per-phone SMS limits nor the per-IP failure limit
(only wrong codes count) is reached. Prints a Markdown table; writes bench/out/load-run.json.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.parse
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from app import create_app
from bench.common import BENCH_KEYS, create_schema, drop_schema, ensure_wrk
from bench.directory_bench import free_port, seed, start_gunicorn, stop
from bench.pages import REFERENCE, REPORT_LUA, reference_url, serve
from bench.pages import wrk as wrk_report
from bundles.dues.data import ensure_default_dues_data
from extensions import db, utcnow
from fulfillment.claims.codes import generate_claim_code
from fulfillment.claims.services import claim_digest
from fulfillment.models import ClaimCode
from messaging.models import Message
from sponsorship.checkout.models import OrderLine
from tests.fulfillment.support import make_combofit, make_paid_order
from workers.models import Worker

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SCRIPT = ROOT / "bench" / "load_mix.lua"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def seed_all(workers: int, codes: int, codes_file: Path) -> tuple[list[str], float]:
    """Workers, bundles and claimable codes; returns the bundle slugs and the seconds taken."""
    started = time.perf_counter()
    seed(workers)
    ensure_default_dues_data()
    bundles = [make_combofit(codes=200).bundle for _ in range(2)]
    slugs = [bundle.slug for bundle in bundles]
    holders = db.session.scalars(select(Worker).order_by(Worker.id).limit(codes)).all()
    order = make_paid_order(bundles[0], holders)
    db.session.commit()
    lines = db.session.execute(
        select(OrderLine.id, OrderLine.worker_id).where(OrderLine.order_id == order.id)
    ).all()
    now = utcnow()
    plain, rows = [], []
    for line_id, worker_id in lines:
        code = generate_claim_code()
        plain.append(urllib.parse.quote(code, safe=""))
        rows.append(
            {
                "order_line_id": line_id,
                "worker_id": worker_id,
                "code_digest": claim_digest(code),
                "created_at": now,
                "last_sent_at": now,
            }
        )
    for start in range(0, len(rows), 2_000):
        db.session.execute(insert(ClaimCode), rows[start : start + 2_000])
    db.session.commit()
    codes_file.write_text("\n".join(plain) + "\n")
    return slugs, time.perf_counter() - started


def preflight(port: int, slugs: list[str]) -> None:
    """Every page of the mix answers 200 before anything is measured."""
    import http.client

    paths = ["/bench/hello", "/klaim", "/paket", "/pekerja?page=400", "/pekerja?q=pasar"]
    lines = SCRIPT.read_text().splitlines()
    paths += [line.split('"')[1] for line in lines if line.strip().startswith('"/pekerja')]
    paths += [f"/paket/{slug}" for slug in slugs]
    for path in paths:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", path)
        status = connection.getresponse().status
        connection.close()
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")


def pages(slugs: list[str]) -> dict[str, str]:
    return {
        "directory, first page": "/pekerja",
        "directory, 3 filters": "/pekerja?occupation=market_trader&province=31&status=uncovered",
        "directory, text search": "/pekerja?q=siti",
        "directory, page 200": "/pekerja?page=200",
        "bundle catalogue": "/paket",
        "bundle page": f"/paket/{slugs[0]}",
        "claim page (GET /klaim)": "/klaim",
    }


def wrk(binary: str, args: argparse.Namespace, *script: str, seconds: float) -> str:
    command = [
        binary, f"-t{args.threads}", f"-c{args.connections}", f"-d{round(seconds)}s",
        "--timeout", "30s", "--latency", *script,
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{run.stdout}\n{run.stderr}")
    return run.stdout


def hello_stats(output: str) -> dict[str, Any]:
    """The figures of a plain wrk run (``--latency``; p95 is not printed, so a tiny script)."""
    for line in output.splitlines():
        if line.startswith("JSON "):
            return dict(json.loads(line[5:]))
    raise RuntimeError(output)


HELLO_SCRIPT = """
statuses = {}
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
"""


def one_connection_p50(binary: str, url: str, script: Path) -> float:
    """p50 in ms of 5 s at one connection (the reference catalog's figure in issue 16)."""
    return float(wrk_report(binary, url, connections=1, seconds=5, script=script)["p50_ms"])


def summarise(stats: dict[str, Any]) -> dict[str, Any]:
    seconds = stats["duration_us"] / 1e6
    errors = (
        stats["connect_errors"]
        + stats["read_errors"]
        + stats["write_errors"]
        + stats["status_errors"]
        + stats["timeouts"]
    )
    return {**stats, "rps": stats["requests"] / seconds, "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--codes", type=int, default=3_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gunicorn-workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--database-url", default=PG_URL)
    parser.add_argument(
        "--page-seconds", type=float, default=5, help="each page of the mix alone (0: skip)"
    )
    args = parser.parse_args()
    binary = ensure_wrk()
    OUT.mkdir(parents=True, exist_ok=True)
    codes_file = OUT / "load-codes.txt"
    url = args.database_url
    schema = create_schema(url) if url.startswith("postgresql") else None
    reference_schema = create_schema(url) if schema else None
    config: dict[str, Any] = {"ENV_NAME": "production", "DATABASE_URL": url, **BENCH_KEYS}
    if schema:
        config["DATABASE_SCHEMA"] = schema
    result: dict[str, Any] = {}
    try:
        app = create_app(config)
        with app.app_context():
            db.create_all()
            slugs, seeded = seed_all(args.workers, args.codes, codes_file)
            messages_before = db.session.scalar(select(func.count()).select_from(Message))
            db.session.remove()
            db.engine.dispose()
        print(
            f"seeded {args.workers:,} workers, {args.codes:,} codes in {seeded:.1f} s", flush=True
        )
        # The reference catalog (../shared/perf/reference) on the same database server, for
        # goal 3 of issue 16: the mix's p99 against its p50 at one connection, same run.
        reference_db = reference_url(url if schema else None, reference_schema)
        subprocess.run(
            [sys.executable, str(REFERENCE / "mkdb.py"), reference_db],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        catalog_port = free_port()
        catalog = serve(
            "catalog_app:app", catalog_port, {**os.environ, "DATABASE_URL": reference_db}, REFERENCE
        )
        catalog_lua = OUT / "load-catalog.lua"
        catalog_lua.write_text((REFERENCE / "wrk_catalog.lua").read_text() + REPORT_LUA)
        catalog_url = f"http://127.0.0.1:{catalog_port}"
        servers = [catalog]
        wrk_report(binary, catalog_url, connections=2, seconds=1, script=catalog_lua)

        env = {**os.environ, **{f"PAYUNG_{k}": v for k, v in config.items() if k != "ENV_NAME"}}
        env["PAYUNG_ENV"] = "production"
        port = free_port()
        try:
            servers.append(start_gunicorn(env, port, args.gunicorn_workers, timeout=120))
            preflight(port, slugs)
            hello_lua = OUT / "load-hello.lua"
            mix_done = SCRIPT.read_text().split("function done", 1)[1]
            hello_lua.write_text(
                HELLO_SCRIPT + "thread_list = {}\nnext_id = 1\nposts = 0\n"
                "function setup(thread) table.insert(thread_list, thread) end\n"
                "function done" + mix_done
            )
            base = f"http://127.0.0.1:{port}"
            hello = ["-s", str(hello_lua), f"{base}/bench/hello"]
            mix = ["-s", str(SCRIPT), base, "--", str(codes_file), ",".join(slugs)]
            mix.append(str(args.threads))
            wrk(binary, args, *hello, seconds=2)  # warm-up
            result["load_average_at_start"] = os.getloadavg()
            catalog_p50s = [one_connection_p50(binary, catalog_url, catalog_lua)]
            result["hello"] = summarise(
                hello_stats(wrk(binary, args, *hello, seconds=args.seconds))
            )
            print(f"hello world: {result['hello']['rps']:.0f} req/s", flush=True)
            # Warm-up of the mix with the codes' second half; the measured run posts the first.
            half = codes_file.read_text().splitlines()
            warm_file = OUT / "load-codes-warm.txt"
            warm_file.write_text("\n".join(half[len(half) // 2 :]) + "\n")
            codes_file.write_text("\n".join(half[: len(half) // 2]) + "\n")
            warm = ["-s", str(SCRIPT), base, "--", str(warm_file), ",".join(slugs)]
            wrk(binary, args, *warm, str(args.threads), seconds=3)
            result["mix"] = summarise(hello_stats(wrk(binary, args, *mix, seconds=args.seconds)))
            print(f"mix: {result['mix']['rps']:.0f} req/s", flush=True)
            catalog_p50s.append(one_connection_p50(binary, catalog_url, catalog_lua))
            result["reference_catalog_p50_1_ms"] = catalog_p50s
            # Where the time goes: each kind of page of the mix alone, same server and settings.
            result["pages"] = {}
            if args.page_seconds:
                for name, path in pages(slugs).items():
                    alone = ["-s", str(hello_lua), base + path]
                    stats = wrk(binary, args, *alone, seconds=args.page_seconds)
                    result["pages"][name] = summarise(hello_stats(stats))
        finally:
            for server in servers:
                stop(server)
        with app.app_context():
            sent = db.session.scalar(select(func.count()).select_from(Message)) - messages_before
            db.session.remove()
            db.engine.dispose()
    finally:
        for dropped in (schema, reference_schema):
            if dropped:
                drop_schema(url, dropped)

    result.update(
        database=url.split(":")[0],
        workers=args.workers,
        claimable_codes=args.codes,
        seconds=args.seconds,
        wrk=f"{args.threads} threads × {args.connections // args.threads} connections",
        gunicorn_workers=args.gunicorn_workers,
        one_time_codes_sent=sent,
        seed_seconds=seeded,
        cpus=os.cpu_count(),
        load_average=os.getloadavg(),
        date=date.today().isoformat(),
    )
    (OUT / "load-run.json").write_text(json.dumps(result, indent=2))
    hello_rps = result["hello"]["rps"]
    print("\n| route | req/s | vs hello | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    rows = {"hello world (baseline)": result["hello"], "mix": result["mix"]}
    rows.update({f"alone: {name}": row for name, row in result["pages"].items()})
    for name, row in rows.items():
        print(
            f"| {name} | {row['rps']:.0f} | {row['rps'] / hello_rps:.0%} | {row['p50_ms']:.1f} "
            f"| {row['p95_ms']:.1f} | {row['p99_ms']:.1f} | {row['errors']} |"
        )
    mix = result["mix"]
    reference_p50 = sum(result["reference_catalog_p50_1_ms"]) / 2
    ratio = mix["p99_ms"] / reference_p50
    print(f"\nreference catalog p50 at 1 connection (before and after the mix): "
          f"{' and '.join(f'{p:.2f}' for p in result['reference_catalog_p50_1_ms'])} ms; "
          f"mix p99 ÷ their mean = {ratio:.1f} (issue 16 goal 3: ≤ 10)")  # fmt: skip
    print(f"\nmix statuses: {mix['statuses']}; claim POSTs: {mix['claim_posts']}; "
          f"one-time codes sent (warm-up included): {sent}")  # fmt: skip
    return 1 if any(row["errors"] for row in rows.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
