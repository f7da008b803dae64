"""The three issuers against the partner sandbox: code pool, partner API (telco, health app)
and dues remittance — signed calls, one idempotency key per item reused on every retry,
pending partners polled or calling back, refusals turned into refunds."""

import json
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from bundles.models import FulfillmentMethod, PoolCode, PoolCodeStatus
from core.signing import signed_headers
from extensions import db
from fulfillment import clock, sweeper
from fulfillment.batches import pool as batch_pool
from fulfillment.issuers import code_pool
from fulfillment.issuers.partner_api import member_ref
from fulfillment.models import (
    EventKind,
    FulfillmentEvent,
    FulfillmentItem,
    InsurerMembership,
    ItemStatus,
    Remittance,
)
from fulfillment.services import attempt_item, start_fulfillment
from sponsorship.checkout.models import Order, OrderStatus
from tests.fulfillment.support import (
    add_pool_codes,
    make_combofit,
    make_paid_order,
    make_workers,
    run_until_settled,
)
from vault import decrypt, encrypt


def items(method=None):
    query = select(FulfillmentItem).order_by(FulfillmentItem.id)
    if method:
        query = query.where(FulfillmentItem.method == method)
    return db.session.scalars(query).all()


def paid_combofit(workers=1, **options):
    combo = make_combofit(**options)
    order = make_paid_order(combo.bundle, make_workers(workers))
    start_fulfillment(order)
    db.session.commit()
    return combo, order


# --- telco: pending, poll, callback ---------------------------------------------------------


def test_a_topup_the_telco_leaves_pending_is_polled_until_final(app, sandbox):
    paid_combofit()
    [quota] = items(FulfillmentMethod.PARTNER_API)
    assert quota.status == ItemStatus.AWAITING_PARTNER
    topup_id = quota.partner_reference
    assert topup_id.startswith("tp_")
    assert attempt_item(quota.id) is None  # not due yet: the poll waits its interval
    db.session.commit()

    run_until_settled(step_s=app.config["FULFILLMENT_POLL_INTERVAL_S"] * 1.3)
    db.session.refresh(quota)
    assert quota.status == ItemStatus.ISSUED
    assert quota.delivery["serial_number"].startswith("SN")
    assert quota.delivery["quota_mb"] == 5_120
    [effect] = [e for e in sandbox.stats()["effects"] if e["kind"] == "telco.topup"]
    assert effect["idempotency_key"] == f"{quota.idempotency_key}:topup"
    assert effect["reference"] == quota.idempotency_key


def test_the_telcos_signed_callback_completes_the_topup_once(app, sandbox, client):
    _combo, order = paid_combofit()
    [quota] = items(FulfillmentMethod.PARTNER_API)
    body = json.dumps(
        {
            "topup_id": quota.partner_reference,
            "status": "success",
            "reference": quota.idempotency_key,
            "msisdn": "+6281200000001",
            "quota_mb": 5120,
            "validity_days": 30,
            "serial_number": "SN0000000000001234",
            "completed_at": "2026-01-02T03:04:05Z",
        }
    ).encode()

    def callback(secret=sandbox.secrets["telco"], payload=body, timestamp=None):
        headers = signed_headers(
            secret.encode(), payload, idempotency_key="callback-1", timestamp=timestamp
        )
        return client.post("/api/callbacks/telco", data=payload, headers=headers)

    forged = callback(secret="not-the-telco-secret")
    assert forged.status_code == 401
    now = int(time.time())
    assert callback(timestamp=now + 3600).status_code == 401  # signed an hour ahead
    assert callback(timestamp=now - 3600).status_code == 401
    db.session.refresh(quota)
    assert quota.status == ItemStatus.AWAITING_PARTNER

    assert callback().status_code == 200
    db.session.refresh(quota)
    assert quota.status == ItemStatus.ISSUED
    assert quota.delivery["serial_number"] == "SN0000000000001234"
    assert callback().status_code == 200  # a repeat changes nothing
    issued_events = select(func.count()).where(
        FulfillmentEvent.item_id == quota.id, FulfillmentEvent.kind == EventKind.ISSUED
    )
    assert db.session.scalar(issued_events) == 1
    assert db.session.get(Order, order.id).status == OrderStatus.FULFILLED

    unknown = json.loads(body) | {"reference": "pyg_unknown"}
    assert callback(payload=json.dumps(unknown).encode()).status_code == 404
    assert callback(payload=b"not json").status_code == 400


