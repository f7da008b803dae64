"""Benchmark: uploading 10,000 voucher codes (parse CSV, check, encrypt, bulk insert).

    .venv/bin/python -m bench.pool_upload [--codes 10000] [--database-url URL]

Prints the time of each step and, as a baseline measured in the same run, the time of
inserting the same rows one ORM object at a time.
"""

import argparse
import time
from datetime import date

from sqlalchemy import delete

from app import create_app
from bench.common import bench_config
from bundles.codes.pools import check_code_rows, parse_pool_csv, upload_pool_codes
from bundles.models import FulfillmentMethod, Offer, OfferKind, Partner, PartnerKind, PoolCode
from extensions import db
from vault import digest, encrypt


def _csv(count: int, prefix: str) -> bytes:
    lines = ["code,expires_on"] + [f"{prefix}-{n:08d},2027-12-31" for n in range(count)]
    return ("\n".join(lines) + "\n").encode()


def _offer() -> Offer:
    from accounts.models import Role, User

    user = User(role=Role.PARTNER, email="bench@example.test", display_name="Bench")
    partner = Partner(user=user, name="Bench", kind=PartnerKind.HEALTH_APP, status="approved")
    offer = Offer(
        partner=partner,
        kind=OfferKind.HEALTH_APP,
        name_id="Bench",
        name_en="Bench",
        fulfillment_method=FulfillmentMethod.CODE_POOL,
        premium_days=30,
    )
    db.session.add(offer)
    db.session.commit()
    return offer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--codes", type=int, default=10_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with bench_config(args.database_url) as config:  # PostgreSQL: a schema of its own
        app = create_app(config)
        with app.app_context():
            db.drop_all()
            db.create_all()
            offer = _offer()
            data = _csv(args.codes, "BENCH")

            started = time.perf_counter()
            cells = parse_pool_csv(data)
            parsed = time.perf_counter()
            rows = check_code_rows(cells, today=date(2026, 11, 25))
            checked = time.perf_counter()
            upload_pool_codes(offer, rows, filename="bench.csv")
            db.session.commit()
            done = time.perf_counter()
            print(f"codes: {args.codes:,} on {db.engine.dialect.name}")
            print(f"parse CSV        {parsed - started:7.3f} s")
            print(f"check rows       {checked - parsed:7.3f} s")
            print(f"encrypt+insert   {done - checked:7.3f} s")
            print(f"total            {done - started:7.3f} s")

            db.session.execute(delete(PoolCode))
            db.session.commit()
            started = time.perf_counter()
            for row in rows:
                db.session.add(
                    PoolCode(
                        offer_id=offer.id,
                        code_encrypted=encrypt(row.code),
                        code_digest=digest(row.code, purpose="pool_code"),
                        expires_on=row.expires_on,
                    )
                )
            db.session.commit()
            print(f"baseline: one ORM object per code  {time.perf_counter() - started:7.3f} s")
            db.drop_all()
            db.engine.dispose()


if __name__ == "__main__":
    main()
