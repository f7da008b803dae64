"""What the batch tests share (tests/fulfillment/test_batches.py and
tests/faults/test_batch_faults.py): the app with the partners' batch APIs on, per-item batch
faults cleared after each test, and two small readers. Import the fixtures by name."""

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from extensions import db
from fulfillment.models import FulfillmentItem
from tests.fulfillment.conftest import fulfillment_config


@pytest.fixture
def app_config(sandbox, localstripe) -> dict[str, Any]:
    return fulfillment_config(sandbox, localstripe) | {"PARTNER_BATCH_APIS": ["telco", "insurer"]}


@pytest.fixture(autouse=True)
def _no_item_faults(sandbox) -> Iterator[None]:
    yield
    requests.post(sandbox.url("/_batch_faults"), json={}, timeout=10).raise_for_status()


def items(method: str | None = None) -> list[FulfillmentItem]:
    query = select(FulfillmentItem).order_by(FulfillmentItem.id)
    if method:
        query = query.where(FulfillmentItem.method == method)
    return list(db.session.scalars(query))


def count_rows(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))
