"""Benchmark: a ComboFit order for 10,000 workers (30,000 parts) from "paid" to all issued, with
real Celery workers on Redis and PostgreSQL, against the partner sandbox.

    .venv/bin/python -m bench.fulfillment_bench [--workers 10000] [--celery-workers 2]
        [--concurrency 1] [--database-url URL] [--broker redis://127.0.0.1:6379/9]
        [--pgbench-seconds 0] [--label after] [--record]

Measures parts per second from the commit of the paid order to the last part settled, the peak
memory of the Celery worker processes (sum of their proportional set sizes, sampled every
second), and — as the baseline in the same run — PostgreSQL's one-row commit rate: 2,000
single-row ``INSERT`` + ``COMMIT`` into a scratch table of the same server, one client. The ratio
parts/s ÷ commits/s is the figure to compare between runs. Counted per part: SQL statements and
commits sent by the Celery workers and by ``start_fulfillment`` (SQLAlchemy engine events, see
``bench/counting_worker.py``), Celery tasks, and partner HTTP calls (the sandbox's own request
counter; its control endpoints are not counted). The telco's bulk top-ups report back by
callback: a gunicorn process (``bench/counting_web.py``, 1 worker × 4 threads, its statements
counted too) receives them, and the top-ups are polled only if a callback has not come in 30 s;
``--no-callbacks`` polls instead (the behaviour before the callbacks). Callback posts (the
sandbox's, refused ones included) are counted apart from Payung's partner HTTP calls.
``--pgbench-seconds N`` adds a TPC-B-like ``pgbench`` baseline. ``--record`` appends a row to
the table in bench/README.md (this section only).
"""

import argparse
import json
import os
import platform
import re
import signal
import socket
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
import requests
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine

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
    commit_rate: float = 0.0
    statements: int = 0
    commits: int = 0
    tasks: int = 0
    http_calls: int = 0
    http_by_api: dict[str, int] = field(default_factory=dict)
    statements_by_table: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    sandbox: dict[str, Any] = field(default_factory=dict)
    callbacks: dict[str, int] = field(default_factory=dict)
    web_peak_pss_mb: float = 0.0

    @property
    def items_per_s(self) -> float:
        return self.items / self.issue_s if self.issue_s else 0.0

    @property
    def ratio(self) -> float:
        return self.items_per_s / self.commit_rate if self.commit_rate else 0.0

    def per_part(self) -> dict[str, float]:
        return {
            name: round(getattr(self, name) / self.items, 3)
            for name in ("statements", "commits", "tasks", "http_calls")
        }


