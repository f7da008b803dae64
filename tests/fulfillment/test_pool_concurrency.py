"""No pool code is ever issued twice: 8 allocators in parallel threads, each with its own
database session (file SQLite, or the PostgreSQL schema), draw 2,400 times from 2,000 codes."""

import pytest
from sqlalchemy import func, select

from bundles.models import PoolCode, PoolCodeStatus
from extensions import db
from fulfillment import services
from fulfillment.models import FulfillmentItem, IssuedCode, ItemStatus
from fulfillment.services import attempt_item
from tests.fulfillment.concurrency_support import race, voucher_order_items

CODES, ALLOCATORS, REQUESTS = 2_000, 8, 2_400


@pytest.mark.slow
def test_2400_draws_from_2000_codes_by_8_allocators_issue_each_code_once(app, monkeypatch):
    monkeypatch.setattr(services, "enqueue_items", lambda ids: None)  # the threads do the work
    items = voucher_order_items(slug="vouchers", codes=CODES, parts=REQUESTS)
    busy = race(app, items, ALLOCATORS, attempt_item)
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
