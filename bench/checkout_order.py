"""Benchmark: one order covering 10,000 workers — put in the cart, checked, priced, written.

    .venv/bin/python -m bench.checkout_order [--workers 10000] [--database-url URL]

Prints the time of each step, the SQL statements they took, the tracemalloc peak of building
and pricing the order, and the process RSS. Baseline in the same run: pricing the first 1,000
lines one by one with ``bundles.pricing.price_line`` (the per-line API, which loads the dues
tables for every line), instead of the checkout's memoised pricing.
"""

import argparse
import resource
import time
import tracemalloc
from contextlib import contextmanager
from datetime import date

from sqlalchemy import event, insert, select

from accounts.models import Role, User
from app import create_app
from bench.common import bench_config
from bundles.codes.pools import DIGEST_PURPOSE
from bundles.dues.data import ensure_default_dues_data
from bundles.models import (
    Bundle,
    BundlePart,
    FulfillmentMethod,
    Offer,
    OfferKind,
    Partner,
    PartnerKind,
    PoolCode,
)
from bundles.pricing import price_line
from extensions import db, utcnow
from sponsorship.checkout.cart import add_to_cart
from sponsorship.checkout.services import place_order
from vault import digest, encrypt
from workers.models import Worker

TODAY = date(2026, 11, 10)
OCCUPATIONS = ("farmer", "market_trader", "ojek_online", "fisher", "domestic_worker")


def _catalog(codes: int) -> tuple[User, Bundle]:
    def partner(name: str, kind: PartnerKind) -> Partner:
        user = User(role=Role.PARTNER, email=f"{name}@bench.test", display_name=name)
        return Partner(user=user, name=name, kind=kind, status="approved")

    dues = Offer(
        partner=partner("insurer", PartnerKind.INSURER),
        kind=OfferKind.INSURANCE_DUES,
        name_id="Iuran JKK+JKM",
        name_en="Dues JKK+JKM",
        fulfillment_method=FulfillmentMethod.DUES_REMITTANCE,
        income_idr=1_000_000,
    )
    app_offer = Offer(
        partner=partner("fita", PartnerKind.HEALTH_APP),
        kind=OfferKind.HEALTH_APP,
        name_id="Fita Premium",
        name_en="Fita Premium",
        unit_price_idr=25_000,
        fulfillment_method=FulfillmentMethod.CODE_POOL,
    )
    bundle = Bundle(slug="bench", name="Bench", is_published=True, platform_fee_idr=1_000)
    bundle.parts = [BundlePart(offer=dues), BundlePart(offer=app_offer)]
    sponsor = User(role=Role.SPONSOR, email="sponsor@bench.test", display_name="CSR")
    db.session.add_all([bundle, sponsor])
    db.session.commit()
    rows = [
        {
            "offer_id": app_offer.id,
            "code_encrypted": encrypt(f"C{n}"),
            "code_digest": digest(f"C{n}", purpose=DIGEST_PURPOSE),
        }
        for n in range(codes)
    ]
    db.session.execute(insert(PoolCode), rows)
    ensure_default_dues_data()
    db.session.commit()
    return sponsor, bundle


def _workers(count: int) -> list[int]:
    now = utcnow()
    rows = [
        {
            "full_name": f"Pekerja Bench {n}",
            "occupation": OCCUPATIONS[n % len(OCCUPATIONS)],
            "province_code": "32",
            "regency": "Kab. Bogor",
            "gender": "female",
            "birth_date": date(1985, 1, 1),
            "phone_e164": f"+62812{n:08d}",
            "is_listed": True,
            "insurer_consent_at": now,
            "listing_consent_at": now,
            # One worker in four is already covered: their months are appended.
            "covered_until": date(2027, 1, 31) if n % 4 == 0 else None,
            "needs_cover_from": TODAY,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]
    for start in range(0, count, 2_000):
        db.session.execute(insert(Worker), rows[start : start + 2_000])
    db.session.commit()
    return list(db.session.scalars(select(Worker.id).order_by(Worker.id)))


@contextmanager
def counting():
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement[:70])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with bench_config(args.database_url) as config:
        url = config["DATABASE_URL"]
        app = create_app(config)
        with app.app_context():
            db.create_all()
            sponsor, bundle = _catalog(args.workers)
            ids = _workers(args.workers)
            print(f"{args.workers} workers × dues + health app × 3 months on {url.split(':')[0]}")
            print(f"RSS before: {rss_mib():.0f} MiB")

            with counting() as statements:
                started = time.perf_counter()
                add_to_cart(sponsor, ids, bundle_id=bundle.id, months=3)
                db.session.commit()
                carted = time.perf_counter()
            print(f"fill the cart:       {carted - started:6.2f} s {len(statements)} statements")

            with counting() as statements:
                started = time.perf_counter()
                order = place_order(sponsor, today=TODAY)
                db.session.commit()
                built = time.perf_counter()
            print(f"check, price, write: {built - started:6.2f} s {len(statements):4d} statements")
            print(f"  {order.reference}: {order.worker_count} workers, Rp{order.total_idr:,}")

            # Memory on a second, identical order (tracemalloc slows the code it traces).
            add_to_cart(sponsor, ids, bundle_id=bundle.id, months=3)
            db.session.commit()
            tracemalloc.start()
            place_order(sponsor, today=TODAY)
            db.session.commit()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"tracemalloc peak:     {peak / 2**20:6.1f} MiB")
            print(f"RSS after (max):      {rss_mib():6.0f} MiB")

            # Baseline: the per-line pricing API for the first 1,000 workers.
            workers = db.session.scalars(select(Worker).order_by(Worker.id).limit(1_000)).all()
            started = time.perf_counter()
            for worker in workers:
                price_line(
                    bundle,
                    worker=worker,
                    months=3,
                    first_month=date(2026, 11, 1),
                    payer_kind="person",
                )
            baseline = time.perf_counter() - started
            print(
                f"baseline: price_line one by one, 1,000 lines: {baseline:.2f} s"
                f" (≈ {baseline * args.workers / 1_000:.1f} s for {args.workers})"
            )


if __name__ == "__main__":
    main()
