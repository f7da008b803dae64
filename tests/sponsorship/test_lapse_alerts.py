"""Lapse alerts 14, 7 and 1 days before cover lapses — each once, however often the nightly run
runs — the one-tap renewal link they carry, and "needs a sponsor" when nobody renews."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from accounts.models import Role
from extensions import db
from i18n import local_date
from messaging.models import Channel, Message, MessageStatus
from sponsorship.checkout.models import Cart, CartLine
from sponsorship.continuity.alert_models import LapseAlert
from sponsorship.continuity.lapse_alerts import SPONSOR_PURPOSE, WORKER_PURPOSE, send_lapse_alerts
from sponsorship.continuity.nightly import run_nightly
from sponsorship.continuity.renewals.models import PlanStatus, RenewalPlan
from sponsorship.continuity.renewals.services import charge_day
from sponsorship.tasks import continuity_nightly
from tests.sponsorship.continuity_support import fund
from workers.models import Worker

NIK = "3201015205900001"
AGREED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def funded(make_worker, make_user, make_bundle):
    """Siti, covered November–January by one sponsor (cover lapses on 1 February 2027)."""
    sponsor = make_user(Role.SPONSOR)
    bundle = make_bundle()
    worker = make_worker(
        full_name="Siti Nurhaliza Putri",
        nik=NIK,
        phone_e164="+6281311112222",
        insurer_consent_at=AGREED,
        listing_consent_at=AGREED,
    )
    fund(worker, sponsor, bundle, months=3, first_month=date(2026, 11, 1))
    return worker, sponsor, bundle


def local_date_id(day: date) -> str:
    with force_locale("id"):
        return local_date(day)


def alerts_for(purpose: str) -> list[Message]:
    return list(
        db.session.scalars(select(Message).where(Message.purpose == purpose).order_by(Message.id))
    )


def test_alerts_at_14_7_and_1_days_go_out_once_each(funded):
    worker, sponsor, _bundle = funded
    for today in ["2027-01-17", "2027-01-18", "2027-01-18", "2027-01-20", "2027-01-25"]:
        run_nightly(date.fromisoformat(today))
    for today in ["2027-01-25", "2027-01-31", "2027-01-31"]:
        send_lapse_alerts(date.fromisoformat(today))

    texts, emails = alerts_for(WORKER_PURPOSE), alerts_for(SPONSOR_PURPOSE)
    assert [m.recipient for m in texts] == [worker.phone_e164] * 3
    assert [m.channel for m in texts] == [Channel.SMS] * 3
    assert [m.recipient for m in emails] == [sponsor.email] * 3
    assert all(m.status == MessageStatus.SENT for m in texts + emails)
    assert [re.search(r"\b(14|7|1) hari\b", m.body).group(1) for m in texts] == ["14", "7", "1"]
    assert [re.search(r"\b(14|7|1) hari\b", m.subject).group(1) for m in emails] == [
        "14",
        "7",
        "1",
    ]
    assert db.session.scalar(select(func.count()).select_from(LapseAlert)) == 6


def test_a_missed_day_is_caught_up_with_the_alert_still_due(funded):
    send_lapse_alerts(date(2027, 1, 28))  # 4 days left; the 14- and 7-day runs never happened
    send_lapse_alerts(date(2027, 1, 29))
    texts = alerts_for(WORKER_PURPOSE)
    assert len(texts) == 1
    assert "4 hari" in texts[0].body
    assert db.session.scalar(select(LapseAlert.days_before)) == 7


def test_alerts_hold_no_nik_and_sponsors_never_see_the_phone(funded):
    worker, _sponsor, _bundle = funded
    send_lapse_alerts(date(2027, 1, 18))
    (text,) = alerts_for(WORKER_PURPOSE)
    (email,) = alerts_for(SPONSOR_PURPOSE)
    assert NIK not in text.body
    assert "/saya" in text.body
    for part in (email.subject, email.body):
        assert NIK not in part and "1311112222" not in part and "2222" not in part
        assert "Nurhaliza" not in part  # first name and initial only
    assert "Siti N." in email.subject
    assert f"/sponsor/perpanjang/{worker.id}" in email.body


def test_only_the_sponsor_of_the_latest_months_is_emailed(funded, make_user):
    worker, _first, bundle = funded
    second = make_user(Role.SPONSOR)
    fund(worker, second, bundle, months=1, first_month=date(2027, 2, 1))  # to 28 February
    send_lapse_alerts(date(2027, 2, 15))
    assert [m.recipient for m in alerts_for(SPONSOR_PURPOSE)] == [second.email]
    assert len(alerts_for(WORKER_PURPOSE)) == 1


def test_a_run_rolled_back_sends_nothing_and_the_next_run_sends(funded):
    send_lapse_alerts(date(2027, 1, 18), commit=False)
    db.session.rollback()
    assert alerts_for(WORKER_PURPOSE) == []
    send_lapse_alerts(date(2027, 1, 18))
    assert len(alerts_for(WORKER_PURPOSE)) == 1


def test_nobody_renewing_puts_the_worker_back_as_needing_a_sponsor(funded):
    worker, sponsor, bundle = funded
    run_nightly(date(2027, 2, 15))  # February's dues can still be paid on time
    assert db.session.get(Worker, worker.id).needs_sponsor is False
    run = run_nightly(date(2027, 2, 16))
    assert run.flagged_needs_sponsor == 1
    db.session.expire_all()
    assert db.session.get(Worker, worker.id).needs_sponsor is True
    assert run_nightly(date(2027, 2, 17)).flagged_needs_sponsor == 0

    fund(worker, sponsor, bundle, months=3, first_month=date(2027, 2, 1))  # renewed after all
    db.session.expire_all()
    assert db.session.get(Worker, worker.id).needs_sponsor is False


def test_the_cron_command_runs_for_a_given_day(app, funded):
    result = app.test_cli_runner().invoke(args=["continuity", "alerts", "--today", "2027-01-25"])
    assert result.exit_code == 0, result.output
    assert "sponsor_emails=1 worker_texts=1" in result.output
    again = app.test_cli_runner().invoke(args=["continuity", "alerts", "--today", "2027-01-25"])
    assert "sponsor_emails=0 worker_texts=0" in again.output
    bad = app.test_cli_runner().invoke(args=["continuity", "alerts", "--today", "25-01-2027"])
    assert bad.exit_code != 0


# --- the renewal link -----------------------------------------------------------------------


def cart_lines(sponsor_id: int) -> list[tuple[int, int, int]]:
    db.session.expire_all()
    rows = db.session.execute(
        select(CartLine.worker_id, CartLine.bundle_id, CartLine.months)
        .join(Cart, Cart.id == CartLine.cart_id)
        .where(Cart.sponsor_id == sponsor_id)
    )
    return [tuple(row) for row in rows]


def test_the_renewal_link_puts_the_last_bundle_and_months_in_the_cart(funded, login_as):
    worker, sponsor, bundle = funded
    client = login_as(sponsor)
    response = client.get(f"/sponsor/perpanjang/{worker.id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/keranjang")
    assert cart_lines(sponsor.id) == [(worker.id, bundle.id, 3)]
    client.get(f"/sponsor/perpanjang/{worker.id}")  # a second tap adds nothing
    assert cart_lines(sponsor.id) == [(worker.id, bundle.id, 3)]
    page = client.get("/keranjang")
    assert page.status_code == 200
    assert "Siti N." in page.get_data(as_text=True)


def test_the_renewal_link_is_only_for_a_sponsor_who_funded_the_worker(
    funded, login_as, make_user, make_worker
):
    worker, _sponsor, _bundle = funded
    other = make_user(Role.SPONSOR)
    assert login_as(other).get(f"/sponsor/perpanjang/{worker.id}").status_code == 404
    assert cart_lines(other.id) == []
    assert login_as(other).get("/sponsor/perpanjang/999999").status_code == 404
    assert (
        login_as(make_user(Role.WORKER)).get(f"/sponsor/perpanjang/{worker.id}").status_code == 403
    )


def test_the_renewal_link_asks_a_signed_out_sponsor_to_sign_in(funded, client):
    worker, _sponsor, _bundle = funded
    response = client.get(f"/sponsor/perpanjang/{worker.id}")
    assert response.status_code == 302
    assert "/masuk" in response.headers["Location"] or "login" in response.headers["Location"]


def test_two_runs_at_once_send_each_alert_once(app, funded, make_worker):
    _worker, sponsor, bundle = funded
    for _ in range(4):  # more workers lapsing on the same day, several batches each run
        fund(make_worker(), sponsor, bundle, months=3, first_month=date(2026, 11, 1))
    barrier = threading.Barrier(2)

    def nightly() -> int:
        with app.app_context():
            barrier.wait(timeout=30)
            run = send_lapse_alerts(date(2027, 1, 18), batch_size=2)
            db.session.remove()
            return run.messages

    with ThreadPoolExecutor(max_workers=2) as pool:
        sent = list(pool.map(lambda _: nightly(), range(2)))
    assert sum(sent) == 10  # 5 workers: a text each, an email each to their sponsor
    db.session.rollback()
    assert len(alerts_for(WORKER_PURPOSE)) == 5
    assert len(alerts_for(SPONSOR_PURPOSE)) == 5


def test_workers_can_be_alerted_by_whatsapp_and_beat_runs_the_task_daily(app, funded):
    assert app.config["CELERY"]["beat_schedule"]["continuity-nightly"]["task"] == (
        continuity_nightly.name
    )
    app.config["CONTINUITY_WORKER_CHANNEL"] = "whatsapp"
    continuity_nightly.delay("2027-01-18")
    db.session.rollback()
    assert [m.channel for m in alerts_for(WORKER_PURPOSE)] == [Channel.WHATSAPP]
    assert len(alerts_for(SPONSOR_PURPOSE)) == 1


def test_with_automatic_renewal_on_the_alerts_say_when_the_card_is_charged(funded):
    worker, sponsor, bundle = funded
    db.session.add(
        RenewalPlan(
            sponsor_id=sponsor.id,
            worker_id=worker.id,
            bundle_id=bundle.id,
            months=3,
            status=PlanStatus.ACTIVE,
            payment_method_id="pm_saved_card",
        )
    )
    db.session.commit()
    send_lapse_alerts(date(2027, 1, 18))  # 14 days left

    [email] = alerts_for(SPONSOR_PURPOSE)
    [text] = alerts_for(WORKER_PURPOSE)
    charge_on = charge_day(date(2027, 1, 31))
    assert "otomatis" in email.subject
    assert local_date_id(charge_on) in email.body
    assert "/sponsor/perpanjangan" in email.body
    assert "/sponsor/perpanjang/" not in email.body  # no "renew now" link: it is taken care of
    assert "otomatis" in text.body
    assert "Minta sponsor" not in text.body
