"""A partner signs up, completes its profile, waits, and is approved, rejected or suspended."""

import pytest
from sqlalchemy import func, select

from accounts.models import Role, User
from bundles.models import Partner, PartnerKind, PartnerStatus
from extensions import db
from messaging.models import Channel, Message
from tests.conftest import PASSWORD

PROFILE = {
    "name": "Sehat Selalu",
    "kind": "health_app",
    "contact_name": "Dewi Lestari",
    "contact_email": "dewi@sehat.example",
    "contact_phone": "021 555 0101",
    "website": "https://sehat.example",
    "description": "Aplikasi kesehatan preventif.",
}


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def emails_to(address):
    return db.session.scalars(
        select(Message).where(Message.recipient == address, Message.channel == Channel.EMAIL)
    ).all()


def test_a_new_partner_signs_up_completes_its_profile_and_waits(client):
    response = client.post(
        "/daftar",
        data={
            "name": "Sehat Selalu",
            "email": "owner@sehat.example",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "role": "partner",
            "accept_terms": "y",
        },
    )
    assert response.headers["Location"] == "/mitra"
    page = client.get("/mitra")
    assert page.status_code == 200
    assert 'name="contact_email"' in page.text
    assert "owner@sehat.example" in page.text  # prefilled from the account

    response = client.post("/mitra/profil", data=PROFILE)
    assert response.status_code == 302
    partner = db.session.scalar(select(Partner))
    assert (partner.name, partner.kind, partner.status) == (
        "Sehat Selalu",
        PartnerKind.HEALTH_APP,
        PartnerStatus.PENDING,
    )
    waiting = client.get("/mitra")
    assert "dewi@sehat.example" in waiting.text
    # Nothing but the profile opens before approval.
    assert client.get("/mitra/penawaran").headers["Location"] == "/mitra"
    assert client.get("/kelola/paket/").headers["Location"] == "/mitra"
    assert client.get("/mitra/kunci-api").headers["Location"] == "/mitra"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("kind", "bank"),
        ("contact_email", "not-an-email"),
        ("contact_phone", ""),
        ("website", "javascript:alert(1)"),
    ],
)
def test_a_bad_profile_is_refused_and_nothing_is_saved(client, login_as, make_user, field, value):
    login_as(make_user(Role.PARTNER))
    response = client.post("/mitra/profil", data=PROFILE | {field: value})
    assert response.status_code == 200
    assert 'class="alert alert-error"' in response.text
    assert count(Partner) == 0


def test_other_roles_cannot_have_a_partner_profile(client, login_as, make_user):
    login_as(make_user(Role.SPONSOR))
    assert client.post("/mitra/profil", data=PROFILE).status_code == 403
    assert count(Partner) == 0


@pytest.fixture
def pending(make_partner):
    return make_partner(
        status=PartnerStatus.PENDING, contact_email="contact@partner.example", name="Mitra Baru"
    )


@pytest.fixture
def admin_client(client, login_as, make_user):
    admin = make_user(Role.ADMIN)
    login_as(admin)
    client.admin = admin
    return client


def test_the_admin_sees_pending_partners_first_and_approves_one(
    admin_client, pending, make_partner
):
    make_partner(name="Sudah Disetujui")
    listing = admin_client.get("/admin/mitra/")
    assert listing.text.index("Mitra Baru") < listing.text.index("Sudah Disetujui")

    response = admin_client.post(f"/admin/mitra/{pending.id}/setujui")
    assert response.status_code == 302
    db.session.refresh(pending)
    assert pending.status == PartnerStatus.APPROVED
    assert pending.status_changed_by_id == admin_client.admin.id
    (email,) = emails_to("contact@partner.example")
    assert "approved" in email.subject or "disetujui" in email.subject
    assert "/mitra" in email.body


def test_rejecting_needs_a_reason_which_the_partner_then_reads(admin_client, pending, login_as):
    refused = admin_client.post(f"/admin/mitra/{pending.id}/tolak", data={"reject-reason": ""})
    assert refused.status_code == 422
    db.session.refresh(pending)
    assert pending.status == PartnerStatus.PENDING
    assert emails_to("contact@partner.example") == []

    reason = "Dokumen izin usaha belum dilampirkan."
    admin_client.post(f"/admin/mitra/{pending.id}/tolak", data={"reject-reason": reason})
    db.session.refresh(pending)
    assert (pending.status, pending.status_reason) == (PartnerStatus.REJECTED, reason)
    (email,) = emails_to("contact@partner.example")
    assert reason in email.body

    partner_client = login_as(pending.user)
    assert reason in partner_client.get("/mitra").text
    partner_client.post("/mitra/profil", data=PROFILE | {"name": "Mitra Baru Lengkap"})
    db.session.refresh(pending)
    assert (pending.status, pending.status_reason) == (PartnerStatus.PENDING, None)


def test_a_decision_that_does_not_fit_the_status_changes_nothing(admin_client, make_partner):
    approved = make_partner()
    admin_client.post(f"/admin/mitra/{approved.id}/setujui")
    admin_client.post(
        f"/admin/mitra/{approved.id}/tolak",
        data={"reject-reason": "Tidak cocok sama sekali"},
    )
    db.session.refresh(approved)
    assert approved.status == PartnerStatus.APPROVED
    assert approved.status_reason is None


def test_suspending_takes_the_partners_bundles_out_of_the_catalog(
    admin_client, make_partner, make_offer, make_bundle
):
    partner = make_partner(name="Mitra Nakal")
    bundle = make_bundle(offers=[make_offer(partner=partner)], name="Paket Nakal")
    assert "Paket Nakal" in admin_client.get("/paket").text

    admin_client.post(
        f"/admin/mitra/{partner.id}/tangguhkan",
        data={"suspend-reason": "Kode voucher tidak bisa dipakai."},
    )
    db.session.refresh(partner)
    assert partner.status == PartnerStatus.SUSPENDED
    assert "Paket Nakal" not in admin_client.get("/paket").text
    assert admin_client.get(f"/paket/{bundle.slug}").status_code == 404

    admin_client.post(f"/admin/mitra/{partner.id}/aktifkan-kembali")
    assert "Paket Nakal" in admin_client.get("/paket").text


def test_only_admins_decide(client, login_as, pending):
    login_as(pending.user)
    assert client.post(f"/admin/mitra/{pending.id}/setujui").status_code == 403
    assert client.get("/admin/mitra/").status_code == 403
    db.session.refresh(pending)
    assert pending.status == PartnerStatus.PENDING


def test_an_approved_partner_cannot_change_its_kind(client, login_as, make_partner):
    partner = make_partner(PartnerKind.HEALTH_APP)
    login_as(partner.user)
    response = client.post("/mitra/profil", data=PROFILE | {"kind": "insurer"})
    assert response.status_code == 200
    db.session.refresh(partner)
    assert partner.kind == PartnerKind.HEALTH_APP
    assert count(User) == 1
