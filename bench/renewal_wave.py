"""The core of the renewal wave benchmark, also run at tiny size by a test (so it cannot rot).

- ``seed_wave(workers, stripe)``: a ComboFit catalog (pool codes, BPJS dues, Telkomsel data),
  sponsors of mixed sizes (``sponsor_sizes``: a few companies with thousands of workers, small
  firms, many individuals with a few), each with a Stripe customer and a saved card at
  localstripe, and one active renewal plan per worker whose cover ends on the same day.
- ``Meter``: time, SQL statements and Stripe HTTP calls per phase of the run (claim + orders,
  charges), counted in this process by wrapping the run's steps.
- ``verify_wave``: nothing lost or doubled — every plan one attempt for the period, one paid
  order with one succeeded payment, every part issued once, the cover grown, each partner
  effect once, one succeeded charge per order at localstripe.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import stripe
from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import Engine

from accounts.models import Role, User
from core.dates import add_months, first_of_month, jakarta_today, month_end
from extensions import db, utcnow
from fulfillment.models import FulfillmentItem, ItemStatus
from sponsorship.checkout.models import (
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
    StripeCustomer,
)
from sponsorship.continuity.renewals import run as renewal_run
from sponsorship.continuity.renewals.models import (
    AttemptStatus,
    PlanStatus,
    RenewalAttempt,
    RenewalPlan,
)
from tests.fulfillment.support import ComboFit, make_combofit, worker_fields
from tests.stripe_support import CARD_SUCCEEDS, LocalStripe
from workers.models import Worker

# Cover that ends two months ahead of the real today (the renewal orders' prices hold until the
# period's due date, so they must be payable now); the wave runs on the charge day.
COVERED_UNTIL = month_end(add_months(first_of_month(jakarta_today()), 2))
CHARGE_DAY = COVERED_UNTIL - timedelta(days=6)  # RENEWAL_DAYS_BEFORE_LAPSE = 7
PERIOD = add_months(first_of_month(COVERED_UNTIL), 1)
PARTS_PER_WORKER = 3  # ComboFit: a Fita code, BPJS dues, Telkomsel data
CHUNK = 5_000


def sponsor_sizes(workers: int) -> list[tuple[str, int]]:
    """``(kind, workers)`` per sponsor: 40 % in 5 companies, 40 % in firms of 20, the rest
    individuals with 2 each (100,000 workers: 5 × 8,000, 2,000 × 20, 10,000 × 2)."""
    sizes: list[tuple[str, int]] = []
    companies = workers * 2 // 5
    firms = workers * 2 // 5
    for n in range(5):
        share = companies // 5 + (1 if n < companies % 5 else 0)
        if share:
            sizes.append(("company", share))
    sizes += [("firm", 20)] * (firms // 20)
    if firms % 20:
        sizes.append(("firm", firms % 20))
    rest = workers - sum(size for _kind, size in sizes)
    sizes += [("person", 2)] * (rest // 2)
    if rest % 2:
        sizes.append(("person", 1))
    return sizes


def _nik(n: int) -> tuple[str, date]:
    """A NIK the insurer sandbox's civil registry accepts, unique for n < 8 million, and the
    birth date it encodes (a woman born on 12 May)."""
    serial = n % 9999 + 1
    district = (n // 9999) % 90 + 1
    year = 90 + (n // (9999 * 90)) % 9
    return f"3201{district:02d}5205{year:02d}{serial:04d}", date(1900 + year, 5, 12)


@dataclass
class Seeded:
    combo: ComboFit
    workers: int
    sponsors: int
    plan_ids: list[int]


def seed_wave(workers: int, localstripe: LocalStripe, *, threads: int = 4) -> Seeded:
    """Everything the wave needs, committed: catalog, sponsors with a saved card each,
    workers covered until COVERED_UNTIL, one active plan per worker (1 month each)."""
    combo = make_combofit(codes=workers)
    sizes = sponsor_sizes(workers)
    now = utcnow()
    sponsor_ids = list(
        db.session.scalars(
            insert(User).returning(User.id),
            [
                {
                    "role": Role.SPONSOR,
                    "email": f"wave{n}@bench.test",
                    "display_name": f"PT Gelombang {n}" if kind == "company" else f"Ibu {n}",
                    "created_at": now,
                }
                for n, (kind, _size) in enumerate(sizes)
            ],
        )
    )
    cards = _saved_cards(localstripe, sponsor_ids, threads=threads)
    db.session.execute(
        insert(StripeCustomer),
        [
            {"user_id": sponsor_id, "customer_id": customer, "created_at": now}
            for sponsor_id, (customer, _pm) in cards.items()
        ],
    )
    owners = [
        (sponsor_id, kind)
        for sponsor_id, (kind, size) in zip(sponsor_ids, sizes, strict=True)
        for _ in range(size)
    ]
    plan_ids: list[int] = []
    for start in range(0, workers, CHUNK):
        rows = []
        for n in range(start, min(workers, start + CHUNK)):
            nik, born = _nik(n)
            rows.append(
                worker_fields(
                    n,
                    nik=nik,
                    birth_date=born,
                    phone_e164=f"+62812{n:08d}",
                    covered_until=COVERED_UNTIL,
                    needs_cover_from=COVERED_UNTIL + timedelta(days=1),
                    needs_sponsor=False,
                )
            )
        worker_ids = list(db.session.scalars(insert(Worker).returning(Worker.id), rows))
        plans = []
        for worker_id, (sponsor_id, kind) in zip(
            worker_ids, owners[start : start + CHUNK], strict=True
        ):
            plans.append(
                {
                    "sponsor_id": sponsor_id,
                    "worker_id": worker_id,
                    "bundle_id": combo.bundle.id,
                    "months": 1,
                    "payer_kind": "company" if kind == "company" else "person",
                    "dropped_offer_ids": [],
                    "status": PlanStatus.ACTIVE,
                    "payment_method_id": cards[sponsor_id][1],
                    "card_setups": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        plan_ids += db.session.scalars(insert(RenewalPlan).returning(RenewalPlan.id), plans)
    db.session.commit()
    return Seeded(combo=combo, workers=workers, sponsors=len(sizes), plan_ids=plan_ids)


def _saved_cards(
    localstripe: LocalStripe, sponsor_ids: list[int], *, threads: int
) -> dict[int, tuple[str, str]]:
    """A customer and a saved, attached card per sponsor at localstripe (as the card page
    leaves them): ``{sponsor_id: (customer_id, payment_method_id)}``."""

    def one(sponsor_id: int) -> tuple[int, tuple[str, str]]:
        customer = localstripe.request(
            "POST", "/v1/customers", {"email": f"wave{sponsor_id}@bench.test"}
        )["id"]
        method = localstripe.request(
            "POST",
            "/v1/payment_methods",
            {
                "type": "card",
                "card": {
                    "number": CARD_SUCCEEDS,
                    "exp_month": 12,
                    "exp_year": date.today().year + 3,
                    "cvc": "123",
                },
            },
        )["id"]
        localstripe.request("POST", f"/v1/payment_methods/{method}/attach", {"customer": customer})
        return sponsor_id, (customer, method)

    with ThreadPoolExecutor(threads) as pool:
        return dict(pool.map(one, sponsor_ids))


# --- measuring the run -------------------------------------------------------------------------


@dataclass
class Meter:
    """Seconds, SQL statements and Stripe HTTP calls per phase. Statements are counted in the
    run's thread only (a monitor thread's queries are not); Stripe calls in any thread."""

    seconds: Counter[str] = field(default_factory=Counter)
    statements: Counter[str] = field(default_factory=Counter)
    commits: Counter[str] = field(default_factory=Counter)
    stripe_calls: Counter[str] = field(default_factory=Counter)
    phase: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _since: float = 0.0
    _thread: int = 0

    def switch(self, phase: str | None) -> str | None:
        now = time.perf_counter()
        if self.phase is not None:
            self.seconds[self.phase] += now - self._since
        previous, self.phase, self._since = self.phase, phase, now
        return previous

    def _counting(self) -> bool:
        return self.phase is not None and threading.get_ident() == self._thread

    def on_statement(self, *_args: object) -> None:
        if self._counting():
            self.statements[self.phase] += 1

    def on_commit(self, *_args: object) -> None:
        if self._counting():
            self.commits[self.phase] += 1


# The run's steps, wrapped to time them: name in ``renewal_run`` → phase.
PHASES = {
    "claim_period": "claim + orders",
    "claim_periods": "claim + orders",
    "charge": "charges",
    "charge_claimed": "charges",
}


@contextmanager
def metered(meter: Meter) -> Iterator[None]:
    """Count statements, commits and Stripe calls and time the run's phases while inside."""
    meter._thread = threading.get_ident()
    originals: dict[str, Callable[..., Any]] = {}

    def wrap(name: str, phase: str) -> Callable[..., Any]:
        inner = originals[name]

        def timed(*args: Any, **kwargs: Any) -> Any:
            previous = meter.switch(phase)
            try:
                return inner(*args, **kwargs)
            finally:
                # The commit after a claim belongs to the claim: stay in it until the next step.
                meter.switch(phase if phase == "claim + orders" else previous)

        return timed

    for name, phase in PHASES.items():
        if hasattr(renewal_run, name):
            originals[name] = getattr(renewal_run, name)
            setattr(renewal_run, name, wrap(name, phase))
    request = stripe.RequestsClient.request

    def counted(client: Any, *args: Any, **kwargs: Any) -> Any:
        phase = meter.phase  # any thread: the run makes its Stripe calls a few at a time
        if phase is not None:
            with meter.lock:
                meter.stripe_calls[phase] += 1
        return request(client, *args, **kwargs)

    stripe.RequestsClient.request = counted  # type: ignore[method-assign]
    event.listen(Engine, "before_cursor_execute", meter.on_statement)
    event.listen(Engine, "commit", meter.on_commit)
    meter.switch("claim + orders")
    try:
        yield
    finally:
        meter.switch(None)
        event.remove(Engine, "before_cursor_execute", meter.on_statement)
        event.remove(Engine, "commit", meter.on_commit)
        stripe.RequestsClient.request = request  # type: ignore[method-assign]
        for name, original in originals.items():
            setattr(renewal_run, name, original)


