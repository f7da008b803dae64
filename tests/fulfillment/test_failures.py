"""When a part cannot be issued: it is retried with backoff, then fails, is refunded to the
sponsor exactly (once, through Stripe), and the sponsor and the admins are told."""

from datetime import timedelta

from sqlalchemy import func, select

from accounts.models import Role, User
from extensions import db
from fulfillment import clock, sweeper
from fulfillment.models import ClaimCode, EventKind, FulfillmentEvent, FulfillmentItem, ItemStatus
from fulfillment.services import start_fulfillment
from fulfillment.tasks import refund_item
from messaging.models import Message
from sponsorship.checkout.models import Order, OrderLinePart, OrderStatus, Refund
from sponsorship.payments.refunds import refund_order
from tests.fulfillment.support import (
    make_combofit,
    make_paid_order,
    make_workers,
    run_until_settled,
)


def events_of(item_id):
    return db.session.scalars(
        select(FulfillmentEvent.kind)
        .where(FulfillmentEvent.item_id == item_id)
        .order_by(FulfillmentEvent.id)
    ).all()


def item_for(method):
    return db.session.scalar(select(FulfillmentItem).where(FulfillmentItem.method == method))


def stripe_refunds(localstripe, intent_id):
    refunds = localstripe.request("GET", f"/v1/refunds?payment_intent={intent_id}")["data"]
    return [r for r in refunds if r["payment_intent"] == intent_id]


def test_a_part_the_partner_refuses_is_refunded_exactly_and_the_rest_is_delivered(
    app, sandbox, localstripe, pay, make_user
):
    make_user(Role.ADMIN, email="ops@example.test")
    combo = make_combofit()
    combo.quota.operator = None  # not marked Telkomsel-only: the telco itself refuses
    worker = make_workers(1, phone_e164="+6285700000001")[0]  # Indosat
    order = make_paid_order(combo.bundle, [worker], pay=pay)
    start_fulfillment(order)
    db.session.commit()
    run_until_settled(step_s=15)

    quota = item_for("partner_api")
    assert quota.status == ItemStatus.REFUNDED
    assert quota.last_error.startswith("operator_not_supported")
    assert events_of(quota.id) == [EventKind.CREATED, EventKind.FAILED, EventKind.REFUNDED]
    part = db.session.get(OrderLinePart, quota.order_line_part_id)
    refund = db.session.scalar(select(Refund))
    assert (refund.order_line_part_id, refund.amount_idr) == (part.id, part.amount_idr)
    payment_intent = db.session.get(Order, order.id).payments[0].provider_payment_id
    at_stripe = stripe_refunds(localstripe, payment_intent)
    assert [(r["id"], r["amount"]) for r in at_stripe] == [
        (refund.provider_refund_id, part.amount_idr * 100)
    ]
    # the other parts are issued; the worker still gets the bundle code; the order is done
    others = db.session.scalars(
        select(FulfillmentItem.status).where(FulfillmentItem.id != quota.id)
    )
    assert set(others) == {ItemStatus.ISSUED}
    assert db.session.scalar(select(func.count()).select_from(ClaimCode)) == 1
    assert db.session.get(Order, order.id).status == OrderStatus.FULFILLED

    sweeper.sweep()  # beat sweeps every minute: the digests go out
    db.session.commit()
    sponsor_mail = db.session.scalar(select(Message).where(Message.purpose == "fulfillment_refund"))
    assert sponsor_mail.recipient == db.session.get(User, order.sponsor_id).email
    assert order.reference in sponsor_mail.subject
    assert "Sri R." in sponsor_mail.body  # first name and initial, never the full name
    assert worker.phone_e164 not in sponsor_mail.body
    admin_mail = db.session.scalar(select(Message).where(Message.purpose == "fulfillment_alert"))
    assert admin_mail.recipient == "ops@example.test"
    assert "operator_not_supported: 1" in admin_mail.body
    # a later sweep tells nobody twice
    sweeper.sweep()
    db.session.commit()
    assert (
        db.session.scalar(
            select(func.count()).select_from(Message).where(Message.purpose.like("fulfillment_%"))
        )
        == 2
    )


