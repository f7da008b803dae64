"""No pool code is ever issued twice: 8 allocators in parallel threads, each with its own
database session (file SQLite, or the PostgreSQL schema), draw 2,400 times from 2,000 codes."""

import queue
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bundles.models import Bundle, BundlePart, PoolCode, PoolCodeStatus
from extensions import db
from fulfillment import services
from fulfillment.models import FulfillmentItem, IssuedCode, ItemStatus
from fulfillment.services import attempt_item, start_fulfillment
from tests.fulfillment.support import (
    add_pool_codes,
    make_combofit,
    make_paid_order,
    make_workers,
)

CODES, ALLOCATORS, REQUESTS = 2_000, 8, 2_400


@pytest.mark.slow
def test_2400_draws_from_2000_codes_by_8_allocators_issue_each_code_once(app, monkeypatch):
    monkeypatch.setattr(services, "enqueue_items", lambda ids: None)  # the threads do the work
    combo = make_combofit(codes=0)
    add_pool_codes(combo.health, CODES)
    vouchers = Bundle(
        slug="vouchers",
        name="Vouchers",
        is_published=True,
        parts=[BundlePart(offer_id=combo.health.id, quantity=1)],
    )
    db.session.add(vouchers)
    db.session.commit()
    start_fulfillment(make_paid_order(vouchers, make_workers(REQUESTS)))
    db.session.commit()
    db.session.expunge_all()
    todo: queue.Queue[int] = queue.Queue()
    for item_id in db.session.scalars(select(FulfillmentItem.id)):
        todo.put(item_id)
    errors: list[BaseException] = []
    busy: list[int] = []
    start = threading.Barrier(ALLOCATORS)

    def allocator() -> None:
        start.wait()
        while True:
            try:
                item_id = todo.get_nowait()
            except queue.Empty:
                return
            with app.app_context():  # a fresh session per draw, as each Celery task has
                try:
                    attempt_item(item_id)
                    db.session.commit()
                except OperationalError:  # the database was busy: the sweeper would rerun it
                    db.session.rollback()
                    busy.append(item_id)
                    todo.put(item_id)
                except BaseException as error:
                    db.session.rollback()
                    errors.append(error)

    threads = [threading.Thread(target=allocator) for _ in range(ALLOCATORS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(busy) < REQUESTS // 100  # rare, and harmless: the draw simply runs again

    def count(*where, model=FulfillmentItem):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    assert count(FulfillmentItem.status == ItemStatus.ISSUED) == CODES
    out_of_stock = count(
        FulfillmentItem.status == ItemStatus.RETRYING,
        FulfillmentItem.last_error.like("out_of_stock%"),
    )
    assert out_of_stock == REQUESTS - CODES
    assert count(model=IssuedCode) == CODES
    assert db.session.scalar(select(func.count(func.distinct(IssuedCode.pool_code_id)))) == CODES
    assert db.session.scalar(select(func.count(func.distinct(IssuedCode.item_id)))) == CODES
    assert count(PoolCode.status == PoolCodeStatus.ISSUED, model=PoolCode) == CODES
    assert count(PoolCode.status == PoolCodeStatus.AVAILABLE, model=PoolCode) == 0
