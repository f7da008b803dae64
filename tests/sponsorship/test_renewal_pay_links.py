"""Renewals for sponsors without a saved card: when the cover is about to lapse, the nightly
run makes the renewal order and sends one reminder with a fresh QRIS code for it (valid while
its prices hold) and a link to the other ways to pay; paying it by QRIS renews the cover."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from core.dates import add_months, first_of_month, jakarta_today, month_end
from extensions import db, utcnow
from messaging.models import Message
from sponsorship.checkout.models import Order, OrderStatus, Payment
from sponsorship.continuity.renewals.models import (
    AttemptStatus,
    PlanStatus,
    RenewalAttempt,
    RenewalPlan,
)
from sponsorship.continuity.renewals.run import run_renewals
from tests.sponsorship.xendit_support import CALLBACK_TOKEN, XenditSandbox, xendit_fixture  # noqa: F401

COVERED_UNTIL = month_end(add_months(first_of_month(jakarta_today()), 2))
CHARGE_DAY = COVERED_UNTIL - timedelta(days=6)


@pytest.fixture
def app_config(localstripe, partner_sandbox):
    return {
        **localstripe.app_config(),
        **XenditSandbox(partner_sandbox).app_config(),
        "RENEWAL_DAYS_BEFORE_LAPSE": 7,
    }


@pytest.fixture
def plan(client, login_as, sponsor, catalog, workers, ordered):
    """A worker the sponsor covered, and renewal turned on without saving a card."""
    worker = workers(1)[0]
    order = ordered([worker], catalog.sertakan, months=1)
    order.status = OrderStatus.FULFILLED
    order.paid_at = utcnow()
    worker.covered_until = COVERED_UNTIL
    db.session.commit()
    login_as(sponsor)
    form = {"worker_id": worker.id, "bundle_id": catalog.sertakan.id, "months": 1}
    assert client.post("/sponsor/perpanjangan/baru", data=form).status_code == 302
    found = db.session.scalars(select(RenewalPlan)).one()
    assert found.status == PlanStatus.NEEDS_CARD and found.payment_method_id is None
    return found


def reminders() -> list[Message]:
    return list(db.session.scalars(select(Message).where(Message.purpose == "renewal_pay_link")))


def test_a_plan_without_a_card_gets_one_qris_reminder_and_paying_it_renews(
    client, plan, xendit, fulfillment_starts
):
    assert run_renewals(today=CHARGE_DAY).claimed == 1
    assert run_renewals(today=CHARGE_DAY).claimed == 0  # once, however often it runs
    attempt = db.session.scalars(select(RenewalAttempt)).one()
    assert attempt.status == AttemptStatus.ACTION_REQUIRED
    order = db.session.get(Order, attempt.order_id)
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).one()
    assert (payment.gateway, payment.method, payment.amount_idr) == (
        "xendit",
        "qris",
        order.total_idr,
    )
    # As long as the prices hold (Xendit keeps milliseconds).
    assert timedelta(0) <= order.expires_at - payment.expires_at < timedelta(milliseconds=1)
    (message,) = reminders()
    body = message.full_body()
    links = re.findall(r"https?://\S+", body)
    assert any(f"/pesanan/{order.reference}/bayar/{payment.id}" in link for link in links)
    assert any(link.rstrip(".").endswith(f"/pesanan/{order.reference}/bayar") for link in links)
    page = client.get(urlsplit(links[0]).path).text
    assert 'class="qr"' in page

    xendit.simulate(payment.provider_payment_id)
    (callback,) = xendit.callbacks_for(payment.provider_payment_id)
    answer = client.post(
        "/xendit/callback",
        data=callback["body"],
        headers={"Content-Type": "application/json", "x-callback-token": CALLBACK_TOKEN},
    )
    assert answer.status_code == 200
    assert fulfillment_starts == [order.id]
    run_renewals(today=CHARGE_DAY + timedelta(days=1))
    db.session.expire_all()
    assert db.session.get(RenewalAttempt, attempt.id).status == AttemptStatus.SUCCEEDED
    assert len(reminders()) == 1


def test_xendit_down_leaves_the_reminder_for_a_later_run(client, plan, xendit, app):
    xendit.sandbox.set_faults(down=True)
    run_renewals(today=CHARGE_DAY)
    attempt = db.session.scalars(select(RenewalAttempt)).one()
    assert attempt.status == AttemptStatus.CHARGING
    assert reminders() == []
    xendit.sandbox.set_faults()
    app.config["RENEWAL_STUCK_MINUTES"] = 0
    run_renewals(today=CHARGE_DAY)
    db.session.expire_all()
    assert db.session.get(RenewalAttempt, attempt.id).status == AttemptStatus.ACTION_REQUIRED
    assert len(reminders()) == 1
