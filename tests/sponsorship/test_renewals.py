"""Automatic renewal with real localstripe: the sponsor saves a card for a worker they covered;
a few days before the cover lapses the nightly run charges it once (however often it runs),
the order is paid through checkout's exactly-once path and the cover grows; declines are
retried and reported; a bank asking for the cardholder gets a pay link; a stop sends the worker
back to the directory once their cover ends; nobody else can see or touch a plan."""

import threading
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from accounts.models import Role, User
from core.dates import add_months, first_of_month, jakarta_today, month_end
from extensions import db, utcnow
from fulfillment import clock
from messaging.models import Message
from sponsorship.checkout.models import Order, OrderStatus, Payment, PaymentStatus
from sponsorship.continuity import ledger
from sponsorship.continuity.renewals.models import (
    AttemptStatus,
    PlanStatus,
    RenewalAttempt,
    RenewalPlan,
)
from sponsorship.continuity.renewals.run import claim_period, run_renewals
from tests.checkout_support import pay_in_browser, setup_secret_of
from tests.fulfillment.support import run_until_settled
from tests.stripe_support import CARD_DECLINED_ON_CHARGE, CARD_NEEDS_3DS, CARD_SUCCEEDS
from workers.coverage import CoverageStatus, coverage_status
from workers.models import Worker


@pytest.fixture
def app_config(localstripe, sandbox):
    localstripe.flush()
    return {
        **localstripe.app_config(),
        "PARTNER_SANDBOX_FALLBACK": True,
        "PARTNER_SANDBOX_URL": sandbox.base_url,
        "PARTNER_SANDBOX_SECRETS": dict(sandbox.secrets),
        "PARTNER_API_MAX_TRIES": 2,
        "PARTNER_API_RETRY_BASE_S": 0.01,
        "RENEWAL_DAYS_BEFORE_LAPSE": 7,
        "RENEWAL_RETRY_DAYS": (1, 3),
    }


@pytest.fixture(autouse=True)
def _real_clock_again():
    yield
    clock.reset()


# Cover that ends well ahead of the real today, so the renewal's order is payable now too.
COVERED_UNTIL = month_end(add_months(first_of_month(jakarta_today()), 2))
CHARGE_DAY = COVERED_UNTIL - timedelta(days=6)  # lapses the next day: 7 days before
PERIOD = add_months(first_of_month(COVERED_UNTIL), 1)


@pytest.fixture
def covered(catalog, workers, ordered):
    """A worker the sponsor covered with Sertakan (1 month), cover until COVERED_UNTIL."""
    worker = workers(1)[0]
    order = ordered([worker], catalog.sertakan, months=1)
    order.status = OrderStatus.FULFILLED
    order.paid_at = utcnow()
    worker.covered_until = COVERED_UNTIL
    db.session.commit()
    return worker


@pytest.fixture
def signed_in(client, login_as, sponsor):
    return login_as(sponsor)


def turn_on(client, localstripe, worker, bundle, card=CARD_SUCCEEDS, months=1) -> RenewalPlan:
    """What the sponsor does: the "turn on" form, then the card page (checkout.js)."""
    page = client.get(f"/sponsor/perpanjangan/baru?worker={worker.id}&bundle={bundle.id}")
    assert page.status_code == 200
    form = {"worker_id": worker.id, "bundle_id": bundle.id, "months": months}
    started = client.post("/sponsor/perpanjangan/baru", data=form)
    assert started.status_code == 302, started.text
    card_url = started.headers["Location"]
    setup = localstripe.confirm_card_setup(setup_secret_of(client.get(card_url).text), card)
    saved = client.post(card_url, json={"setup_intent": setup["id"]})
    assert saved.get_json()["status"] == "succeeded"
    return db.session.scalars(select(RenewalPlan)).one()


def succeeded_charges(localstripe) -> list[dict]:
    charges = localstripe.request("GET", "/v1/charges?limit=100")["data"]
    return [charge for charge in charges if charge["status"] == "succeeded"]


def attempt_of(plan: RenewalPlan) -> RenewalAttempt:
    return db.session.scalars(select(RenewalAttempt).where(RenewalAttempt.plan_id == plan.id)).one()


