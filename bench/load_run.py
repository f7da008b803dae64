"""Load run: gunicorn serving Payung on PostgreSQL under a mix of directory browsing, bundle
pages and claims, driven by wrk, next to a hello-world route on the same server in the same run.

    .venv/bin/python -m bench.load_run [--workers 10000] [--codes 10000] [--seconds 30]
        [--connections 8] [--threads 2] [--gunicorn-workers 2] [--paced 0.5,0.75]
        [--keep-schemas PREFIX] [--broker redis://127.0.0.1:6379/13]
        [--limits redis://127.0.0.1:6379/9]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Seeds a schema of its own (dropped afterwards): ``--workers`` workers with their search terms
(as ``bench.directory_bench`` does), two published ComboFit bundles with their partners and code
pools, and a paid order whose first ``--codes`` workers each hold an unclaimed bundle code. With
``--keep-schemas PREFIX`` the schemas are ``<PREFIX>payung`` and ``<PREFIX>reference``, seeded on
the first run and reused by the next (every run issues fresh claim codes; drop the schemas by
hand when done). Then gunicorn (sync workers, production configuration) and wrk (Debian's
package, installed here if missing), each run after a short warm-up:

1. the hello-world baseline, closed loop (every connection sends again as soon as it has its
   answer: a saturating load, where latency is about connections ÷ throughput);
2. the control: the reference catalog of ``../shared/perf/reference/`` (100,000 products, on the
   same database server, served by the same gunicorn settings) alone under that same load;
3. the mix of ``bench/load_mix.lua``, closed loop: issue 16's goal 3 is its p99 at most 10 × the
   reference catalog's p50 at one connection, measured just before and just after it;
4. the mix again with one connection per wrk thread, so that each answer is paired with its
   request: latency by kind of page;
5. paced runs (``--paced``, fractions of the mix's saturated req/s): each connection sends on a
   fixed timetable whatever the answers take, and latency counts from each request's slot (a
   request that waited for its connection is late, as in wrk2), with the rate actually served;
   each followed by its control, the reference catalog alone on the same timetable (what the
   machine and the server settings give a minimal page at that offered load);
6. each page of the mix alone for ``--page-seconds``.

Jobs (the claim's SMS delivery) run eagerly inside the request unless ``--broker URL`` is given:
then one Celery worker (concurrency 1) runs them beside gunicorn, as in production.

Every answer with a status >= 400 and every socket error or timeout is an error; the run fails
(exit 1) unless there are none. Claims are legitimate traffic from one IP: each code is posted
once (each run gets its own share of the codes), so neither the per-phone SMS limit
nor the per-IP failure limit (only wrong codes count) is reached. A run that used up its share
fails too: its mix had fewer claims than 10 %. Prints Markdown tables; writes
bench/out/load-run.json.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import func, select

from app import create_app
from bench.common import (
    BENCH_KEYS,
    create_indexes,
    create_schema,
    drop_schema,
    ensure_wrk,
    kept_schema,
)
from bench.directory_bench import free_port, start_gunicorn, stop
from bench.load_latency import print_report, read_samples
from bench.load_seed import seed_all
from bench.pages import REFERENCE, REPORT_LUA, reference_url, serve, vacuum_analyze
from bench.pages import wrk as wrk_report
from extensions import db
from messaging.models import Message

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SCRIPT = ROOT / "bench" / "load_mix.lua"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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


def start_celery_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """One Celery worker (concurrency 1) on ``PAYUNG_CELERY_BROKER_URL``: jobs leave the
    request as they do in production."""
    command = [
        sys.executable, "-m", "celery", "-A", "celery_worker", "worker", "--loglevel=WARNING",
        "--concurrency=1", "--without-gossip", "--without-mingle", "-n", "load@%h",
    ]  # fmt: skip
    log = (OUT / "load-celery.log").open("wb")
    worker = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    time.sleep(5)  # its start-up, before anything is measured
    if worker.poll() is not None:
        raise RuntimeError(f"the Celery worker stopped: see {OUT / 'load-celery.log'}")
    return worker


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


def wrk(
    binary: str,
    args: argparse.Namespace,
    *script: str,
    seconds: float,
    threads: int | None = None,
    env: dict[str, str] | None = None,
) -> str:
    command = [
        binary, f"-t{threads or args.threads}", f"-c{args.connections}", f"-d{round(seconds)}s",
        "--timeout", "30s", "--latency", *script,
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
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
samples = {}
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


def codes_in_parts(codes_file: Path, parts: int) -> list[Path]:
    """The codes split into one file per run, so no code is posted twice."""
    codes = codes_file.read_text().splitlines()
    size = len(codes) // parts
    files = []
    for n in range(parts):
        part = OUT / f"load-codes-{n}.txt"
        part.write_text("\n".join(codes[n * size : (n + 1) * size]) + "\n")
        files.append(part)
    return files


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--codes", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gunicorn-workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--database-url", default=PG_URL)
    parser.add_argument(
        "--page-seconds", type=float, default=5, help="each page of the mix alone (0: skip)"
    )
    parser.add_argument(
        "--paced",
        default="0.5,0.75",
        help="offered loads of the paced runs, as fractions of the mix's saturated req/s "
        "(comma-separated; empty: none)",
    )
    parser.add_argument(
        "--broker",
        metavar="URL",
        help="a Celery broker (e.g. redis://127.0.0.1:6379/13) and one Celery worker of "
        "concurrency 1 beside gunicorn, as in production: the claim's SMS is delivered there, "
        "not in the request (default: jobs run eagerly in the request)",
    )
    parser.add_argument(
        "--limits",
        metavar="URL",
        help="the rate limits' storage, emptied first (e.g. redis://127.0.0.1:6379/9, as the "
        "README's production set-up; default: memory://, each gunicorn process its own)",
    )
    parser.add_argument(
        "--keep-schemas",
        metavar="PREFIX",
        help="PostgreSQL: keep the seeded schemas <PREFIX>payung and <PREFIX>reference and reuse "
        "them on the next run, with fresh claim codes (drop them by hand when done)",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    binary = ensure_wrk()
    OUT.mkdir(parents=True, exist_ok=True)
    codes_file = OUT / "load-codes.txt"
    url = args.database_url
    keep = args.keep_schemas if url.startswith("postgresql") else None
    schema = reference_schema = None
    reference_ready = False
    if keep:
        schema, _ = kept_schema(url, f"{keep}payung")
        reference_schema, reference_ready = kept_schema(url, f"{keep}reference", "products")
    elif url.startswith("postgresql"):
        schema, reference_schema = create_schema(url), create_schema(url)
    config: dict[str, Any] = {"ENV_NAME": "production", "DATABASE_URL": url, **BENCH_KEYS}
    if schema:
        config["DATABASE_SCHEMA"] = schema
    if args.limits:
        # A fresh storage: the codes' phones asked for sign-in codes in earlier runs.
        redis.Redis.from_url(args.limits).flushdb()
        config["RATELIMIT_STORAGE_URI"] = args.limits
    fractions = [float(part) for part in args.paced.split(",") if part.strip()]
    result: dict[str, Any] = {}
    try:
        app = create_app(config)
        with app.app_context():
            db.create_all()
            create_indexes()
            slugs, seeded = seed_all(args.workers, args.codes, codes_file)
            messages_before = db.session.scalar(select(func.count()).select_from(Message))
            db.session.remove()
            db.engine.dispose()
        print(f"seeded (or reused) and issued {args.codes:,} codes in {seeded:.1f} s", flush=True)
        # The reference catalog (../shared/perf/reference) on the same database server, for
        # goal 3 of issue 16: the mix's p99 against its p50 at one connection, same run.
        reference_db = reference_url(url if schema else None, reference_schema)
        if not reference_ready:
            subprocess.run(
                [sys.executable, str(REFERENCE / "mkdb.py"), reference_db],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        if schema and reference_schema:
            vacuum_analyze(url, [schema, reference_schema])
        catalog_port = free_port()
        catalog = serve(
            "catalog_app:app",
            catalog_port,
            {**os.environ, "DATABASE_URL": reference_db},
            REFERENCE,
            workers=args.gunicorn_workers,
        )
        catalog_lua = OUT / "load-catalog.lua"
        catalog_lua.write_text((REFERENCE / "wrk_catalog.lua").read_text() + REPORT_LUA)
        catalog_url = f"http://127.0.0.1:{catalog_port}"
        servers = [catalog]
        wrk_report(binary, catalog_url, connections=2, seconds=1, script=catalog_lua)

        env = {**os.environ, **{f"PAYUNG_{k}": v for k, v in config.items() if k != "ENV_NAME"}}
        env["PAYUNG_ENV"] = "production"
        if args.broker:
            env["PAYUNG_CELERY_BROKER_URL"] = args.broker
        port = free_port()
        try:
            if args.broker:
                servers.append(start_celery_worker(env))
            servers.append(start_gunicorn(env, port, args.gunicorn_workers, timeout=120))
            preflight(port, slugs)
            hello_lua = OUT / "load-hello.lua"
            mix_done = SCRIPT.read_text().split("function done", 1)[1]
            report = (
                HELLO_SCRIPT + "thread_list = {}\nnext_id = 1\nposts = 0\n"
                "function setup(thread) table.insert(thread_list, thread) end\n"
                "function done" + mix_done
            )
            hello_lua.write_text(report)
            # The control: the reference catalog alone under the very load the mix gets.
            catalog_load_lua = OUT / "load-catalog-closed.lua"
            catalog_load_lua.write_text((REFERENCE / "wrk_catalog.lua").read_text() + report)
            base = f"http://127.0.0.1:{port}"
            hello = ["-s", str(hello_lua), f"{base}/bench/hello"]
            runs = ["warm-up", "mix", "mix by kind"] + [f"paced {f:.0%}" for f in fractions]
            code_files = dict(zip(runs, codes_in_parts(codes_file, len(runs)), strict=True))
            result["codes_a_run"] = len(code_files["mix"].read_text().split())

            def mix(run: str) -> list[str]:
                return ["-s", str(SCRIPT), base, "--", str(code_files[run]), ",".join(slugs)]

            wrk(binary, args, *hello, seconds=2)  # warm-up
            result["load_average_at_start"] = os.getloadavg()
            catalog_p50s = [one_connection_p50(binary, catalog_url, catalog_lua)]
            result["hello"] = summarise(
                hello_stats(wrk(binary, args, *hello, seconds=args.seconds))
            )
            print(f"hello world: {result['hello']['rps']:.0f} req/s", flush=True)
            control = ["-s", str(catalog_load_lua), catalog_url]
            result["reference_catalog_closed"] = summarise(
                hello_stats(wrk(binary, args, *control, seconds=args.seconds))
            )
            print(f"reference catalog, same load: {result['reference_catalog_closed']['rps']:.0f}"
                  " req/s", flush=True)  # fmt: skip
            wrk(binary, args, *mix("warm-up"), str(args.threads), seconds=3)
            result["mix"] = summarise(
                hello_stats(wrk(binary, args, *mix("mix"), str(args.threads), seconds=args.seconds))
            )
            print(f"mix: {result['mix']['rps']:.0f} req/s", flush=True)
            catalog_p50s.append(one_connection_p50(binary, catalog_url, catalog_lua))
            result["reference_catalog_p50_1_ms"] = catalog_p50s
            # Latency by kind: one connection per thread, so each answer is paired with its
            # request (wrk's hooks do not say which connection answered).
            samples_file = OUT / "load-samples.txt"
            one_each = args.connections
            by_kind = wrk(binary, args, *mix("mix by kind"), str(one_each), seconds=args.seconds,
                          threads=one_each, env={"LOAD_SAMPLES": str(samples_file)})  # fmt: skip
            result["mix_by_kind"] = {
                **summarise(hello_stats(by_kind)),
                "samples": read_samples(samples_file),
            }
            # Offered loads below saturation: a fixed timetable, latency from each slot.
            result["paced"] = {}
            for fraction in fractions:
                rate = fraction * result["mix"]["rps"]
                run = f"paced {fraction:.0%}"
                paced = wrk(binary, args, *mix(run), str(one_each), seconds=args.seconds,
                            threads=one_each,
                            env={"LOAD_SAMPLES": str(samples_file),
                                 "LOAD_RATE": f"{rate:.3f}"})  # fmt: skip
                stats = summarise(hello_stats(paced))
                result["paced"][run] = {
                    **stats,
                    "offered_rps": rate,
                    "samples": read_samples(samples_file),
                }
                print(f"{run}: offered {rate:.0f} req/s, got {stats['rps']:.0f}", flush=True)
                control = wrk(binary, args, "-s", str(SCRIPT), catalog_url, "--",
                              str(code_files[run]), ",".join(slugs), str(one_each),
                              seconds=args.seconds, threads=one_each,
                              env={"LOAD_SAMPLES": str(samples_file), "LOAD_RATE": f"{rate:.3f}",
                                   "LOAD_REFERENCE": "1"})  # fmt: skip
                result["paced"][run]["reference"] = {
                    **summarise(hello_stats(control)),
                    "samples": read_samples(samples_file),
                }
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
            if dropped and not keep:
                drop_schema(url, dropped)

    result.update(
        database=url.split(":")[0],
        workers=args.workers,
        claimable_codes=args.codes,
        seconds=args.seconds,
        wrk=f"{args.threads} threads × {args.connections // args.threads} connections",
        gunicorn_workers=args.gunicorn_workers,
        jobs="Celery worker" if args.broker else "eager, in the request",
        one_time_codes_sent=sent,
        seed_seconds=seeded,
        cpus=os.cpu_count(),
        load_average=os.getloadavg(),
        date=date.today().isoformat(),
    )
    (OUT / "load-run.json").write_text(json.dumps(result, indent=2))
    print_report(result)
    rows = [result[name] for name in ("hello", "mix", "reference_catalog_closed", "mix_by_kind")]
    rows += [*result["paced"].values(), *result["pages"].values()]
    rows += [paced["reference"] for paced in result["paced"].values()]
    # A run that posted every code it had sent GET /klaim instead from then on: fewer claims
    # than the mix's 10 %, a lighter load than the one measured before (a faster server
    # runs out sooner). Such a run does not count.
    short = [
        name
        for name, row in (("mix", result["mix"]), *result["paced"].items())
        if row["claim_posts"] >= result["codes_a_run"]
    ]
    if short:
        print(f"the claim codes ran out in: {', '.join(short)} ({result['codes_a_run']:,} a run):"
              " rerun with a larger --codes", flush=True)  # fmt: skip
    return 1 if short or any(row["errors"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
