"""A partner call whose outcome Payung never recorded (the worker died mid-call, the answer was
lost) is not simply repeated: the next attempt asks the partner by the item's reference whether
the first call happened, records it if so, and only then calls. So a partner that forgot the
Idempotency-Key (a restart, an expiry) still acts once."""

from sqlalchemy import select, update

from bundles.models import FulfillmentMethod
from extensions import db
from fulfillment import clock, tasks
from fulfillment.issuers.partner_api import member_ref
from fulfillment.issuers.partner_client import PartnerClient
from fulfillment.models import (
    EventKind,
    FulfillmentEvent,
    FulfillmentItem,
    ItemStatus,
    Remittance,
)
from fulfillment.services import start_fulfillment
from sponsorship.checkout.models import OrderLine
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers
from tests.fulfillment.support import run_until_settled as settle
from vault import decrypt
from workers.models import Worker


def _items() -> dict[str, FulfillmentItem]:
    found = db.session.scalars(select(FulfillmentItem).order_by(FulfillmentItem.id)).all()
    return {item.offer.kind: item for item in found}


def _paid_while_partners_are_down(sandbox) -> dict[str, FulfillmentItem]:
    sandbox.set_faults(down=True)
    combo = make_combofit(health_method=FulfillmentMethod.PARTNER_API)
    start_fulfillment(make_paid_order(combo.bundle, make_workers(1)))
    db.session.commit()
    sandbox.set_faults()
    items = _items()
    assert {item.status for item in items.values()} == {ItemStatus.RETRYING}
    return items


def _reconciled_events() -> list[FulfillmentEvent]:
    events = db.session.scalars(select(FulfillmentEvent)).all()
    return [e for e in events if (e.data or {}).get("reconciled")]


def test_an_effect_the_partner_made_under_a_forgotten_key_is_recorded_not_repeated(app, sandbox):
    items = _paid_while_partners_are_down(sandbox)
    # The partner's answers never came back (the sandbox was down), so every item still
    # carries the note of a call whose outcome is unknown.
    assert all(item.partner_call_started_at is not None for item in items.values())
    worker = db.session.scalar(select(Worker))
    line = db.session.scalar(select(OrderLine))
    # What the partners did for those calls, under keys they have since forgotten.
    dues, topup, health = items["insurance_dues"], items["data_quota"], items["health_app"]
    registration = sandbox.signed_post(
        "/insurer/v1/registrations",
        {
            "nik": decrypt(worker.nik_encrypted),
            "full_name": worker.full_name,
            "birth_date": worker.birth_date.isoformat(),
            "reference": dues.idempotency_key,
        },
        "forgotten-1",
    ).json()
    snapshot_months = [m["month"][:7] for m in dues.part.price_snapshot["months"]]
    remittance = sandbox.signed_post(
        "/insurer/v1/dues",
        {
            "kpj": registration["kpj"],
            "months": snapshot_months,
            "programmes": ["JKK", "JKM"],
            "amount_idr": dues.part.amount_idr,
            "reference": dues.idempotency_key,
        },
        "forgotten-2",
    )
    assert remittance.status_code == 201, remittance.text
    made_topup = sandbox.signed_post(
        "/telco/v1/topups",
        {
            "msisdn": worker.phone_e164,
            "package_code": "P",
            "quota_mb": 5_120,
            "validity_days": 30,
            "reference": topup.idempotency_key,
        },
        "forgotten-3",
    ).json()
    activation = sandbox.signed_post(
        "/health/v1/activations",
        {
            "voucher_plan": "P",
            "premium_days": 30,
            "reference": health.idempotency_key,
            "member_ref": member_ref(worker.id),
        },
        "forgotten-4",
    ).json()
    assert line is not None

    settle(step_s=600)

    items = _items()
    assert {item.status for item in items.values()} == {ItemStatus.ISSUED}
    stats = sandbox.stats()
    assert stats["duplicate_effects"] == 0, stats["duplicate_references"]
    assert stats["effects_by_kind"] == {
        "insurer.registration": 1,
        "insurer.dues": 1,
        "telco.topup": 1,
        "health.activation": 1,
    }
    assert items["data_quota"].partner_reference == made_topup["topup_id"]
    assert items["health_app"].partner_reference == activation["activation_id"]
    recorded = db.session.scalar(select(Remittance))
    assert recorded.partner_remittance_id == remittance.json()["remittance_id"]
    assert len(_reconciled_events()) >= 3
    assert all(item.partner_call_started_at is None for item in items.values())


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, the transaction is lost."""


def test_a_worker_killed_during_the_call_leaves_a_note_and_the_next_attempt_asks_first(
    app, sandbox, monkeypatch
):
    items = _paid_while_partners_are_down(sandbox)
    dues = items["insurance_dues"]
    db.session.execute(update(FulfillmentItem).values(partner_call_started_at=None))
    db.session.commit()
    real_post = PartnerClient.post

    def post_then_die(self, *args, **kwargs):
        real_post(self, *args, **kwargs)
        raise WorkerKilled

    monkeypatch.setattr(PartnerClient, "post", post_then_die)
    clock.advance(3600)
    try:
        tasks.issue_item(dues.id)
    except WorkerKilled:
        db.session.rollback()
    else:  # pragma: no cover
        raise AssertionError("the call should have been made")
    monkeypatch.setattr(PartnerClient, "post", real_post)

    dues = db.session.get(FulfillmentItem, dues.id, populate_existing=True)
    assert dues.status == ItemStatus.RETRYING  # the attempt's own writes died with it
    assert dues.partner_call_started_at is not None  # but the note was committed first
    assert sandbox.stats()["effects_by_kind"] == {"insurer.registration": 1}

    before = sandbox.stats()
    tasks.issue_item(dues.id)
    dues = db.session.get(FulfillmentItem, dues.id, populate_existing=True)
    assert dues.status == ItemStatus.ISSUED
    assert dues.partner_call_started_at is None
    issued = [e for e in dues.events if e.kind == EventKind.ISSUED]
    assert issued and issued[0].data.get("amount_idr") == dues.part.amount_idr
    after = sandbox.stats()
    # Asked first (registration found, dues not found), then paid: no blind repeat of the
    # registration call, so no answer had to be replayed from a key the partner remembered.
    assert after["requests"]["by_api"]["insurer"] - before["requests"]["by_api"]["insurer"] == 3
    assert after["idempotent_replays"] == before["idempotent_replays"]
    assert after["effects_by_kind"] == {"insurer.registration": 1, "insurer.dues": 1}
    assert after["duplicate_effects"] == 0
