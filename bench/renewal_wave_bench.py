"""Benchmark: the monthly renewal wave — N workers due for renewal on the same day (issue 17,
goal 3), from the nightly run to every part issued, on PostgreSQL with real Celery workers,
localstripe and the partner sandbox.

    .venv/bin/python -m bench.renewal_wave_bench [--workers 100000] [--celery-workers 2]
        [--concurrency 1] [--database-url URL] [--broker redis://127.0.0.1:6379/3]
        [--profile bench/out/wave.prof] [--check-charges]

The wave: ``run_renewals`` (what ``flask continuity renew`` and Celery beat run) in this
process claims each plan's period and makes its order, charges the sponsor's saved card at
localstripe (the real ``stripe`` library), applies the payment (order paid, fulfillment items
created, chunk jobs enqueued after the commit); 2 Celery workers issue the parts through the
batch path (``fulfillment/batches/``) against the partner sandbox. Sponsors are mixed
(``bench.renewal_wave.sponsor_sizes``: 5 companies hold 40 % of the workers, firms of 20
another 40 %, individuals with 2 the rest), every card succeeds.

Measured: total time (run start → last part issued) and per phase (claim + orders and charges
inside the run, timed by wrapping the run's steps; parts issued: the whole wave, and the tail
after the run ended); rates per worker; SQL statements per worker (this process: SQLAlchemy
engine events in the run's thread; Celery workers: ``bench/counting_worker.py``), Stripe HTTP
calls per worker (the ``stripe`` library's HTTP client, counted), partner HTTP calls per part
(the sandbox's own counter); peak PSS of every process of the wave (this one, the Celery
workers and their pool, localstripe, the sandbox; PostgreSQL and Redis are not counted),
sampled every second. Baseline in the same run: 2,000 single-row INSERT + COMMIT on a scratch
table of the same server (``bench.fulfillment_bench.one_row_commit_rate``). At the end
``verify_wave`` checks that nothing was lost or doubled. Results also go to
``bench/out/renewal-wave-<workers>.json``.
"""

import argparse
import cProfile
import json
import os
import pstats
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine, func, select, text

from bench.common import create_schema, drop_schema
from bench.fulfillment_bench import Workers, descendants, machine, one_row_commit_rate, pss_kb

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


@dataclass
class Result:
    workers: int
    sponsors: int = 0
    parts: int = 0
    seed_s: float = 0.0
    commit_rate: float = 0.0
    run_s: float = 0.0
    phase_s: dict[str, float] = field(default_factory=dict)
    parts_s: float = 0.0
    tail_s: float = 0.0
    summary: dict[str, int] = field(default_factory=dict)
    run_statements: dict[str, int] = field(default_factory=dict)
    run_commits: dict[str, int] = field(default_factory=dict)
    stripe_calls: dict[str, int] = field(default_factory=dict)
    celery_statements: int = 0
    celery_commits: int = 0
    celery_tasks: int = 0
    statements_by_table: dict[str, int] = field(default_factory=dict)
    partner_http_calls: int = 0
    peak_pss_mb: float = 0.0
    peak_pss_by_process_mb: dict[str, float] = field(default_factory=dict)
    verified: dict[str, Any] = field(default_factory=dict)
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)
    machine: str = ""

    def figures(self) -> dict[str, float]:
        n = self.workers
        statements = sum(self.run_statements.values()) + self.celery_statements
        return {
            "workers_per_s": round(n / self.parts_s, 1) if self.parts_s else 0.0,
            "run_workers_per_s": round(n / self.run_s, 1) if self.run_s else 0.0,
            "parts_per_s": round(self.parts / self.parts_s, 1) if self.parts_s else 0.0,
            "ratio_workers_per_s_to_commits": round(n / self.parts_s / self.commit_rate, 3)
            if self.parts_s and self.commit_rate
            else 0.0,
            "statements_per_worker": round(statements / n, 2),
            "run_statements_per_worker": round(sum(self.run_statements.values()) / n, 2),
            "celery_statements_per_worker": round(self.celery_statements / n, 2),
            "commits_per_worker": round(
                (sum(self.run_commits.values()) + self.celery_commits) / n, 2
            ),
            "stripe_calls_per_worker": round(sum(self.stripe_calls.values()) / n, 3),
            "partner_http_per_part": round(self.partner_http_calls / self.parts, 4)
            if self.parts
            else 0.0,
        }


