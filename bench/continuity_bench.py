"""Benchmark: the nightly continuity run (stage flags + lapse alerts) over 100,000 coverages.

    .venv/bin/python -m bench.continuity_bench [--coverages 100000] [--database-url URL]
        [--pgbench-seconds 20] [--record]

Seeds 100,000 workers, each with one Coverage bought by one of 2,000 sponsors, the cover ending
on month ends spread over 18 months around the benchmark day, then runs
``sponsorship.continuity.nightly.run_nightly`` as beat or cron would on the days 14, 7 and 1
days before one cohort's cover lapses, and once more on the 14-day day (a repeated run must
send nothing).
Reports each run's time, SQL statements and messages written; the tracemalloc peak of one run
(the 7-day run, traced separately: tracemalloc slows what it traces) and the process's max RSS
(it includes seeding). Message delivery is Celery's job after the commit: here the delivery tasks
are only counted, not run. Baseline in the same run: ``pgbench`` (TPC-B-like, scale 10, 8
clients) on the same PostgreSQL server. ``--record`` writes bench/README.md (its section only).
"""

import argparse
import json
import resource
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import event, func, insert, select

from accounts.models import Role, User
from app import create_app
from bench.common import bench_config, write_section
from bench.fulfillment_bench import README, machine, pgbench_tps
from bundles.models import Bundle, BundlePart, FulfillmentMethod, Offer, OfferKind, Partner
from core.dates import add_months, first_of_month, month_end
from extensions import db, utcnow
from messaging.models import Message
from sponsorship.checkout.models import Order, OrderLine, OrderStatus
from sponsorship.continuity.nightly import run_nightly
from workers.models import Coverage, Worker

SECTION = "## Continuity: the nightly lapse-alert run over 100,000 coverages (sponsorship)"
COHORT_END = date(2027, 3, 31)  # the cohort whose alerts the runs send
SPONSORS = 2_000
CHUNK = 5_000
OCCUPATIONS = ("farmer", "market_trader", "ojek_online", "fisher", "domestic_worker")


@dataclass
class RunFigures:
    label: str
    today: date
    seconds: float
    statements: int
    flagged: int
    messages: int


@dataclass
class Result:
    coverages: int
    seed_s: float = 0.0
    runs: list[RunFigures] = field(default_factory=list)
    traced_peak_mb: float = 0.0
    max_rss_mb: float = 0.0
    pgbench_tps: float = 0.0
    stages: dict[str, int] = field(default_factory=dict)
    delivery_tasks: int = 0


@contextmanager
def counting() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2][:60])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _bundle() -> Bundle:
    user = User(role=Role.PARTNER, email="fita@bench.test", display_name="Fita")
    partner = Partner(user=user, name="Fita", kind="health_app", status="approved")
    offer = Offer(
        partner=partner,
        kind=OfferKind.HEALTH_APP,
        name_id="Aplikasi sehat",
        name_en="Health app",
        unit_price_idr=25_000,
        fulfillment_method=FulfillmentMethod.CODE_POOL,
    )
    bundle = Bundle(slug="paket-bench", name="Paket", is_published=True)
    bundle.parts.append(BundlePart(offer=offer, quantity=1))
    db.session.add(bundle)
    db.session.flush()
    return bundle