def test_after_the_last_attempt_the_part_fails_and_is_refunded(app, sandbox, localstripe, pay):
    combo = make_combofit(codes=0)  # the voucher pool is empty and stays empty
    order = make_paid_order(combo.bundle, make_workers(1), pay=pay)
    start_fulfillment(order)
    db.session.commit()
    health = item_for("code_pool")
    waits = []
    while health.status == ItemStatus.RETRYING or health.status == ItemStatus.PENDING:
        if health.next_attempt_at:
            waits.append((health.next_attempt_at - clock.now()).total_seconds())
        clock.advance(7_200)
        sweeper.sweep()
        db.session.commit()
        db.session.refresh(health)

    assert health.status == ItemStatus.REFUNDED
    assert health.total_attempts == app.config["FULFILLMENT_MAX_ATTEMPTS"] == 4
    assert events_of(health.id) == [
        EventKind.CREATED,
        EventKind.RETRY_SCHEDULED,
        EventKind.RETRY_SCHEDULED,
        EventKind.RETRY_SCHEDULED,
        EventKind.FAILED,
        EventKind.REFUNDED,
    ]
    assert "gave up after 4 attempts" in health.last_error
    # exponential backoff with jitter: each wait within [½·base·2ⁿ, base·2ⁿ]
    base = app.config["FULFILLMENT_RETRY_BASE_S"]
    assert len(waits) == 3
    for n, wait in enumerate(waits):
        assert base * 2**n / 2 - 1 <= wait <= base * 2**n + 1
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 1


def test_a_refund_stripe_cannot_take_is_retried_later_and_never_doubled(
    app, sandbox, localstripe, pay
):
    combo = make_combofit(codes=0)
    order = make_paid_order(combo.bundle, make_workers(1), pay=pay)
    start_fulfillment(order)
    db.session.commit()
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # nothing listens there
    app.extensions.pop("stripe_gateway", None)
    run_until_failed = 0
    health = item_for("code_pool")
    while health.status != ItemStatus.FAILED or not health.refund_attempts:
        clock.advance(7_200)
        sweeper.sweep()
        db.session.commit()
        db.session.refresh(health)
        run_until_failed += 1
        assert run_until_failed < 20
    assert EventKind.REFUND_FAILED in events_of(health.id)
    assert health.next_attempt_at > clock.now()  # retried later, with backoff
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0

    app.config["STRIPE_API_BASE"] = localstripe.base_url
    app.extensions.pop("stripe_gateway", None)
    run_until_settled(step_s=7_200)
    refund_item.delay(health.id)  # a duplicate job changes nothing
    db.session.refresh(health)
    assert health.status == ItemStatus.REFUNDED
    intent = db.session.get(Order, order.id).payments[0].provider_payment_id
    assert len(stripe_refunds(localstripe, intent)) == 1
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 1


def test_a_failed_part_of_an_order_without_a_stripe_payment_waits_for_an_admin(app, sandbox):
    combo = make_combofit(codes=0)
    order = make_paid_order(combo.bundle, make_workers(1))  # pi_test_… is unknown to Stripe
    start_fulfillment(order)
    db.session.commit()
    for _ in range(30):
        clock.advance(7_200)
        sweeper.sweep()
        db.session.commit()
    health = item_for("code_pool")
    assert health.status == ItemStatus.FAILED
    assert health.next_attempt_at is None  # no more automatic refund attempts
    assert health.refund_attempts == app.config["FULFILLMENT_REFUND_MAX_ATTEMPTS"]
    assert db.session.get(Order, order.id).status == OrderStatus.FULFILLING
    assert clock.now() - health.updated_at < timedelta(days=10)


def test_parts_still_in_progress_close_when_the_whole_order_is_refunded(
    app, sandbox, localstripe, pay
):
    combo = make_combofit()
    order = make_paid_order(combo.bundle, make_workers(1), pay=pay)
    start_fulfillment(order)
    db.session.commit()
    quota = item_for("partner_api")
    assert quota.status == ItemStatus.AWAITING_PARTNER
    refund_order(db.session.get(Order, order.id), reason="sponsor asked", actor_id=None)
    db.session.commit()

    run_until_settled(step_s=60)
    db.session.refresh(quota)
    assert quota.status == ItemStatus.REFUNDED
    assert events_of(quota.id)[-1] == EventKind.REFUNDED
    intent = db.session.get(Order, order.id).payments[0].provider_payment_id
    assert len(stripe_refunds(localstripe, intent)) == 1  # the order's, no second one
    assert db.session.get(Order, order.id).status == OrderStatus.REFUNDED
