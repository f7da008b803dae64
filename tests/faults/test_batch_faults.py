"""Faults inside batches: one member's failure stays with that member, and a collective
remittance whose answer was lost is reconciled by reference, never paid twice. (The kill -9,
partner-restart and PostgreSQL-restart tests run on batches too: ``PARTNER_BATCH_APIS`` is in
their worker settings.)"""

import requests
from sqlalchemy import select

from bundles.models import FulfillmentMethod
from extensions import db
from fulfillment import clock, sweeper
from fulfillment.models import FulfillmentEvent, ItemStatus, Remittance
from fulfillment.services import start_fulfillment
from tests.fulfillment.batch_support import _no_item_faults, app_config  # noqa: F401 (fixtures)
from tests.fulfillment.batch_support import count_rows as _count
from tests.fulfillment.batch_support import items as _items
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