def seed(count: int) -> None:
    """``count`` workers with one coverage each, in bulk INSERTs with explicit ids."""
    bundle = _bundle()
    now = utcnow()
    db.session.execute(
        insert(User),
        [
            {
                "id": 1_000 + n,
                "role": Role.SPONSOR,
                "display_name": f"Sponsor {n}",
                "email": f"sponsor{n}@bench.test",
                "created_at": now,
            }
            for n in range(SPONSORS)
        ],
    )
    lines_per_order = max(1, count // SPONSORS)
    db.session.execute(
        insert(Order),
        [
            {
                "id": n + 1,
                "reference": f"PY-B{n:06d}",
                "sponsor_id": 1_000 + n % SPONSORS,
                "status": OrderStatus.FULFILLED,
                "total_idr": 0,
                "created_at": now,
            }
            for n in range(count // lines_per_order + 1)
        ],
    )
    first_end = add_months(first_of_month(COHORT_END), -9)  # cover ends spread over 18 months
    for start in range(0, count, CHUNK):
        workers, lines, coverages = [], [], []
        for n in range(start, min(count, start + CHUNK)):
            ends_on = month_end(add_months(first_end, n % 18))
            months = (1, 3, 6, 12)[n % 4]
            starts_on = add_months(first_of_month(ends_on), 1 - months)
            workers.append(
                {
                    "id": n + 1,
                    "full_name": f"Pekerja Bench {n}",
                    "occupation": OCCUPATIONS[n % len(OCCUPATIONS)],
                    "province_code": "32",
                    "regency": "Kab. Bogor",
                    "gender": "female",
                    "birth_date": date(1990, 5, 12),
                    "phone_e164": f"+62857{n:08d}",
                    "is_listed": True,
                    "covered_until": ends_on,
                    "needs_cover_from": ends_on + timedelta(days=1),
                }
            )
            lines.append(
                {
                    "id": n + 1,
                    "order_id": n // lines_per_order + 1,
                    "worker_id": n + 1,
                    "bundle_id": bundle.id,
                    "months": months,
                    "first_month": starts_on,
                    "total_idr": 16_800 * months,
                }
            )
            coverages.append(
                {
                    "worker_id": n + 1,
                    "order_line_id": n + 1,
                    "programmes": ["JKK", "JKM"],
                    "months": months,
                    "starts_on": starts_on,
                    "ends_on": ends_on,
                }
            )
        db.session.execute(insert(Worker), workers)
        db.session.execute(insert(OrderLine), lines)
        db.session.execute(insert(Coverage), coverages)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")


def timed_run(label: str, today: date, *, traced: bool = False) -> tuple[RunFigures, float]:
    before = db.session.scalar(select(func.count()).select_from(Message))
    db.session.commit()
    if traced:
        tracemalloc.start()
    with counting() as statements:
        started = time.perf_counter()
        run = run_nightly(today)
        seconds = time.perf_counter() - started
    peak = 0.0
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
    after = db.session.scalar(select(func.count()).select_from(Message))
    db.session.commit()
    figures = RunFigures(
        label, today, seconds, len(statements), run.flagged_needs_sponsor, after - before
    )
    print(
        f"{label:28} {seconds:6.2f} s {len(statements):5d} statements "
        f"{figures.flagged:6d} flagged {figures.messages:6d} messages"
    )
    return figures, peak


def run(args: argparse.Namespace) -> Result:
    from sponsorship.continuity import lapse_alerts

    result = Result(coverages=args.coverages)
    delivered: list[object] = []
    # Delivery is Celery's job after the commit: count the dispatches instead of running them.
    lapse_alerts.on_commit = delivered.append  # type: ignore[assignment]
    with bench_config(args.database_url) as config:
        app = create_app(config)
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            seed(args.coverages)
            result.seed_s = time.perf_counter() - started
            print(f"seeded {args.coverages:,} coverages in {result.seed_s:.1f} s")
            if args.database_url and args.pgbench_seconds:
                result.pgbench_tps = pgbench_tps(args.database_url, args.pgbench_seconds)
                print(f"pgbench: {result.pgbench_tps:.0f} tps")
            day14 = COHORT_END - timedelta(days=13)
            figures, _ = timed_run("14 days (first run)", day14)
            result.runs.append(figures)
            figures, _ = timed_run("14 days (repeated)", day14)
            result.runs.append(figures)
            figures, peak = timed_run(
                "7 days (tracemalloc)", COHORT_END - timedelta(days=6), traced=True
            )
            result.runs.append(figures)
            result.traced_peak_mb = peak
            figures, _ = timed_run("1 day", COHORT_END)
            result.runs.append(figures)
            from sponsorship.continuity.ledger import stage_counts

            result.stages = {str(k): v for k, v in stage_counts(COHORT_END).items()}
            db.session.remove()
            db.engine.dispose()
    result.delivery_tasks = len(delivered)  # one per committed batch with messages
    result.max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def record(result: Result, args: argparse.Namespace) -> None:
    rows = "\n".join(
        f"| {r.label} | {r.today.isoformat()} | **{r.seconds:.2f} s** | {r.statements} "
        f"| {r.flagged:,} | {r.messages:,} |"
        for r in result.runs
    )
    body = f"""{SECTION}

What: `sponsorship.continuity.nightly.run_nightly` — what Celery beat
(`sponsorship.continuity_nightly`,
07:00 Jakarta) and `flask continuity alerts` run — over {result.coverages:,} workers with one
Coverage each (one of {SPONSORS:,} sponsors; cover ending on month ends spread over 18 months, so
about 1/18 of the workers reach each alert day and a third are in arrears or ended). A run is:
one `UPDATE … RETURNING` flagging workers whose cover ran out as "needs a sponsor"; the lapse
alerts in keyset batches of 1,000 workers (per batch: the batch's ids; two `INSERT … SELECT …
ON CONFLICT DO NOTHING RETURNING` — the workers' alert rows and their latest sponsors' alert
rows, the 14/7/1 threshold computed in SQL; the names, phones and sponsor addresses of the alerts
just taken; one bulk `INSERT` of the messages, 20 rows per statement; one bulk `UPDATE` linking
alerts to messages; commit per batch); one `GROUP BY` of the stages. Runs on the days 14, 7
and 1 days before the cohort ending {COHORT_END.isoformat()} lapses, and the 14-day run again
(it must send nothing). Delivery is Celery's job after each commit; here the
{result.delivery_tasks} dispatches (one per batch with messages) were counted, not run. Memory:
tracemalloc peak of the 7-day run (traced separately; tracemalloc slows it) and the process's
max RSS (includes seeding {result.coverages:,} rows with bulk INSERTs,
{result.seed_s:.0f} s). Baseline in the same run: `pgbench` (TPC-B-like, scale 10, 8 clients,
2 threads, {args.pgbench_seconds} s) on the same server: **{result.pgbench_tps:.0f} tps**.

Command: `.venv/bin/python -m bench.continuity_bench --record` (PostgreSQL at
`{args.database_url}`, in a schema of its own dropped afterwards).

Machine: {machine()}; {date.today().isoformat()}. The load average includes the benchmark
itself; compare the times with the pgbench baseline of the same run.

| run | day | time | SQL statements | flagged "needs a sponsor" | messages written |
|---|---|---|---|---|---|
{rows}

tracemalloc peak (7-day run): **{result.traced_peak_mb:.1f} MiB**; max RSS: {result.max_rss_mb:.0f}
MiB. Stages on {COHORT_END.isoformat()}: {json.dumps(result.stages)}.

Reading it: the first run also flags the seeded backlog (every worker already in arrears or
ended; in daily use only the day's newcomers are flagged). Statements grow with the number of
*due* workers (a fixed handful per batch of 1,000 and one per 20 messages: pages that short
stay in the driver's statement cache), not with the {result.coverages:,} coverages, and memory is
bounded by the batch size. A repeated run finds every alert row taken and writes no message.
"""
    write_section(README, SECTION, body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--coverages", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--pgbench-seconds", type=int, default=20)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    result = run(args)
    print(json.dumps({k: v for k, v in result.__dict__.items() if k != "runs"}, indent=2))
    if args.record:
        record(result, args)


if __name__ == "__main__":
    main()
