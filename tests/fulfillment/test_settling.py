"""Lines settled in bulk on every path, not only in chunks: the sweeper gives all the settled
lines it finds their codes with one INSERT of messages, one of codes and one delivery job, and
a single attempt's line goes through the same bulk functions. Exactly once: settling a line
again, or in a transaction that rolls back, makes no second code, message or job."""

from typing import Any

import pytest
from sqlalchemy import select, update

import jobs
from extensions import db, utcnow
from fulfillment import sweeper
from fulfillment.models import ClaimCode, FulfillmentItem, ItemStatus
from fulfillment.services import settle_line, start_fulfillment
from messaging.delivery import DELIVER_MANY_TASK
from messaging.models import Message
from sponsorship.checkout.models import OrderLine
from tests.fulfillment.batch_support import count_rows
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {}  # no partner is called: the parts are marked issued by the test


@pytest.fixture
def sent_jobs(monkeypatch) -> list[tuple[str, tuple]]:
    """The jobs enqueued (after their commit), by task name, instead of running them."""
    sent: list[tuple[str, tuple]] = []

    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name

        def delay(self, *args: object) -> None:
            sent.append((self.name, args))

        def apply_async(self, args: tuple, **_options: object) -> None:
            sent.append((self.name, tuple(args)))

    monkeypatch.setattr(jobs, "task", Recorder)
    return sent


def _issued_lines(workers: int) -> list[int]:
    """An order whose parts were all issued, but whose lines have no claim code yet (the
    attempt that settled them crashed before it could)."""
    combo = make_combofit(codes=1)
    order = make_paid_order(combo.bundle, make_workers(workers))
    start_fulfillment(order)
    db.session.execute(
        update(FulfillmentItem)
        .where(FulfillmentItem.order_id == order.id)
        .values(status=ItemStatus.ISSUED, issued_at=utcnow(), settled_at=utcnow())
    )
    db.session.commit()
    return list(
        db.session.scalars(
            select(OrderLine.id).where(OrderLine.order_id == order.id).order_by(OrderLine.id)
        )
    )


def _deliveries(sent: list[tuple[str, tuple]]) -> list[list[int]]:
    return [list(args[0]) for name, args in sent if name == DELIVER_MANY_TASK]


def test_the_sweeper_settles_all_its_lines_with_one_insert_each_and_one_delivery_job(
    app, sent_jobs, count_queries
):
    lines = _issued_lines(7)
    sent_jobs.clear()
    with count_queries() as statements:
        report = sweeper.sweep()
    inserts = [s for s in statements if s.lstrip().startswith("INSERT")]
    assert _deliveries(sent_jobs) == []  # nothing before the commit
    db.session.commit()

    assert report.claim_codes_sent == 7
    codes = db.session.scalars(select(ClaimCode).order_by(ClaimCode.order_line_id)).all()
    assert [c.order_line_id for c in codes] == lines
    assert len({c.message_id for c in codes}) == 7
    [delivery] = _deliveries(sent_jobs)
    assert sorted(delivery) == sorted(c.message_id for c in codes)
    if db.engine.dialect.name == "postgresql":  # SQLite inserts RETURNING rows one by one
        assert sum("INTO messages" in s for s in inserts) == 1
        assert sum("INTO claim_codes" in s for s in inserts) == 1

    sent_jobs.clear()
    again = sweeper.sweep()
    db.session.commit()
    assert again.claim_codes_sent == 0
    assert count_rows(ClaimCode) == 7 and count_rows(Message) == 7
    assert _deliveries(sent_jobs) == []


def test_a_single_attempts_line_gets_its_code_once_through_the_bulk_path(app, sent_jobs):
    [line_id] = _issued_lines(1)
    sent_jobs.clear()
    settle_line(line_id, now=utcnow())
    db.session.rollback()  # the attempt's transaction failed: no code, no message, no job
    assert count_rows(ClaimCode) == 0 and count_rows(Message) == 0
    assert _deliveries(sent_jobs) == []

    claim = settle_line(line_id, now=utcnow())
    db.session.commit()
    assert claim is not None
    assert _deliveries(sent_jobs) == [[claim.message_id]]

    assert settle_line(line_id, now=utcnow()) is None  # a retry of the attempt
    db.session.commit()
    assert count_rows(ClaimCode) == 1 and count_rows(Message) == 1
    assert len(_deliveries(sent_jobs)) == 1
