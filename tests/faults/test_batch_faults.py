"""Faults inside batches: one member's failure stays with that member, a collective
remittance whose answer was lost is reconciled by reference, never paid twice, and the telco's
batch callback — sent for real by the sandbox to Payung's endpoint — is retried when it comes
before the batch is committed and changes nothing when it comes after the fallback poll. (The
kill -9, partner-restart and PostgreSQL-restart tests run on batches too:
``PARTNER_BATCH_APIS`` is in their worker settings.)"""

import time

import requests
from sqlalchemy import func, select

from bundles.models import FulfillmentMethod
from extensions import db
from fulfillment import clock, sweeper
from fulfillment.batches import telco
from fulfillment.models import ClaimCode, EventKind, FulfillmentEvent, ItemStatus, Remittance
from fulfillment.services import start_fulfillment
from tests.fulfillment.batch_support import _no_item_faults, app_config  # noqa: F401 (fixtures)
from tests.fulfillment.batch_support import count_rows as _count
from tests.fulfillment.batch_support import items as _items
from tests.fulfillment.callback_support import forwarding_to
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers
from tests.fulfillment.support import run_until_settled as settle


def test_one_members_failure_inside_a_batch_stays_with_that_member(app, sandbox):
    combo = make_combofit()
    order = make_paid_order(combo.bundle, make_workers(3))
    db.session.flush()
    sandbox.set_faults(down=True)  # the first attempt fails, so the keys exist and are known
    start_fulfillment(order)
    db.session.commit()
    sandbox.set_faults()
    unlucky = _items(FulfillmentMethod.DUES_REMITTANCE)[1]
    requests.post(
        sandbox.url("/_batch_faults"),
        json={"fail_references": [unlucky.idempotency_key]},
        timeout=10,
    ).raise_for_status()
    clock.advance(120)
    sweeper.sweep()
    db.session.commit()
    dues = {i.id: i for i in _items(FulfillmentMethod.DUES_REMITTANCE)}
    assert dues[unlucky.id].status == ItemStatus.RETRYING
    assert dues[unlucky.id].last_error.startswith("partner_unavailable")
    others = [i for i in dues.values() if i.id != unlucky.id]
    assert {i.status for i in others} == {ItemStatus.ISSUED}

    requests.post(sandbox.url("/_batch_faults"), json={}, timeout=10).raise_for_status()
    settle(step_s=60)
    assert {i.status for i in _items()} == {ItemStatus.ISSUED}
    stats = sandbox.stats()
    assert stats["effects_by_kind"]["insurer.dues"] == 3
    assert stats["duplicate_effects"] == 0
    assert _count(Remittance) == 3


def test_a_batch_whose_answer_was_lost_is_reconciled_not_paid_twice(app, sandbox):
    app.config["PARTNER_API_MAX_TRIES"] = 1  # no inline retry: the answer is simply lost
    combo = make_combofit()
    order = make_paid_order(combo.bundle, make_workers(3))
    sandbox.set_faults(drop_after_effect_rate=1.0, paths=["/insurer/v1/collective/dues"])
    start_fulfillment(order)
    db.session.commit()
    dues = _items(FulfillmentMethod.DUES_REMITTANCE)
    # The insurer accepted the collective, but Payung never heard: the items keep the note.
    assert {i.status for i in dues} == {ItemStatus.RETRYING}
    assert all(i.partner_call_started_at is not None for i in dues)
    assert sandbox.stats()["effects_by_kind"]["insurer.dues"] == 3
    sandbox.set_faults()

    settle(step_s=60)
    assert {i.status for i in _items()} == {ItemStatus.ISSUED}
    stats = sandbox.stats()
    assert stats["effects_by_kind"]["insurer.dues"] == 3
    assert stats["duplicate_effects"] == 0
    assert stats["events"].get("insurer.months_paid_twice", 0) == 0
    assert _count(Remittance) == 3
    reconciled = [
        e
        for e in db.session.scalars(select(FulfillmentEvent))
        if e.to_status == ItemStatus.ISSUED and (e.data or {}).get("reconciled")
    ]
    assert {e.item_id for e in reconciled} == {i.id for i in dues}


def _callbacks_to_payung(app, receiver, *, wait_s: float = 60) -> None:
    app.config["PARTNER_CALLBACK_BASE_URL"] = receiver.base_url
    app.config["FULFILLMENT_CALLBACK_WAIT_S"] = wait_s
    receiver.forward_to = forwarding_to(app)


def _delivered(sandbox, timeout_s: float = 20) -> dict:
    deadline = time.monotonic() + timeout_s
    while not sandbox.stats()["callbacks"]:
        assert time.monotonic() < deadline, "the sandbox's callback was never accepted"
        time.sleep(0.05)
    [delivery] = sandbox.stats()["callbacks"]
    return delivery


def _issued_once() -> bool:
    counts = db.session.execute(
        select(FulfillmentEvent.item_id, func.count())
        .where(FulfillmentEvent.kind == EventKind.ISSUED)
        .group_by(FulfillmentEvent.item_id)
    ).all()
    return {item_id for item_id, _n in counts} == {i.id for i in _items()} and {
        n for _id, n in counts
    } == {1}


def test_a_callback_before_the_batch_is_committed_is_retried_until_accepted(
    app, sandbox, receiver, monkeypatch
):
    _callbacks_to_payung(app, receiver)
    send = telco._send

    def slow_to_commit(*args, **kwargs):
        answer = send(*args, **kwargs)
        time.sleep(1)  # the telco calls back while the chunk has not committed its answer
        return answer

    monkeypatch.setattr(telco, "_send", slow_to_commit)
    combo = make_combofit()
    start_fulfillment(make_paid_order(combo.bundle, make_workers(3)))
    db.session.commit()

    delivery = _delivered(sandbox)
    assert delivery["delivered"] and delivery["attempts"] >= 2
    answers = [receiver.next().status for _ in range(delivery["attempts"])]
    assert answers[0] == 404 and answers[-1] == 200  # unknown batch, until it was committed
    db.session.expire_all()
    assert {i.status for i in _items()} == {ItemStatus.ISSUED}
    assert _issued_once()
    assert _count(ClaimCode) == 3
    assert sandbox.stats()["requests"]["by_api"]["telco"] == 1  # no poll was needed


def test_a_callback_delayed_past_the_fallback_poll_changes_nothing(app, sandbox, receiver):
    _callbacks_to_payung(app, receiver)
    sandbox.configure(topup_pending_polls=0)  # the fallback poll finds the top-ups final
    requests.post(
        sandbox.url("/_batch_faults"), json={"callback_delay_ms": 1500}, timeout=10
    ).raise_for_status()
    combo = make_combofit()
    start_fulfillment(make_paid_order(combo.bundle, make_workers(3)))
    db.session.commit()
    clock.advance(61)
    sweeper.sweep()
    db.session.commit()
    assert {i.status for i in _items()} == {ItemStatus.ISSUED}
    assert sandbox.stats()["requests"]["by_api"]["telco"] == 2  # the batch and one poll
    before = [(i.id, i.status, i.delivery) for i in _items()], _count(FulfillmentEvent)

    delivery = _delivered(sandbox)
    assert delivery["delivered"] and delivery["attempts"] == 1
    db.session.expire_all()
    assert ([(i.id, i.status, i.delivery) for i in _items()], _count(FulfillmentEvent)) == before
    assert _issued_once()
    assert _count(ClaimCode) == 3