class Monitor(threading.Thread):
    """Every second: PSS of this process and all its descendants (by group), and the items
    issued so far (its own connection, not counted by the meter). Every minute: ``ANALYZE`` of
    the schema's tables, as autovacuum would do on a production server. This machine's server
    runs with autovacuum off, so the tables the wave fills (empty when seeding ended) kept their
    "empty" statistics and the planner kept scanning them whole: one sequential scan of
    ``order_line_parts`` per order paid, quadratic over a 100,000-worker wave."""

    ANALYZE_EVERY_S = 60.0

    def __init__(self, url: str, schema: str, groups: dict[str, list[int]]) -> None:
        super().__init__(daemon=True)
        self.engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        self.groups = groups
        self.peak_total = 0.0
        self.peak_by_group: dict[str, float] = {}
        self.issued = 0
        self.unsettled = 0
        self.stopping = threading.Event()

    def pss_mb(self) -> dict[str, float]:
        me = os.getpid()
        grouped = {name: set(pids) for name, pids in self.groups.items()}
        for pids in grouped.values():
            for pid in list(pids):
                pids.update(descendants(pid))
        known = set().union(*grouped.values())
        grouped["bench (run)"] = {me} | (set(descendants(me)) - known)
        return {name: sum(pss_kb(pid) for pid in pids) / 1024 for name, pids in grouped.items()}

    def analyze(self) -> None:
        with self.engine.connect() as conn:
            tables = conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                    "ORDER BY tablename"
                )
            ).scalars()
            for table in list(tables):
                conn.exec_driver_sql(f'ANALYZE "{table}"')
            conn.commit()

    def run(self) -> None:
        analyzed = time.monotonic()
        while not self.stopping.wait(1.0):
            if time.monotonic() - analyzed >= self.ANALYZE_EVERY_S:
                self.analyze()
                analyzed = time.monotonic()
            sample = self.pss_mb()
            self.peak_total = max(self.peak_total, sum(sample.values()))
            for name, mb in sample.items():
                self.peak_by_group[name] = max(self.peak_by_group.get(name, 0.0), mb)
            with self.engine.connect() as conn:
                rows = dict(
                    conn.execute(
                        text("SELECT status, count(*) FROM fulfillment_items GROUP BY status")
                    ).all()
                )
            self.issued = rows.get("issued", 0)
            self.unsettled = sum(v for k, v in rows.items() if k != "issued")

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
        self.engine.dispose()


