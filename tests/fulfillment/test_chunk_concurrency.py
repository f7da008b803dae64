"""Chunks share a wave: 8 threads run chunk jobs whose item lists overlap (each item is in two
chunks), drawing 2,400 parts from 2,000 codes with one claim of codes per chunk. Items another
chunk holds are skipped (``SKIP LOCKED`` on PostgreSQL; SQLite's writers take turns), so every
code goes to one item, every item gets at most one code, and 400 wait for a refill."""

import queue
import random
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bundles.models import Bundle, BundlePart, PoolCode, PoolCodeStatus
from extensions import db
from fulfillment import services
from fulfillment.batches import chunks
from fulfillment.models import FulfillmentEvent, FulfillmentItem, IssuedCode, ItemStatus
from fulfillment.services import start_fulfillment
from tests.fulfillment.support import add_pool_codes, make_combofit, make_paid_order, make_workers

CODES, THREADS, PARTS, CHUNK = 2_000, 8, 2_400, 150


def _run_chunk(item_ids: list[int]) -> None:
    claimed, reconcile = chunks.note_chunk(item_ids)
    db.session.commit()
    chunks.run_chunk(claimed, reconcile)
    db.session.commit()


@pytest.mark.slow
def test_overlapping_chunks_issue_each_code_once_and_each_part_once(app, monkeypatch):
    monkeypatch.setattr(services, "enqueue_items", lambda ids, **_: None)  # the threads work
    combo = make_combofit(codes=0)
    add_pool_codes(combo.health, CODES)
    vouchers = Bundle(
        slug="chunk-vouchers",
        name="Vouchers",
        is_published=True,
        parts=[BundlePart(offer_id=combo.health.id, quantity=1)],
    )
    db.session.add(vouchers)
    db.session.commit()
    start_fulfillment(make_paid_order(vouchers, make_workers(PARTS)))
    db.session.commit()
    db.session.expunge_all()
    ids = list(db.session.scalars(select(FulfillmentItem.id).order_by(FulfillmentItem.id)))
    todo: queue.Queue[list[int]] = queue.Queue()
    rng = random.Random(17)
    for copy in range(2):  # every item in two chunks, in a different order
        shuffled = ids[:] if copy == 0 else rng.sample(ids, len(ids))
        for start in range(0, len(shuffled), CHUNK):
            todo.put(shuffled[start : start + CHUNK])
    errors: list[BaseException] = []
    start_together = threading.Barrier(THREADS)

    def worker() -> None:
        start_together.wait()
        while True:
            try:
                chunk = todo.get_nowait()
            except queue.Empty:
                return
            with app.app_context():
                try:
                    _run_chunk(chunk)
                except OperationalError:  # busy: the job would run again
                    db.session.rollback()
                    todo.put(chunk)
                except BaseException as error:
                    db.session.rollback()
                    errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

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