# --- retries: same key, no duplicate effect -------------------------------------------------


def test_under_partner_faults_every_part_takes_effect_exactly_once(app, sandbox):
    sandbox.set_faults(error_rate=0.2, drop_after_effect_rate=0.2, seed=42)
    app.config["FULFILLMENT_MAX_ATTEMPTS"] = 12
    paid_combofit(workers=30, codes=40)
    run_until_settled(step_s=600)

    assert {item.status for item in items()} == {ItemStatus.ISSUED}
    stats = sandbox.stats()
    assert stats["events"].get("faults.drop_after_effect", 0) > 0
    assert stats["events"].get("faults.error", 0) > 0
    assert stats["effects_by_kind"] == {
        "insurer.registration": 30,
        "insurer.dues": 30,
        "telco.topup": 30,
    }
    assert stats["duplicate_effects"] == 0
    assert stats["idempotent_replays"] > 0  # lost answers were replayed, not redone
    retried = db.session.scalar(
        select(func.count()).where(FulfillmentEvent.kind == EventKind.RETRY_SCHEDULED)
    )
    assert retried > 0


def test_a_wrong_secret_is_retried_not_refunded_at_once(app, sandbox):
    app.config["PARTNER_SANDBOX_SECRETS"] = {**sandbox.secrets, "telco": "rotated-wrongly"}
    paid_combofit()
    [quota] = items(FulfillmentMethod.PARTNER_API)
    assert quota.status == ItemStatus.RETRYING
    assert quota.last_error.startswith("invalid_signature")
    app.config["PARTNER_SANDBOX_SECRETS"] = dict(sandbox.secrets)  # an admin fixes it
    run_until_settled(step_s=600)
    db.session.refresh(quota)
    assert quota.status == ItemStatus.ISSUED
    assert sandbox.stats()["events"]["signature_failures"] >= 1


def test_the_offers_own_endpoint_and_secret_are_used_when_set(app, sandbox):
    app.config["PARTNER_SANDBOX_FALLBACK"] = False
    combo = make_combofit()
    for offer, api in ((combo.quota, "telco"), (combo.dues, "insurer")):
        offer.api_endpoint_url = f"{sandbox.base_url}/{api}/v1"
        offer.api_secret_encrypted = encrypt(sandbox.secrets[api])
    db.session.commit()
    start_fulfillment(make_paid_order(combo.bundle, make_workers(1)))
    db.session.commit()
    run_until_settled(step_s=30)
    assert {item.status for item in items()} == {ItemStatus.ISSUED}


def test_an_offer_without_an_endpoint_waits_for_configuration(app, sandbox):
    app.config["PARTNER_SANDBOX_FALLBACK"] = False
    paid_combofit()
    [quota] = items(FulfillmentMethod.PARTNER_API)
    assert quota.status == ItemStatus.RETRYING
    assert quota.last_error.startswith("not_configured")
    assert sandbox.stats()["requests"]["by_api"].get("telco", 0) == 0


# --- health app -----------------------------------------------------------------------------


def test_a_health_activation_keeps_the_code_encrypted_and_the_worker_pseudonymous(app, sandbox):
    paid_combofit(health_method=FulfillmentMethod.PARTNER_API)
    [health] = [
        i for i in items(FulfillmentMethod.PARTNER_API) if i.partner_reference.startswith("act_")
    ]
    assert health.status == ItemStatus.ISSUED
    secret = json.loads(decrypt(health.delivery_encrypted))
    assert len(secret["activation_code"]) == 14
    assert secret["activation_code"] not in json.dumps(health.delivery)
    assert health.delivery["expires_at"].endswith("Z")
    worker_id = db.session.get(Order, health.order_id).lines[0].worker_id
    ref = member_ref(worker_id)
    assert ref.startswith("w-") and str(worker_id) not in ref[2:6]