def run(args: argparse.Namespace, log_dir: Path) -> Result:
    from app import create_app
    from bench.renewal_wave import (
        CHARGE_DAY,
        PARTS_PER_WORKER,
        Meter,
        metered,
        seed_wave,
        verify_wave,
    )
    from extensions import db
    from messaging.models import Message, MessageStatus
    from sponsorship.continuity.renewals.run import run_renewals
    from tests.sandbox_support import start_partner_sandbox, stop_partner_sandbox
    from tests.stripe_support import running_localstripe

    result = Result(workers=args.workers, parts=PARTS_PER_WORKER * args.workers)
    schema = create_schema(args.database_url)
    sandbox_process, sandbox = start_partner_sandbox(log_dir / "sandbox.log")
    broker = redis.Redis.from_url(args.broker)
    broker.flushdb()
    workers = monitor = None
    try:
        with running_localstripe(log_dir) as localstripe:
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
                "PARTNER_BATCH_APIS": ["telco", "insurer"],
                "RENEWAL_DAYS_BEFORE_LAPSE": 7,
                **localstripe.app_config(),
            }
            env = {k: v for k, v in os.environ.items() if not k.startswith("PAYUNG_")}
            env["PAYUNG_ENV"] = "testing"
            for key, value in settings.items():
                env[f"PAYUNG_{key}"] = value if isinstance(value, str) else json.dumps(value)
            app = create_app({"ENV_NAME": "testing", **settings})
            with app.app_context():
                db.create_all()
                started = time.perf_counter()
                seeded = seed_wave(args.workers, localstripe, threads=4)
                result.sponsors = seeded.sponsors
                with db.engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
                result.seed_s = time.perf_counter() - started
                print(f"seeded {args.workers} workers, {seeded.sponsors} sponsors in "
                      f"{result.seed_s:.0f} s")  # fmt: skip
                result.commit_rate = one_row_commit_rate(args.database_url, schema)
                print(f"baseline: {result.commit_rate:.0f} one-row commits/s")
                workers = Workers(env, args.celery_workers, args.concurrency, log_dir)
                time.sleep(8)  # let them boot, so their start-up is not counted
                broker.delete("bench:statements", "bench:commits", "bench:tasks", "bench:tables")
                sandbox.reset()
                localstripe_pids = [
                    pid
                    for pid in descendants(os.getpid())
                    if "localstripe" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
                ]
                monitor = Monitor(
                    args.database_url,
                    schema,
                    {
                        "celery": [p.pid for p in workers.processes],
                        "localstripe": localstripe_pids,
                        "sandbox": [sandbox_process.pid],
                    },
                )
                monitor.start()
                meter = Meter()
                profiler = cProfile.Profile() if args.profile else None
                started = time.perf_counter()
                with metered(meter):
                    if profiler:
                        profiler.enable()
                    summary = run_renewals(today=CHARGE_DAY)
                    if profiler:
                        profiler.disable()
                result.run_s = time.perf_counter() - started
                result.summary = asdict(summary)
                print(f"run: {result.run_s:.1f} s {result.summary}")
                while monitor.issued < result.parts:
                    elapsed = time.perf_counter() - started
                    print(f"\r{elapsed:7.1f}s  {monitor.issued:7d}/{result.parts} issued "
                          f"({monitor.unsettled} unsettled)", end="", flush=True)  # fmt: skip
                    if elapsed > args.timeout:
                        break
                    time.sleep(0.5)
                result.parts_s = time.perf_counter() - started
                result.tail_s = result.parts_s - result.run_s
                print()
                # Counted until the claim-code messages are delivered too.
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
                monitor.stop()
                result.phase_s = {k: round(v, 2) for k, v in meter.seconds.items()}
                result.run_statements = dict(meter.statements)
                result.run_commits = dict(meter.commits)
                result.stripe_calls = dict(meter.stripe_calls)
                result.celery_statements = int(broker.get("bench:statements") or 0)
                result.celery_commits = int(broker.get("bench:commits") or 0)
                result.celery_tasks = int(broker.get("bench:tasks") or 0)
                tables = {k.decode(): int(v) for k, v in broker.hgetall("bench:tables").items()}
                result.statements_by_table = dict(sorted(tables.items(), key=lambda kv: -kv[1]))
                result.peak_pss_mb = round(monitor.peak_total, 1)
                result.peak_pss_by_process_mb = {
                    k: round(v, 1) for k, v in monitor.peak_by_group.items()
                }
                stats = sandbox.stats()
                result.partner_http_calls = stats["requests"]["total"]
                result.verified = {"sandbox": stats}  # kept if the checks below fail
                save(result, args)
                result.verified = verify_wave(
                    seeded,
                    sandbox_stats=stats,
                    localstripe=localstripe if args.check_charges else None,
                )
                result.load_average = os.getloadavg()
                result.machine = machine()
                if profiler:
                    profiler.dump_stats(args.profile)
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
                db.session.remove()
    finally:
        if monitor is not None:
            monitor.stop()
        if workers is not None:
            workers.stop()
        stop_partner_sandbox(sandbox_process)
        broker.flushdb()
        drop_schema(args.database_url, schema)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=100_000)
    parser.add_argument("--celery-workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--profile", help="cProfile the run (this process) into this file")
    parser.add_argument(
        "--check-charges",
        action="store_true",
        help="also count the succeeded charges at localstripe (times out past a few thousand)",
    )
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--label", default="run")
    parser.add_argument("--log-dir", help="keep the Celery, sandbox and localstripe logs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(args.log_dir) if args.log_dir else Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        result = run(args, log_dir)
    print(json.dumps(save(result, args), indent=2, default=str))


def save(result: Result, args: argparse.Namespace) -> dict[str, Any]:
    report = {"label": args.label, **asdict(result), **result.figures()}
    OUT.mkdir(exist_ok=True)
    (OUT / f"renewal-wave-{args.workers}-{args.label}.json").write_text(
        json.dumps(report, indent=2, default=str)
    )
    return report


if __name__ == "__main__":
    main()