# --- nothing lost or doubled -------------------------------------------------------------------


def item_counts() -> dict[str, int]:
    return {
        str(status): count
        for status, count in db.session.execute(
            select(FulfillmentItem.status, func.count()).group_by(FulfillmentItem.status)
        )
    }


def verify_wave(
    seeded: Seeded, *, sandbox_stats: dict[str, Any], localstripe: LocalStripe | None
) -> dict[str, Any]:
    """What the wave left, and every way it could have lost or doubled something
    (``problems`` is empty when nothing was)."""
    n = seeded.workers
    problems: list[str] = []
    attempts = db.session.execute(
        select(
            func.count(),
            func.count(func.distinct(RenewalAttempt.plan_id)),
            func.count(func.distinct(RenewalAttempt.order_id)),
        ).where(RenewalAttempt.period == PERIOD)
    ).one()
    by_status = dict(
        db.session.execute(
            select(RenewalAttempt.status, func.count()).group_by(RenewalAttempt.status)
        ).all()
    )
    if tuple(attempts) != (n, n, n) or by_status != {AttemptStatus.SUCCEEDED: n}:
        problems.append(f"attempts {tuple(attempts)} by status {by_status}")
    orders = dict(
        db.session.execute(
            select(Order.status, func.count())
            .where(Order.id.in_(select(RenewalAttempt.order_id)))
            .group_by(Order.status)
        ).all()
    )
    if orders != {OrderStatus.FULFILLED: n}:
        problems.append(f"renewal orders by status {orders}")
    lines = db.session.execute(
        select(func.count(), func.count(func.distinct(OrderLine.worker_id))).where(
            OrderLine.first_month == PERIOD
        )
    ).one()
    if tuple(lines) != (n, n):
        problems.append(f"lines for the period / workers {tuple(lines)}")
    payments = db.session.execute(
        select(func.count(), func.count(func.distinct(Payment.order_id))).where(
            Payment.status == PaymentStatus.SUCCEEDED
        )
    ).one()
    if tuple(payments) != (n, n):
        problems.append(f"succeeded payments / orders {tuple(payments)}")
    items = item_counts()
    distinct_parts = db.session.scalar(
        select(func.count(func.distinct(FulfillmentItem.order_line_part_id)))
    )
    if items != {ItemStatus.ISSUED: n * PARTS_PER_WORKER} or distinct_parts != sum(items.values()):
        problems.append(f"items {items}, distinct parts {distinct_parts}")
    covered = db.session.scalar(
        select(func.count()).where(Worker.covered_until == month_end(PERIOD))
    )
    if covered != n:
        problems.append(f"workers covered to the period's end {covered}")
    effects = sandbox_stats.get("effects_by_kind", {})
    wanted = {"insurer.dues": n, "insurer.registration": n, "telco.topup": n}
    if effects != wanted or sandbox_stats.get("duplicate_effects"):
        problems.append(
            f"partner effects {effects}, duplicates {sandbox_stats.get('duplicate_effects')}"
        )
    charges: int | str | None = None
    if localstripe is not None:
        try:
            charges = succeeded_charges(localstripe)
        except OSError as error:  # localstripe lists slowly: every charge scans its store
            charges = f"not counted: {error}"
        else:
            if charges != n:
                problems.append(f"succeeded charges at localstripe {charges}")
    db.session.commit()
    return {
        "attempts": n and attempts[0],
        "orders_fulfilled": orders.get(OrderStatus.FULFILLED, 0),
        "succeeded_payments": payments[0],
        "items": items,
        "partner_effects": effects,
        "duplicate_partner_effects": sandbox_stats.get("duplicate_effects"),
        "localstripe_succeeded_charges": charges,
        "problems": problems,
    }


def succeeded_charges(localstripe: LocalStripe) -> int:
    """Succeeded charges at localstripe, page by page (100 a page)."""
    count, after = 0, None
    while True:
        query = "/v1/charges?limit=100" + (f"&starting_after={after}" if after else "")
        page = localstripe.request("GET", query)
        count += sum(1 for charge in page["data"] if charge["status"] == "succeeded")
        if not page.get("has_more") or not page["data"]:
            return count
        after = page["data"][-1]["id"]
