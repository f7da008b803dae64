"""The load run's data (``bench.load_run``, ``bench.page_profile --claims``): workers, two
ComboFit bundles and a paid order seeded once (a kept schema is reused as it is), and fresh
claimable codes for every run."""

import time
import urllib.parse
from pathlib import Path

from sqlalchemy import delete, func, insert, select, update

from accounts.models import OneTimeCode
from bench.directory_bench import seed
from bundles.dues.data import ensure_default_dues_data
from bundles.models import Bundle
from extensions import db, utcnow
from fulfillment.claims.codes import generate_claim_code
from fulfillment.claims.services import claim_digest
from fulfillment.models import ClaimCode
from sponsorship.checkout.models import OrderLine
from tests.fulfillment.support import make_combofit, make_paid_order
from workers.models import Worker


def seed_all(workers: int, codes: int, codes_file: Path) -> tuple[list[str], float]:
    """Workers, bundles and a paid order for ``codes`` workers, unless a kept schema already
    holds them; then fresh claimable codes. Returns the bundle slugs and the seconds taken."""
    started = time.perf_counter()
    if not db.session.scalar(select(func.count()).select_from(Worker)):
        seed(workers)
        ensure_default_dues_data()
        bundles = [make_combofit(codes=200).bundle for _ in range(2)]
        holders = db.session.scalars(select(Worker).order_by(Worker.id).limit(codes)).all()
        make_paid_order(bundles[0], holders)
        db.session.commit()
    slugs = list(db.session.scalars(select(Bundle.slug).order_by(Bundle.id)))
    issue_codes(codes_file)
    return slugs, time.perf_counter() - started


def issue_codes(codes_file: Path) -> None:
    """A new unclaimed code for every order line (the old ones replaced), written to
    ``codes_file``: a kept schema's codes were posted by the run before. The one-time codes
    sent by that run are spent too, or a claim within their lifetime would send no SMS."""
    db.session.execute(delete(ClaimCode))
    db.session.execute(
        update(OneTimeCode).where(OneTimeCode.consumed_at.is_(None)).values(consumed_at=utcnow())
    )
    lines = db.session.execute(select(OrderLine.id, OrderLine.worker_id)).all()
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
    codes_file.parent.mkdir(parents=True, exist_ok=True)  # bench/out is not in a fresh clone
    codes_file.write_text("\n".join(plain) + "\n")
