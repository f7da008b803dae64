"""The sweeper finds what a lost job, a killed worker or a crash left behind, and finishes it."""

from datetime import timedelta

from sqlalchemy import delete, func, select

from extensions import db
from fulfillment import clock, services, sweeper
from fulfillment.models import ClaimCode, FulfillmentItem, ItemStatus
from fulfillment.services import start_fulfillment
from messaging import tasks
from messaging.models import Channel, Message, MessageStatus
from messaging.services import queue_message
from sponsorship.checkout.models import Order, OrderStatus
from tests.fulfillment.support import (
    make_combofit,
    make_paid_order,
    make_workers,
    run_until_settled,
)


def lose_jobs(monkeypatch):
    """As if the broker lost every message: nothing is enqueued."""
    monkeypatch.setattr(services, "enqueue_items", lambda ids: None)


def test_items_whose_jobs_were_lost_are_enqueued_again_and_issued(app, sandbox, monkeypatch):
    lose_jobs(monkeypatch)
    combo = make_combofit()
    order = make_paid_order(combo.bundle, make_workers(2))
    start_fulfillment(order)
    db.session.commit()
    assert set(db.session.scalars(select(FulfillmentItem.status))) == {ItemStatus.PENDING}

    report = sweeper.sweep()
    db.session.commit()
    assert report.items_enqueued == 6
    run_until_settled(step_s=60)  # the telco top-ups are polled
    assert set(db.session.scalars(select(FulfillmentItem.status))) == {ItemStatus.ISSUED}
    assert db.session.get(Order, order.id).status == OrderStatus.FULFILLED
    assert sandbox.stats()["duplicate_effects"] == 0


def test_with_a_broker_only_items_overdue_past_the_deadline_are_swept(app):
    app.config["CELERY"]["task_always_eager"] = False
    try:
        assert sweeper.grace() == timedelta(seconds=app.config["FULFILLMENT_STUCK_AFTER_S"])
    finally:
        app.config["CELERY"]["task_always_eager"] = True
    assert sweeper.grace() == timedelta(0)


def test_a_lost_order_completion_and_claim_code_are_made_up_for(app, sandbox):
    combo = make_combofit()
    order = make_paid_order(combo.bundle, make_workers(1))
    start_fulfillment(order)
    db.session.commit()
    run_until_settled(step_s=60)
    # as if the worker died after the items committed, before the rest
    db.session.execute(delete(ClaimCode))
    order = db.session.get(Order, order.id)
    order.status = OrderStatus.FULFILLING
    db.session.commit()

    report = sweeper.sweep()
    db.session.commit()
    assert (report.claim_codes_sent, report.orders_completed) == (1, 1)
    assert db.session.get(Order, order.id).status == OrderStatus.FULFILLED
    assert db.session.scalar(select(func.count()).select_from(ClaimCode)) == 1


def test_messages_never_delivered_are_delivered_by_the_sweeper(app, monkeypatch):
    monkeypatch.setattr(tasks.deliver_message, "delay", lambda message_id: None)
    message = queue_message(channel=Channel.SMS, recipient="+6281200000001", body="x", purpose="t")
    db.session.commit()
    assert db.session.get(Message, message.id).status == MessageStatus.QUEUED
    monkeypatch.undo()

    assert sweeper.sweep().messages_enqueued == 0  # not overdue yet
    db.session.commit()
    clock.advance(120)
    assert sweeper.sweep().messages_enqueued == 1
    db.session.commit()
    assert db.session.get(Message, message.id).status == MessageStatus.SENT


def test_a_one_time_codes_sms_is_swept_while_its_code_still_works(app, monkeypatch):
    """Lost at the publish (the broker down), most messages wait the items' grace (600 s with
    a broker) before the sweep sends them; a one-time code's SMS waits only a minute, as its
    code works for five."""
    # The items' grace with a broker (jobs run eagerly here, where it is 0).
    monkeypatch.setattr(sweeper, "grace", lambda: timedelta(seconds=600))
    with monkeypatch.context() as lost:
        lost.setattr(tasks.deliver_message, "delay", lambda message_id: None)
        code = queue_message(
            channel=Channel.SMS, recipient="+6281200000002", body="x", purpose="sign_in"
        )
        alert = queue_message(
            channel=Channel.SMS, recipient="+6281200000003", body="y", purpose="lapse_alert"
        )
        db.session.commit()
    assert sweeper.sweep().messages_enqueued == 0  # not overdue yet
    db.session.commit()
    clock.advance(90)
    assert sweeper.sweep().messages_enqueued == 1
    db.session.commit()
    assert db.session.get(Message, code.id).status == MessageStatus.SENT
    assert db.session.get(Message, alert.id).status == MessageStatus.QUEUED
    clock.advance(600)
    assert sweeper.sweep().messages_enqueued == 1
    db.session.commit()
    assert db.session.get(Message, alert.id).status == MessageStatus.SENT


def test_the_sweep_command_reports_what_it_did(app, sandbox, monkeypatch):
    lose_jobs(monkeypatch)
    combo = make_combofit()
    start_fulfillment(make_paid_order(combo.bundle, make_workers(1)))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["fulfillment", "sweep"])
    assert result.exit_code == 0, result.output
    assert "items_enqueued=3" in result.output
    status = app.test_cli_runner().invoke(args=["fulfillment", "status"])
    assert "issued" in status.output


def test_a_phone_change_codes_sms_is_swept_as_early_as_a_sign_in_codes(app, monkeypatch):
    """Both carry a code that works for five minutes (messaging.delivery.ONE_TIME_CODE_PURPOSES)."""
    monkeypatch.setattr(sweeper, "grace", lambda: timedelta(seconds=600))
    with monkeypatch.context() as lost:
        lost.setattr(tasks.deliver_message, "delay", lambda message_id: None)
        code = queue_message(
            channel=Channel.SMS, recipient="+6281200000004", body="x", purpose="phone_change"
        )
        db.session.commit()
    clock.advance(90)
    assert sweeper.sweep().messages_enqueued == 1
    db.session.commit()
    assert db.session.get(Message, code.id).status == MessageStatus.SENT
