"""The admin's fulfillment console: only admins, the true state of every part, and the four
actions — retry, resend, void, substitute — each recorded with who and why; bad requests
change nothing."""

import re

import pytest
from sqlalchemy import func, select, update

from accounts.models import Role
from bundles.models import FulfillmentMethod, Offer, OfferKind, PoolCode, PoolCodeStatus
from extensions import db
from fulfillment.claims import services as claims
from fulfillment.models import (
    ClaimCode,
    EventKind,
    FulfillmentEvent,
    FulfillmentItem,
    IssuedCode,
    ItemStatus,
)
from fulfillment.services import start_fulfillment
from messaging.models import Message
from sponsorship.checkout.models import Order, OrderStatus, Refund
from tests.fulfillment.support import (
    add_pool_codes,
    make_combofit,
    make_paid_order,
    make_workers,
    run_until_settled,
)

CODE = re.compile(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}-[0-9A-Z]")


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN)


def health_item():
    return db.session.scalar(
        select(FulfillmentItem).where(FulfillmentItem.method == FulfillmentMethod.CODE_POOL)
    )


def events(item, kind):
    return db.session.scalars(
        select(FulfillmentEvent).where(
            FulfillmentEvent.item_id == item.id, FulfillmentEvent.kind == kind
        )
    ).all()


def fulfilled_order(pay=None, *, codes=5):
    combo = make_combofit(codes=codes)
    order = make_paid_order(combo.bundle, make_workers(1), pay=pay)
    start_fulfillment(order)
    db.session.commit()
    run_until_settled(step_s=600)
    return combo, order


@pytest.mark.parametrize("role", [Role.SPONSOR, Role.PARTNER, Role.WORKER])
def test_only_admins_see_fulfillment(app, sandbox, client, login_as, make_user, role):
    fulfilled_order()
    item = health_item()
    assert client.get("/admin/fulfillment").status_code == 302
    login_as(make_user(role))
    for path in (
        "/admin/fulfillment",
        f"/admin/fulfillment/{item.id}",
        "/admin/fulfillment/remittances",
    ):
        assert client.get(path).status_code == 403
    response = client.post(f"/admin/fulfillment/{item.id}/retry", data={"retry-reason": "hmm ok"})
    assert response.status_code == 403
    assert not events(item, EventKind.RETRIED)


def test_the_list_puts_failures_first_and_the_item_page_tells_its_story(
    app, sandbox, client, login_as, admin
):
    fulfilled_order(codes=0)  # the pool is empty: the voucher fails (no Stripe payment: no refund)
    item = health_item()
    assert item.status == ItemStatus.FAILED
    login_as(admin)
    listing = client.get("/admin/fulfillment")
    assert listing.status_code == 200
    assert f"#{item.id}" in listing.text
    assert "out_of_stock" in listing.text
    issued_only = client.get("/admin/fulfillment?status=issued")
    assert f"#{item.id}<" not in issued_only.text
    page = client.get(f"/admin/fulfillment/{item.id}")
    assert page.status_code == 200
    assert item.idempotency_key in page.text
    worker_phone = db.session.scalar(select(func.min(Message.recipient)))  # nothing sent yet
    assert worker_phone is None or worker_phone not in page.text
    assert client.get("/admin/fulfillment/999999").status_code == 404


def test_retry_brings_a_failed_part_back_and_records_who_and_why(
    app, sandbox, client, login_as, admin
):
    combo, _order = fulfilled_order(codes=0)
    item = health_item()
    add_pool_codes(combo.health, 1)
    db.session.commit()
    login_as(admin)
    response = client.post(
        f"/admin/fulfillment/{item.id}/retry", data={"retry-reason": "codes uploaded"}
    )
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.status == ItemStatus.ISSUED
    [retried] = events(item, EventKind.RETRIED)
    assert (retried.actor_id, retried.reason) == (admin.id, "codes uploaded")
    assert retried.from_status == ItemStatus.FAILED
    # the line is complete now: the worker gets the bundle code
    assert db.session.scalar(select(func.count()).select_from(ClaimCode)) == 1


def test_a_refunded_part_cannot_be_retried_and_nothing_changes(
    app, sandbox, client, login_as, admin, pay
):
    fulfilled_order(pay, codes=0)
    item = health_item()
    assert item.status == ItemStatus.REFUNDED
    login_as(admin)
    response = client.post(f"/admin/fulfillment/{item.id}/retry", data={"retry-reason": "please"})
    assert response.status_code == 422
    assert "refunded to the sponsor" in response.text or "dikembalikan" in response.text
    db.session.refresh(item)
    assert item.status == ItemStatus.REFUNDED
    assert not events(item, EventKind.RETRIED)


def test_a_reason_is_required(app, sandbox, client, login_as, admin):
    fulfilled_order(codes=0)
    item = health_item()
    login_as(admin)
    response = client.post(
        f"/admin/fulfillment/{item.id}/void", data={"void-reason": " ", "void-understood": "y"}
    )
    assert response.status_code == 422
    unknown = client.post(f"/admin/fulfillment/{item.id}/delete", data={"x-reason": "gone!"})
    assert unknown.status_code == 404
    db.session.refresh(item)
    assert item.status == ItemStatus.FAILED
    assert not events(item, EventKind.VOIDED)


