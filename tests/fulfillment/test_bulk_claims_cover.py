"""A chunk's claim codes and cover written in bulk: ``issue_claim_codes`` and
``workers.coverage.CoverageBatch`` do what the one-line calls do, in a number of statements
that does not grow with the chunk."""

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from extensions import db, utcnow
from fulfillment.claims.services import claim_digest, issue_claim_codes
from fulfillment.models import ClaimCode
from messaging.contacts import stop_messages
from messaging.models import Message, MessageStatus
from messaging.services import REDACTED
from sponsorship.checkout.models import OrderLine
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers
from workers.coverage import CoverageBatch, CoverageError, extend_coverage
from workers.models import Coverage, Worker

CODE = re.compile(r"[0-9A-Z]{4}(?:-[0-9A-Z]{1,4}){4}")


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {}  # models only: no partner is called


def _lines(number: int) -> list[OrderLine]:
    combo = make_combofit(codes=1)
    order = make_paid_order(combo.bundle, make_workers(number))
    return list(
        db.session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)
        )
    )


def test_every_line_gets_its_own_code_and_message_in_a_fixed_number_of_statements(
    app, count_queries
):
    small, large = _lines(2), _lines(7)
    assert all(line.worker_id for line in small + large)  # loaded before counting
    with count_queries() as few:
        issue_claim_codes(small, now=utcnow())
    with count_queries() as many:
        claims = issue_claim_codes(large, now=utcnow())
    db.session.commit()  # the delivery job runs after the commit
    reads = [s for s in many if not s.lstrip().startswith("INSERT")]
    assert len(reads) == len([s for s in few if not s.lstrip().startswith("INSERT")]) <= 4
    if db.engine.dialect.name == "postgresql":  # SQLite inserts rows with RETURNING one by one
        assert len(many) == len(few) == len(reads) + 2
    assert len(claims) == 7
    for line, claim in zip(large, claims, strict=True):
        saved = db.session.scalar(select(ClaimCode).where(ClaimCode.order_line_id == line.id))
        assert saved.id == claim.id and saved.worker_id == line.worker_id
        message = db.session.get(Message, saved.message_id)
        worker = db.session.get(Worker, line.worker_id)
        assert message.recipient == worker.phone_e164 and message.purpose == "claim_code"
        assert message.status == MessageStatus.SENT  # one delivery job sent them all
        code = CODE.search(message.full_body()).group(0)
        assert saved.code_digest == claim_digest(code)  # the code sent is the one kept
        assert code not in message.body and REDACTED in message.body
    assert len({c.code_digest for c in claims}) == 7


def test_a_line_that_already_has_a_code_cannot_get_a_second(app):
    lines = _lines(2)
    issue_claim_codes(lines[:1], now=utcnow())
    db.session.commit()
    with pytest.raises(IntegrityError):
        issue_claim_codes(lines, now=utcnow())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ClaimCode)) == 1


def test_a_number_that_sent_stop_still_gets_its_claim_code(app):
    lines = _lines(2)
    worker = db.session.get(Worker, lines[0].worker_id)
    stop_messages(worker.phone_e164)
    claims = issue_claim_codes(lines, now=utcnow())
    db.session.commit()
    assert {db.session.get(Message, c.message_id).status for c in claims} == {MessageStatus.SENT}


def _cover(batch, worker: Worker, line: OrderLine, months: int, first: date) -> Coverage:
    return batch.add(
        worker, months=months, first_month=first, order_line_id=line.id, programmes=["JKM", "JKK"]
    )


def test_a_batch_covers_like_extend_coverage_and_never_twice_per_line(app, count_queries):
    lines = _lines(5)
    workers = [db.session.get(Worker, line.worker_id) for line in lines]
    # The first worker was covered to the end of June 2027 already: a shorter line never
    # shortens it.
    extend_coverage(
        workers[0],
        months=6,
        first_month=date(2027, 1, 1),
        order_line_id=None,
        programmes=["JKK", "JKM"],
    )
    workers[1].needs_sponsor = True
    db.session.commit()
    batch = CoverageBatch()
    planned = [
        _cover(batch, w, line, 3, date(2027, 1, 20)) for w, line in zip(workers, lines, strict=True)
    ]
    assert {c.ends_on for c in planned} == {date(2027, 3, 31)}  # known before it is written
    with count_queries() as statements:
        added = batch.apply()
    assert len(added) == 5 and len(statements) <= 5
    db.session.commit()
    workers = [db.session.get(Worker, w.id) for w in workers]
    assert workers[0].covered_until == date(2027, 6, 30)
    assert {w.covered_until for w in workers[1:]} == {date(2027, 3, 31)}
    assert {w.needs_cover_from for w in workers[1:]} == {date(2027, 4, 1)}
    assert not any(w.needs_sponsor for w in workers)
    # Again for the same lines (a retried chunk): nothing more is written.
    again = CoverageBatch()
    for w, line in zip(workers, lines, strict=True):
        _cover(again, w, line, 3, date(2027, 1, 1))
    assert again.apply() == []
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Coverage)) == 6
    # A line already covering another worker is refused.
    wrong = CoverageBatch()
    _cover(wrong, workers[1], lines[0], 3, date(2027, 1, 1))
    with pytest.raises(CoverageError):
        wrong.apply()


@pytest.mark.parametrize("months", [0, 13])
def test_a_batch_refuses_impossible_months_before_writing(app, months):
    line = _lines(1)[0]
    worker = db.session.get(Worker, line.worker_id)
    with pytest.raises(CoverageError):
        _cover(CoverageBatch(), worker, line, months, date(2027, 1, 1))