def sponsor_messages() -> list[Message]:
    return list(
        db.session.scalars(
            select(Message).where(Message.purpose == "renewal_failed").order_by(Message.id)
        )
    )


def test_turned_on_renewal_is_charged_once_and_the_cover_grows(
    app, signed_in, localstripe, catalog, covered
):
    plan = turn_on(signed_in, localstripe, covered, catalog.sertakan)
    assert plan.status == PlanStatus.ACTIVE and plan.payment_method_id.startswith("pm_")
    page = signed_in.get("/sponsor/perpanjangan")
    assert "Sertakan" in page.text and "Belum ditagih" in page.text  # not charged yet

    assert run_renewals(today=CHARGE_DAY - timedelta(days=1)).claimed == 0  # not due yet
    first = run_renewals(today=CHARGE_DAY)
    again = app.test_cli_runner().invoke(
        args=["continuity", "renew", "--today", CHARGE_DAY.isoformat()]
    )
    assert (first.claimed, first.charged) == (1, 1)
    assert "claimed=0 charged=0" in again.output
    db.session.expire_all()
    assert claim_period(plan.id, CHARGE_DAY) is None  # a run racing this one gets nothing

    attempt = attempt_of(plan)
    order = db.session.get(Order, attempt.order_id)
    assert attempt.status == AttemptStatus.SUCCEEDED and attempt.period == PERIOD
    assert order.is_paid and order.sponsor_id == plan.sponsor_id
    assert [(line.worker_id, line.months, line.first_month) for line in order.lines] == [
        (covered.id, 1, PERIOD)
    ]
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).one()
    assert payment.status == PaymentStatus.SUCCEEDED
    charges = succeeded_charges(localstripe)
    assert [charge["amount"] for charge in charges] == [order.total_idr * 100]

    run_until_settled(step_s=15)
    assert ledger.covered_until(covered.id) == month_end(PERIOD)
    assert "Lunas" in signed_in.get("/sponsor/perpanjangan").text


def test_two_runs_at_the_same_time_charge_once(app, signed_in, localstripe, catalog, covered):
    plan = turn_on(signed_in, localstripe, covered, catalog.sertakan)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def nightly(flask_app: Flask) -> None:
        with flask_app.app_context():
            try:
                barrier.wait(timeout=10)
                run_renewals(today=CHARGE_DAY)
            except BaseException as error:  # reported by the assert below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=nightly, args=(app,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    db.session.expire_all()
    assert attempt_of(plan).status == AttemptStatus.SUCCEEDED
    assert db.session.scalar(select(func.count()).select_from(Order)) == 2  # source + renewal
    assert len(succeeded_charges(localstripe)) == 1


def test_a_declined_card_is_retried_then_reported_and_never_charged_twice(
    signed_in, localstripe, catalog, covered, fulfillment_starts
):
    plan = turn_on(signed_in, localstripe, covered, catalog.sertakan, CARD_DECLINED_ON_CHARGE)
    day = CHARGE_DAY
    assert run_renewals(today=day).declined == 1
    assert run_renewals(today=day).declined == 0  # the same day again: no new try
    attempt = attempt_of(plan)
    assert (attempt.status, attempt.tries) == (AttemptStatus.RETRYING, 1)
    assert attempt.next_try_on == day + timedelta(days=1)
    order = db.session.get(Order, attempt.order_id)
    [first_notice] = sponsor_messages()
    assert first_notice.recipient == signed_in_email(plan)
    assert f"/pesanan/{order.reference}/bayar" in first_notice.body
    assert (day + timedelta(days=1)).strftime("%d/%m/%Y") in first_notice.body
    assert "Bank Anda menolak pembayaran ini" in first_notice.body  # our words, not Stripe's
    assert "Your card was declined" not in first_notice.body

    assert run_renewals(today=day + timedelta(days=1)).declined == 1
    assert run_renewals(today=day + timedelta(days=2)).declined == 0
    assert run_renewals(today=day + timedelta(days=3)).declined == 1
    assert run_renewals(today=day + timedelta(days=4)).declined == 0
    db.session.expire_all()
    attempt = attempt_of(plan)
    assert (attempt.status, attempt.tries, attempt.next_try_on) == (AttemptStatus.FAILED, 3, None)
    assert len(sponsor_messages()) == 3
    assert "berhenti mencoba" in sponsor_messages()[-1].body  # we stopped trying
    assert succeeded_charges(localstripe) == []
    assert db.session.get(Order, order.id).status == OrderStatus.AWAITING_PAYMENT
    assert fulfillment_starts == []
    page = signed_in.get("/sponsor/perpanjangan").text
    assert "Tidak terbayar" in page and f"/pesanan/{order.reference}/bayar" in page
    assert "Bank Anda menolak pembayaran ini" in page and "Your card was declined" not in page


