"""Chunks share a wave: 8 threads run chunk jobs whose item lists overlap (each item is in two
chunks), drawing 2,400 parts from 2,000 codes with one claim of codes per chunk. Items another
chunk holds are skipped (``SKIP LOCKED`` on PostgreSQL; SQLite's writers take turns), so every
code goes to one item, every item gets at most one code, and 400 wait for a refill."""

import random

import pytest
from sqlalchemy import func, select

from bundles.models import PoolCode, PoolCodeStatus
from extensions import db
from fulfillment import services
from fulfillment.batches import chunks
from fulfillment.models import FulfillmentEvent, FulfillmentItem, IssuedCode, ItemStatus
from tests.fulfillment.concurrency_support import race, voucher_order_items

CODES, THREADS, PARTS, CHUNK = 2_000, 8, 2_400, 150


def _run_chunk(item_ids: list[int]) -> None:
    claimed, reconcile = chunks.note_chunk(item_ids)
    db.session.commit()
    chunks.run_chunk(claimed, reconcile)


@pytest.mark.slow
def test_overlapping_chunks_issue_each_code_once_and_each_part_once(app, monkeypatch):
    monkeypatch.setattr(services, "enqueue_items", lambda ids, **_: None)  # the threads work
    ids = voucher_order_items(slug="chunk-vouchers", codes=CODES, parts=PARTS)
    jobs: list[list[int]] = []
    rng = random.Random(17)
    for copy in range(2):  # every item in two chunks, in a different order
        shuffled = ids[:] if copy == 0 else rng.sample(ids, len(ids))
        jobs += [shuffled[start : start + CHUNK] for start in range(0, len(shuffled), CHUNK)]
    race(app, jobs, THREADS, _run_chunk)

    def count(*where, model=FulfillmentItem):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    assert count(FulfillmentItem.status == ItemStatus.ISSUED) == CODES
    assert count(FulfillmentItem.status == ItemStatus.RETRYING) == PARTS - CODES
    assert count(model=IssuedCode) == CODES
    assert db.session.scalar(select(func.count(func.distinct(IssuedCode.pool_code_id)))) == CODES
    assert db.session.scalar(select(func.count(func.distinct(IssuedCode.item_id)))) == CODES
    assert count(PoolCode.status == PoolCodeStatus.ISSUED, model=PoolCode) == CODES
    assert count(PoolCode.status == PoolCodeStatus.AVAILABLE, model=PoolCode) == 0
    # One ISSUED event per issued part: no part was issued by two chunks.
    issued_events = count(
        FulfillmentEvent.to_status == ItemStatus.ISSUED,
        FulfillmentEvent.from_status != ItemStatus.ISSUED,
        model=FulfillmentEvent,
    )
    assert issued_events == CODES