def test_resend_sends_a_new_code_and_the_old_one_stops_working(
    app, sandbox, client, login_as, admin
):
    fulfilled_order()
    item = health_item()
    [first_sms] = db.session.scalars(select(Message).where(Message.purpose == "claim_code")).all()
    old_code = CODE.search(first_sms.full_body()).group()
    login_as(admin)
    response = client.post(
        f"/admin/fulfillment/{item.id}/resend", data={"resend-reason": "worker lost the SMS"}
    )
    assert response.status_code == 302
    sms = db.session.scalars(
        select(Message).where(Message.purpose == "claim_code").order_by(Message.id)
    ).all()
    assert len(sms) == 2 and sms[1].recipient == first_sms.recipient
    new_code = CODE.search(sms[1].full_body()).group()
    assert new_code != old_code
    assert claims.find_claim_code(old_code) is None
    claim = claims.find_claim_code(new_code)
    assert (claim.version, claim.sent_count) == (2, 2)
    siblings = db.session.scalars(select(FulfillmentItem)).all()
    for sibling in siblings:
        [resent] = events(sibling, EventKind.RESENT)
        assert resent.actor_id == admin.id


def test_void_cancels_the_code_and_refunds_the_sponsor(app, sandbox, client, login_as, admin, pay):
    fulfilled_order(pay)
    item = health_item()
    login_as(admin)
    response = client.post(
        f"/admin/fulfillment/{item.id}/void",
        data={"void-reason": "partner says code invalid", "void-understood": "y"},
    )
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.status == ItemStatus.REFUNDED
    voided = select(PoolCode.status).join(IssuedCode, IssuedCode.pool_code_id == PoolCode.id)
    assert db.session.scalars(voided).all() == [PoolCodeStatus.VOID]
    refund = db.session.scalar(select(Refund))
    assert refund.created_by_id == admin.id
    assert refund.amount_idr == 25_000
    [voided] = events(item, EventKind.VOIDED)
    assert voided.reason == "partner says code invalid"


def test_dues_the_insurer_accepted_cannot_be_voided(app, sandbox, client, login_as, admin):
    fulfilled_order()
    dues = db.session.scalar(
        select(FulfillmentItem).where(FulfillmentItem.method == FulfillmentMethod.DUES_REMITTANCE)
    )
    login_as(admin)
    response = client.post(
        f"/admin/fulfillment/{dues.id}/void",
        data={"void-reason": "test it", "void-understood": "y"},
    )
    assert response.status_code == 422
    db.session.refresh(dues)
    assert dues.status == ItemStatus.ISSUED


def test_substitute_issues_the_part_from_another_offer(app, sandbox, client, login_as, admin):
    combo, _order = fulfilled_order(codes=0)
    item = health_item()
    other = Offer(
        partner_id=combo.health.partner_id,
        kind=OfferKind.HEALTH_APP,
        name_id="Fita Premium (stok lain)",
        name_en="Fita Premium (other stock)",
        premium_days=30,
        fulfillment_method=FulfillmentMethod.CODE_POOL,
    )
    quota_like = combo.quota
    db.session.add(other)
    db.session.flush()
    add_pool_codes(other, 1)
    db.session.commit()
    login_as(admin)
    page = client.get(f"/admin/fulfillment/{item.id}")
    assert "Fita Premium (other stock)" in page.text
    refused = client.post(
        f"/admin/fulfillment/{item.id}/substitute",
        data={"substitute-offer_id": quota_like.id, "substitute-reason": "wrong kind"},
    )
    assert refused.status_code == 422
    db.session.refresh(item)
    assert item.offer_id == combo.health.id

    old_key = item.idempotency_key
    response = client.post(
        f"/admin/fulfillment/{item.id}/substitute",
        data={"substitute-offer_id": other.id, "substitute-reason": "pool A is empty"},
    )
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.status == ItemStatus.ISSUED
    assert item.offer_id == other.id
    assert item.idempotency_key != old_key
    [substituted] = events(item, EventKind.SUBSTITUTED)
    assert substituted.data["from_offer_id"] == combo.health.id
    assert substituted.actor_id == admin.id


def test_substituting_an_issued_part_reopens_a_fulfilled_order(
    app, sandbox, client, login_as, admin
):
    combo, order = fulfilled_order(codes=5)
    assert db.session.get(Order, order.id).status == OrderStatus.FULFILLED
    item = health_item()
    assert item.status == ItemStatus.ISSUED
    empty = Offer(
        partner_id=combo.health.partner_id,
        kind=OfferKind.HEALTH_APP,
        name_id="Fita Premium (stok kosong)",
        name_en="Fita Premium (empty stock)",
        premium_days=30,
        fulfillment_method=FulfillmentMethod.CODE_POOL,
    )
    db.session.add(empty)
    db.session.flush()
    add_pool_codes(empty, 1)  # listed needs stock; take it away after listing
    db.session.commit()
    db.session.execute(
        update(PoolCode).where(PoolCode.offer_id == empty.id).values(status=PoolCodeStatus.VOID)
    )
    db.session.commit()

    login_as(admin)
    response = client.post(
        f"/admin/fulfillment/{item.id}/substitute",
        data={"substitute-offer_id": empty.id, "substitute-reason": "old code was leaked"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    # The new part is waiting for stock, so the order must not say "fulfilled".
    assert db.session.get(FulfillmentItem, item.id).status != ItemStatus.ISSUED
    assert db.session.get(Order, order.id).status == OrderStatus.FULFILLING