# --- code pool ------------------------------------------------------------------------------


def test_an_empty_pool_is_retried_and_refilled_codes_are_issued(app, sandbox):
    combo = make_combofit(codes=0)
    start_fulfillment(make_paid_order(combo.bundle, make_workers(1)))
    db.session.commit()
    [health] = items(FulfillmentMethod.CODE_POOL)
    assert health.status == ItemStatus.RETRYING
    assert health.last_error.startswith("out_of_stock")

    add_pool_codes(combo.health, 2)  # the partner uploads more codes
    db.session.commit()
    run_until_settled(step_s=120)
    db.session.refresh(health)
    assert health.status == ItemStatus.ISSUED
    issued = select(func.count()).where(PoolCode.status == PoolCodeStatus.ISSUED)
    assert db.session.scalar(issued) == 1


# --- dues -----------------------------------------------------------------------------------


def test_dues_register_the_worker_once_and_reuse_the_kpj(app, sandbox):
    combo = make_combofit(codes=5)
    worker = make_workers(1)[0]
    for first_month in ("2026-01-01", "2026-04-01"):
        order = make_paid_order(combo.bundle, [worker], first_month=date.fromisoformat(first_month))
        start_fulfillment(order)
        db.session.commit()
        run_until_settled(step_s=30)

    stats = sandbox.stats()
    assert stats["effects_by_kind"]["insurer.registration"] == 1
    assert stats["effects_by_kind"]["insurer.dues"] == 2
    assert stats["events"].get("insurer.months_paid_twice", 0) == 0
    assert db.session.scalar(select(func.count()).select_from(InsurerMembership)) == 1
    remittances = db.session.scalars(select(Remittance).order_by(Remittance.id)).all()
    assert [r.months[0] for r in remittances] == ["2026-01", "2026-04"]
    assert decrypt(remittances[0].kpj_encrypted) == decrypt(remittances[1].kpj_encrypted)
    db.session.refresh(worker)
    assert str(worker.covered_until) == "2026-06-30"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"insurer_consent_at": None}, "no_insurer_consent"),
        ({"nik": "3201015205900000"}, "nik_not_found"),  # serial 0000: the registry has none
    ],
)
def test_dues_the_insurer_cannot_take_fail_and_nothing_is_paid(app, sandbox, overrides, code):
    combo = make_combofit(codes=5)
    start_fulfillment(make_paid_order(combo.bundle, make_workers(1, **overrides)))
    db.session.commit()
    [dues] = items(FulfillmentMethod.DUES_REMITTANCE)
    assert dues.status in (ItemStatus.FAILED, ItemStatus.REFUNDED)
    assert dues.last_error.startswith(code)
    assert sandbox.stats()["effects_by_kind"].get("insurer.dues", 0) == 0
    assert db.session.scalar(select(func.count()).select_from(Remittance)) == 0


def test_a_crash_inside_an_attempt_is_counted_and_retried(app, sandbox, monkeypatch):
    def explode(*_, **__):
        raise RuntimeError("bug")

    # Both paths: the chunk's pool claim crashes, so its items go on one by one and crash again.
    monkeypatch.setattr(code_pool, "issue_pool_code", explode)
    monkeypatch.setattr(batch_pool, "draw_codes", explode)
    combo = make_combofit()
    start_fulfillment(make_paid_order(combo.bundle, make_workers(1)))
    db.session.commit()
    [health] = items(FulfillmentMethod.CODE_POOL)
    assert health.status == ItemStatus.RETRYING
    assert health.last_error == "internal_error: RuntimeError"
    monkeypatch.undo()
    clock.advance(3_600)
    sweeper.sweep()
    db.session.commit()
    db.session.refresh(health)
    assert health.status == ItemStatus.ISSUED