def signed_in_email(plan: RenewalPlan) -> str:
    return db.session.get(User, plan.sponsor_id).email


def test_a_bank_asking_for_the_cardholder_gets_a_pay_link_and_is_paid_once(
    signed_in, localstripe, catalog, covered, fulfillment_starts
):
    plan = turn_on(signed_in, localstripe, covered, catalog.sertakan, CARD_NEEDS_3DS)
    run_renewals(today=CHARGE_DAY)
    attempt = attempt_of(plan)
    assert attempt.status == AttemptStatus.ACTION_REQUIRED
    assert attempt.failure_code == "authentication_required"
    order = db.session.get(Order, attempt.order_id)
    [notice] = sponsor_messages()
    assert f"/pesanan/{order.reference}/bayar" in notice.body
    assert succeeded_charges(localstripe) == []

    # The sponsor follows the link and passes 3-D Secure on the pay page.
    paid = pay_in_browser(signed_in, localstripe, order, CARD_NEEDS_3DS)
    assert paid.final_location == f"/pesanan/{order.reference}"
    run_renewals(today=CHARGE_DAY + timedelta(days=1))  # the retry day: nothing charged again
    db.session.expire_all()
    assert attempt_of(plan).status == AttemptStatus.SUCCEEDED
    assert len(succeeded_charges(localstripe)) == 1
    assert fulfillment_starts == [order.id]


def test_a_bundle_taken_off_sale_is_reported_once_and_nothing_is_charged(
    signed_in, localstripe, catalog, covered
):
    plan = turn_on(signed_in, localstripe, covered, catalog.sertakan)
    catalog.sertakan.is_published = False
    db.session.commit()
    run_renewals(today=CHARGE_DAY)
    run_renewals(today=CHARGE_DAY + timedelta(days=1))
    attempt = attempt_of(plan)
    assert (attempt.status, attempt.order_id) == (AttemptStatus.FAILED, None)
    [notice] = sponsor_messages()
    assert "/sponsor/perpanjangan" in notice.body
    assert "Paket ini sedang tidak dijual" in notice.body
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1  # the source only
    assert succeeded_charges(localstripe) == []


def test_stopping_returns_the_worker_to_needs_a_sponsor_once_the_cover_ends(
    signed_in, localstripe, catalog, covered
):
    plan = turn_on(signed_in, localstripe, covered, catalog.sertakan)
    assert signed_in.post(f"/sponsor/perpanjangan/{plan.id}/berhenti").status_code == 302
    db.session.expire_all()
    assert db.session.get(RenewalPlan, plan.id).status == PlanStatus.STOPPED
    assert run_renewals(today=CHARGE_DAY).claimed == 0  # stopped: nothing charged
    assert db.session.get(Worker, covered.id).needs_sponsor is False  # still covered

    lapsed = COVERED_UNTIL + timedelta(days=1)
    assert run_renewals(today=lapsed).released == 1
    worker = db.session.get(Worker, covered.id)
    assert coverage_status(worker, lapsed) == CoverageStatus.NEEDS_SPONSOR
    assert run_renewals(today=lapsed).released == 0
    assert succeeded_charges(localstripe) == []
    page = signed_in.get("/sponsor/perpanjangan").text
    assert "Terhenti" in page


