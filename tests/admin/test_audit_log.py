"""The audit log: admin actions write append-only events (never personal data), and one
search finds them together with fulfillment and consent history."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from accounts.models import Role
from admin.audit import record_admin_action
from admin.models import AuditEvent
from bundles.dues.data import ensure_default_dues_data
from bundles.models import PartnerStatus
from extensions import AppendOnlyError, db
from fulfillment.models import FulfillmentItem
from fulfillment.operations import actions
from fulfillment.services import start_fulfillment
from workers.models import ConsentAction, ConsentEvent, ConsentKind, EnrolmentSource


def audit_events():
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()


def test_events_keep_no_personal_data_and_cannot_be_rewritten(app, admin_user):
    event = record_admin_action(
        admin_user.id,
        "partner.approve",
        "partner",
        7,
        reason="ok",
        details={"nik": "3201", "phone_e164": "+628123", "note": "+62 812 3456 7890", "months": 3},
    )
    db.session.commit()
    assert event.details == {"months": 3}
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(AppendOnlyError):
        db.session.commit()


def test_admin_actions_are_recorded_only_when_they_happen(admin, admin_user, make_partner):
    ensure_default_dues_data()
    db.session.commit()
    partner = make_partner(status=PartnerStatus.PENDING)
    assert admin.post(f"/admin/mitra/{partner.id}/setujui").status_code == 302
    refused = admin.post(f"/admin/mitra/{partner.id}/tangguhkan", data={"suspend-reason": "no"})
    assert refused.status_code == 422  # a reason of 5 characters at least
    admin.post(f"/admin/mitra/{partner.id}/tangguhkan", data={"suspend-reason": "Fake offers"})
    admin.post(
        "/admin/iuran/tarif",
        data={
            "rate-effective_from": "2027-07",
            "rate-jkk_rate_bp": "150",
            "rate-jkm_flat_idr": "8000",
            "rate-jht_rate_bp": "200",
            "rate-note": "PP baru",
        },
    )
    admin.post("/admin/iuran/tarif", data={"rate-effective_from": "Juli"})  # refused

    assert [(e.action, e.object_type, e.reason) for e in audit_events()] == [
        ("partner.approve", "partner", ""),
        ("partner.suspend", "partner", "Fake offers"),
        ("dues.rates_add", "dues_rate", "PP baru"),
    ]
    assert {e.actor_id for e in audit_events()} == {admin_user.id}


def test_a_fulfillment_action_is_recorded(
    admin, admin_user, paid_order, fulfillment_starts, monkeypatch
):
    monkeypatch.setattr(actions, "_enqueue", lambda item_id: None)
    order = paid_order()
    start_fulfillment(order)
    db.session.commit()
    item = db.session.scalars(select(FulfillmentItem)).first()
    response = admin.post(
        f"/admin/fulfillment/{item.id}/retry", data={"retry-reason": "Partner is back"}
    )
    assert response.status_code == 302
    (event,) = audit_events()
    assert (event.action, event.object_id, event.reason) == (
        "fulfillment.retry",
        str(item.id),
        "Partner is back",
    )


def at(model, row_id, day):
    db.session.execute(
        update(model).where(model.id == row_id).values(created_at=datetime(*day, 5, tzinfo=UTC))
    )


def test_one_search_finds_admin_fulfillment_and_consent_events(
    admin, admin_user, make_user, make_worker, paid_order, fulfillment_starts, count_queries
):
    agent = make_user(Role.PARTNER, email="agent@coop.test")
    order = paid_order()
    start_fulfillment(order)
    worker = make_worker()
    consent = ConsentEvent(
        worker_id=worker.id,
        kind=ConsentKind.LISTING,
        action=ConsentAction.GIVEN,
        recorded_by_id=agent.id,
        source=EnrolmentSource.AGENT_CSV,
    )
    refund = record_admin_action(admin_user.id, "order.refund", "order", order.id, reason="Asked")
    approval = record_admin_action(admin_user.id, "partner.approve", "partner", 99)
    db.session.add(consent)
    db.session.flush()
    at(ConsentEvent, consent.id, (2026, 1, 10))
    at(AuditEvent, refund.id, (2026, 2, 10))
    at(AuditEvent, approval.id, (2026, 3, 10))
    db.session.commit()
    items = db.session.scalar(select(func.count()).select_from(FulfillmentItem))

    def search(**args):
        response = admin.get("/admin/audit/", query_string=args)
        assert response.status_code == 200, response.text
        return response.text

    everything = search()
    assert "Asked" in everything and order.reference in everything
    assert "agent@coop.test" in everything and "admin@payung.test" in everything
    by_order = search(object_type="order", object_id=order.reference.lower())
    assert "Asked" in by_order and "agent@coop.test" not in by_order
    assert by_order.count('href="/admin/fulfillment/') == items  # its parts' history
    by_worker = search(object_type="worker", object_id=str(worker.id))
    assert "agent@coop.test" in by_worker and "Asked" not in by_worker
    by_actor = search(actor="AGENT@coop.test")
    assert "agent@coop.test" in by_actor and "admin@payung.test" not in by_actor
    by_action = search(action="partner.approve")
    assert "/admin/mitra/99" in by_action and "Asked" not in by_action
    by_consent = search(action="consent.listing.given")
    assert "agent@coop.test" in by_consent and "Asked" not in by_consent
    by_date = search(**{"from": "2026-02-01", "to": "2026-02-28"})
    assert "Asked" in by_date and "/admin/mitra/99" not in by_date and "agent@" not in by_date

    with count_queries() as statements:
        search()
    assert len(statements) == 5  # the admin, count, page, actors' emails, order references


def test_bad_searches_say_so_and_show_nothing(admin, admin_user):
    record_admin_action(admin_user.id, "partner.approve", "partner", 5, reason="Checked")
    db.session.commit()
    for args in (
        {"from": "10-01-2026"},
        {"actor": "nobody@example.test"},
        {"object_id": "5"},
        {"object_type": "partner", "object_id": "five"},
        {"object_type": "worker", "object_id": "123456789012"},
    ):
        response = admin.get("/admin/audit/", query_string=args)
        assert response.status_code == 400, args
        assert "alert-error" in response.text and "Checked" not in response.text