def one_row_commit_rate(url: str, schema: str, rows: int = 2_000) -> float:
    """Single-row ``INSERT`` + ``COMMIT`` per second on a scratch table, one client: what one
    connection of this server commits when each transaction is as small as can be."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f"CREATE TABLE {schema}.commit_probe (id serial PRIMARY KEY, n int)"))
            conn.commit()
            insert_one = text(f"INSERT INTO {schema}.commit_probe (n) VALUES (:n)")  # noqa: S608
            started = time.perf_counter()
            for n in range(rows):
                conn.execute(insert_one, {"n": n})
                conn.commit()
            elapsed = time.perf_counter() - started
            conn.execute(text(f"DROP TABLE {schema}.commit_probe"))
            conn.commit()
    finally:
        engine.dispose()
    return rows / elapsed


class StatementCounter:
    """Statements and commits sent by this process while ``active``."""

    def __init__(self) -> None:
        self.statements = self.commits = 0
        self.active = False
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)

    def _statement(self, *_args: object) -> None:
        self.statements += self.active

    def _commit(self, *_args: object) -> None:
        self.commits += self.active


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


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, theirs, …), read from /proc."""
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text_ = (task / "children").read_text().split()
            found.extend(int(c) for c in text_)
    except OSError:
        return []
    return found + [g for c in found for g in descendants(c)]


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid: int) -> int:
    """The proportional set size of ``pid`` in KiB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class WebServer:
    """Payung's web app under gunicorn, where the sandbox posts its callbacks."""

    def __init__(self, env: dict[str, str], port: int, log_dir: Path) -> None:
        log = (log_dir / "web.log").open("wb")
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4",
                "-b", f"127.0.0.1:{port}", "bench.counting_web:app",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/api/callbacks/telco/batch", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("the web server did not start; see web.log")

    def pss_mb(self) -> float:
        pids = [self.process.pid, *descendants(self.process.pid)]
        return sum(pss_kb(pid) for pid in pids) / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Workers:
    def __init__(self, env: dict[str, str], count: int, concurrency: int, log_dir: Path) -> None:
        self.processes = []
        for n in range(count):
            log = (log_dir / f"celery-{n}.log").open("wb")
            self.processes.append(
                subprocess.Popen(
                    [
                        sys.executable, "-m", "celery", "-A", "bench.counting_worker", "worker",
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
            c for p in self.processes for c in descendants(p.pid)
        ]

    def sample_mb(self) -> tuple[float, float]:
        """``(RSS, PSS)`` summed over the worker processes. RSS counts the pages the forked
        pool processes share with their parent once per process; PSS splits them fairly."""
        rss = pss = 0
        for pid in self.pids():
            rss += _status_kb(pid, "VmRSS")
            pss += pss_kb(pid)
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
    from fulfillment.models import UNSETTLED, FulfillmentItem, ItemStatus
    from fulfillment.services import start_fulfillment
    from messaging.models import Message, MessageStatus
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
        "PARTNER_BATCH_APIS": [] if args.single_calls else ["telco", "insurer"],
    }
    callbacks = not (args.single_calls or args.no_callbacks)
    web_port = _free_port()
    if callbacks:
        settings["PARTNER_CALLBACK_BASE_URL"] = f"http://127.0.0.1:{web_port}"
        settings["FULFILLMENT_CALLBACK_WAIT_S"] = 30
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYUNG_")}
    env["PAYUNG_ENV"] = "testing"
    for key, value in settings.items():
        env[f"PAYUNG_{key}"] = value if isinstance(value, str) else json.dumps(value)
    app = create_app({"ENV_NAME": "testing", **settings})
    result = Result(workers=args.workers, items=3 * args.workers)
    workers = web = None
    try:
        with app.app_context():
            db.create_all()
            combo = make_combofit(codes=args.workers)
            order = make_paid_order(combo.bundle, make_workers(args.workers))
            db.session.commit()
            order = db.session.get(type(order), order.id)
            db.session.expunge_all()
            order = db.session.get(type(order), order.id)
            result.commit_rate = one_row_commit_rate(args.database_url, schema)
            print(f"seeded {args.workers} workers; {result.commit_rate:.0f} one-row commits/s")
            if args.pgbench_seconds:
                result.pgbench_tps = pgbench_tps(args.database_url, args.pgbench_seconds)
                print(f"pgbench: {result.pgbench_tps:.0f} tps")
            print("starting Celery workers …")
            workers = Workers(env, args.celery_workers, args.concurrency, log_dir)
            web = WebServer(env, web_port, log_dir) if callbacks else None
            time.sleep(8)  # let them boot, so their start-up is not counted

            broker.delete(
                "bench:statements",
                "bench:commits",
                "bench:tasks",
                "bench:tables",
                "bench:web_requests",
            )
            sandbox.reset()
            counter = StatementCounter()
            started = time.perf_counter()
            counter.active = True
            start_fulfillment(order)
            db.session.commit()  # the jobs go to Redis after this commit
            counter.active = False
            result.start_s = time.perf_counter() - started
            issued, unsettled = 0, result.items
            while unsettled:
                time.sleep(1)
                rss, pss = workers.sample_mb()
                result.peak_rss_mb = max(result.peak_rss_mb, rss)
                result.peak_pss_mb = max(result.peak_pss_mb, pss)
                if web is not None:
                    result.web_peak_pss_mb = max(result.web_peak_pss_mb, web.pss_mb())
                issued = db.session.scalar(
                    select(func.count()).where(FulfillmentItem.status == ItemStatus.ISSUED)
                )
                unsettled = db.session.scalar(
                    select(func.count()).where(FulfillmentItem.status.in_(UNSETTLED))
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
            # Counted until the claim-code messages are delivered too (their jobs run after
            # the parts are issued; the time above stops at the last part).
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                queued = db.session.scalar(
                    select(func.count()).where(Message.status != MessageStatus.SENT)
                )
                db.session.commit()
                if not queued:
                    break
                time.sleep(1)
            time.sleep(2)  # the last tasks report their counts after their commit
            result.statements = counter.statements + int(broker.get("bench:statements") or 0)
            result.commits = counter.commits + int(broker.get("bench:commits") or 0)
            result.tasks = int(broker.get("bench:tasks") or 0)
            tables = {k.decode(): int(v) for k, v in broker.hgetall("bench:tables").items()}
            result.statements_by_table = dict(sorted(tables.items(), key=lambda kv: -kv[1]))
            stats = sandbox.stats()
            result.http_calls = stats["requests"]["total"]
            result.http_by_api = stats["requests"]["by_api"]
            deliveries = stats.get("callbacks") or []
            result.callbacks = {
                "batches": len(deliveries),
                "posts": sum(int(d.get("attempts", 0)) for d in deliveries),
                "delivered": sum(1 for d in deliveries if d.get("delivered")),
                "web_requests": int(broker.get("bench:web_requests") or 0),
            }
            result.sandbox = {
                k: stats[k] for k in ("effects_by_kind", "duplicate_effects", "idempotent_replays")
            } | {"requests": stats["requests"]["total"]}
            db.session.remove()
    finally:
        if workers is not None:
            workers.stop()
        if web is not None:
            web.stop()
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


TABLE_HEAD = (
    "| run | date | Celery workers × processes | parts | paid → all settled | parts/s "
    "| one-row commits/s | ratio | statements / part | commits / part | tasks / part "
    "| partner HTTP / part | peak PSS |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def record(result: Result, args: argparse.Namespace) -> None:
    """Append this run as a row of the section's table (the prose is written by hand)."""
    per = result.per_part()
    row = (
        f"| {args.label} | {date.today().isoformat()} | {args.celery_workers} × {args.concurrency} "
        f"| {result.items:,} | {result.issue_s:.0f} s | **{result.items_per_s:.0f}** "
        f"| {result.commit_rate:,.0f} | **{result.ratio:.3f}** | {per['statements']} "
        f"| {per['commits']} | {per['tasks']} | {per['http_calls']} "
        f"| {result.peak_pss_mb:.0f} MiB |\n"
    )
    text_ = README.read_text()
    if TABLE_HEAD not in text_:
        write_section(README, SECTION, f"{SECTION}\n\n{TABLE_HEAD}{row}")
        return
    head, rest = text_.split(TABLE_HEAD, 1)
    table_end = rest.find("\n\n")
    table_end = len(rest) if table_end < 0 else table_end + 1
    README.write_text(head + TABLE_HEAD + rest[:table_end] + row + rest[table_end:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--celery-workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1)  # 2 × 1 keeps PSS ≤ 500 MiB
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--pgbench-seconds", type=int, default=0)
    parser.add_argument("--label", default="run")
    parser.add_argument(
        "--single-calls", action="store_true", help="partners without batch endpoints"
    )
    parser.add_argument(
        "--no-callbacks", action="store_true", help="poll the bulk top-ups, no callbacks"
    )
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--log-dir", help="keep the Celery and sandbox logs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(args.log_dir) if args.log_dir else Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        result = run(args, log_dir)
    summary = {"items_per_s": result.items_per_s, "ratio": result.ratio, **result.per_part()}
    print(json.dumps(result.__dict__ | summary, indent=2))
    if args.record:
        record(result, args)


if __name__ == "__main__":
    main()