def test_another_sponsor_cannot_see_or_change_the_plan(
    app, signed_in, localstripe, catalog, covered, make_user, login_as
):
    plan = turn_on(signed_in, localstripe, covered, catalog.sertakan)
    other = login_as(make_user(Role.SPONSOR, display_name="Other sponsor"))
    assert "Sertakan" not in other.get("/sponsor/perpanjangan").text
    assert other.get(f"/sponsor/perpanjangan/{plan.id}/kartu").status_code == 404
    for action in ("jeda", "lanjutkan", "berhenti"):
        assert other.post(f"/sponsor/perpanjangan/{plan.id}/{action}").status_code == 404
    bad = other.post(f"/sponsor/perpanjangan/{plan.id}/kartu", json={"setup_intent": "seti_x"})
    assert bad.status_code == 404
    # Nor start one for a worker they never covered.
    form = {"worker_id": covered.id, "bundle_id": catalog.sertakan.id, "months": 1}
    other.post("/sponsor/perpanjangan/baru", data=form)
    worker_client = app.test_client()
    with worker_client.session_transaction() as session:
        session["_user_id"] = make_user(Role.WORKER).get_id()
        session["_fresh"] = True
    assert worker_client.get("/sponsor/perpanjangan").status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(RenewalPlan)) == 1
    kept = db.session.get(RenewalPlan, plan.id)
    assert (kept.status, kept.sponsor_id) == (PlanStatus.ACTIVE, plan.sponsor_id)


def test_bad_input_gets_a_clear_message_and_changes_nothing(
    signed_in, localstripe, catalog, covered, workers
):
    base = {"worker_id": covered.id, "bundle_id": catalog.sertakan.id}
    refused = signed_in.post("/sponsor/perpanjangan/baru", data={**base, "months": 2})
    assert refused.status_code == 400 and "Not a valid choice" not in refused.text
    stranger = workers(1)[0]  # never covered by this sponsor
    sent = signed_in.post(
        "/sponsor/perpanjangan/baru", data={**base, "worker_id": stranger.id, "months": 1}
    )
    assert sent.status_code == 302
    assert "Lindungi pekerja ini terlebih dahulu" in signed_in.get("/sponsor/perpanjangan").text
    assert signed_in.get("/sponsor/perpanjangan/baru?worker=abc").status_code == 404
    assert signed_in.post("/sponsor/perpanjangan/baru", data={"months": 1}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(RenewalPlan)) == 0

    plan = turn_on(signed_in, localstripe, covered, catalog.sertakan)
    garbage = signed_in.post(f"/sponsor/perpanjangan/{plan.id}/kartu", json={"setup_intent": 1})
    assert garbage.status_code == 400
    stale = signed_in.post(
        f"/sponsor/perpanjangan/{plan.id}/kartu", json={"setup_intent": "seti_unknown"}
    )
    assert stale.status_code == 409 and stale.get_json()["message"]
    signed_in.post(f"/sponsor/perpanjangan/{plan.id}/lanjutkan")  # resume an active plan
    assert "Hanya perpanjangan otomatis yang dijeda" in signed_in.get("/sponsor/perpanjangan").text
    db.session.expire_all()
    kept = db.session.get(RenewalPlan, plan.id)
    assert (kept.status, kept.payment_method_id) == (PlanStatus.ACTIVE, plan.payment_method_id)


def test_journey_active_lapsing_renewed_once_active_again_without_a_lapse(
    signed_in, localstripe, catalog, covered
):
    turn_on(signed_in, localstripe, covered, catalog.sertakan)
    seen: list[tuple[date, ledger.CoverageStage]] = []
    day = COVERED_UNTIL - timedelta(days=20)
    while day <= COVERED_UNTIL + timedelta(days=3):
        run_renewals(today=day)
        run_until_settled(step_s=15)
        db.session.expire_all()
        until = ledger.covered_until(covered.id)
        seen.append((day, ledger.stage_on(until, day)))
        day += timedelta(days=1)
    stages = [stage for _day, stage in seen]
    assert stages[0] == ledger.CoverageStage.ACTIVE
    assert ledger.CoverageStage.LAPSING in stages
    first_lapsing = stages.index(ledger.CoverageStage.LAPSING)
    assert stages[-1] == ledger.CoverageStage.ACTIVE
    assert stages.index(ledger.CoverageStage.ACTIVE, first_lapsing) > first_lapsing
    assert not {ledger.CoverageStage.ARREARS, ledger.CoverageStage.ENDED} & set(stages)
    assert ledger.covered_until(covered.id) == month_end(PERIOD)
    assert len(succeeded_charges(localstripe)) == 1
    assert db.session.scalar(select(func.count()).select_from(RenewalAttempt)) == 1
