"""From "paid" to every part issued: items made in the payment's transaction, jobs only after
the commit, once per part however often checkout calls, and the worker's SMS at the end."""

import re

import pytest
from sqlalchemy import func, select

from bundles.models import PoolCode, PoolCodeStatus
from extensions import db
from fulfillment.claims import services as claims
from fulfillment.claims.codes import normalize_claim_code
from fulfillment.models import (
    ClaimCode,
    EventKind,
    FulfillmentEvent,
    FulfillmentItem,
    InsurerMembership,
    IssuedCode,
    ItemStatus,
    Remittance,
)
from fulfillment.services import FulfillmentError, start_fulfillment
from fulfillment.sweeper import sweep
from messaging.models import Message, MessageStatus
from sponsorship.checkout.models import Order, OrderStatus
from tests.fulfillment.support import (
    make_combofit,
    make_paid_order,
    make_workers,
    run_until_settled,
)
from workers.models import Coverage, Worker


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_paid_combofit_ends_with_every_part_issued_once_and_the_sms_in_the_outbox(
    app, sandbox, client
):
    combo = make_combofit(codes=5)
    worker = make_workers(1)[0]
    order = make_paid_order(combo.bundle, [worker], months=3)

    items = start_fulfillment(order)
    assert [item.status for item in items] == [ItemStatus.PENDING] * 3
    assert order.status == OrderStatus.FULFILLING
    db.session.commit()
    run_until_settled(step_s=15)

    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.FULFILLED
    statuses = db.session.scalars(select(FulfillmentItem.status)).all()
    assert statuses == [ItemStatus.ISSUED] * 3
    # the health voucher: exactly one pool code, issued to this item
    assert count(PoolCode, PoolCode.status == PoolCodeStatus.ISSUED) == 1
    assert count(IssuedCode) == 1
    # dues: registered, remitted, covered for January–March 2026
    worker = db.session.get(Worker, worker.id)
    assert str(worker.covered_until) == "2026-03-31"
    assert count(Coverage, Coverage.worker_id == worker.id) == 1
    assert count(InsurerMembership) == 1
    remittance = db.session.scalar(select(Remittance))
    assert remittance.months == ["2026-01", "2026-02", "2026-03"]
    # at the partners: one effect each, no duplicate
    stats = sandbox.stats()
    assert stats["effects_by_kind"] == {
        "insurer.registration": 1,
        "insurer.dues": 1,
        "telco.topup": 1,
    }
    assert stats["duplicate_effects"] == 0
    # the worker's SMS, once, with a code that opens exactly this line
    sms = db.session.scalars(select(Message).where(Message.purpose == "claim_code")).all()
    assert len(sms) == 1
    assert sms[0].recipient == worker.phone_e164
    assert sms[0].status == MessageStatus.SENT
    assert "ComboFit" in sms[0].body and "/klaim" in sms[0].body
    typed = re.search(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}-[0-9A-Z]", sms[0].full_body()).group()
    code = normalize_claim_code(typed)
    claim = claims.find_claim_code(typed)
    assert claim is not None and claim.order_line_id == order.lines[0].id
    assert code not in claim.code_digest  # only the keyed hash is stored
    assert "ComboFit" in client.get("/dev/outbox").text


def test_items_are_created_once_per_part_however_often_checkout_calls(app, sandbox):
    combo = make_combofit()
    order = make_paid_order(combo.bundle, make_workers(2))
    first = start_fulfillment(order)
    second = start_fulfillment(order)
    assert len(first) == 6
    assert [item.id for item in second] == [item.id for item in first]
    assert len({item.idempotency_key for item in first}) == 6
    assert count(FulfillmentEvent, FulfillmentEvent.kind == EventKind.CREATED) == 6
    db.session.commit()
    assert start_fulfillment(db.session.get(Order, order.id)) == first
    assert count(FulfillmentItem) == 6


def test_no_job_runs_and_nothing_is_issued_when_the_payment_transaction_rolls_back(app, sandbox):
    combo = make_combofit()
    order = make_paid_order(combo.bundle, make_workers(1))
    order_id = order.id
    start_fulfillment(order)
    db.session.rollback()

    assert count(FulfillmentItem) == 0
    assert db.session.get(Order, order_id) is None
    assert sandbox.stats()["requests"]["total"] == 0
    assert count(PoolCode, PoolCode.status == PoolCodeStatus.ISSUED) == 0


def test_an_unpaid_order_is_refused_and_nothing_changes(app, sandbox):
    combo = make_combofit()
    order = make_paid_order(combo.bundle, make_workers(1))
    order.status = OrderStatus.AWAITING_PAYMENT
    with pytest.raises(FulfillmentError, match="order_not_paid"):
        start_fulfillment(order)
    assert count(FulfillmentItem) == 0
    assert order.status == OrderStatus.AWAITING_PAYMENT


def test_each_line_gets_exactly_one_claim_code_sent_once(app, sandbox):
    combo = make_combofit()
    workers = make_workers(3)
    order = make_paid_order(combo.bundle, workers)
    start_fulfillment(order)
    db.session.commit()
    run_until_settled(step_s=15)
    # sweeping again later finds nothing to send
    run_until_settled(step_s=15)

    assert sweep().claim_codes_sent == 0
    db.session.commit()

    assert count(ClaimCode) == 3
    assert count(Message, Message.purpose == "claim_code") == 3
    recipients = db.session.scalars(
        select(Message.recipient).where(Message.purpose == "claim_code")
    ).all()
    assert sorted(recipients) == sorted(worker.phone_e164 for worker in workers)
