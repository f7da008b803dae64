"""Mass assignment: a request cannot set what its sender may not choose.

- Every WTForms form (found by walking the FlaskForm subclasses) is checked for privileged
  field names and for object ids in the body; each one that exists is listed here with the
  reason it is safe and the test that proves it.
- Forms bind only their declared fields, so extra fields (role, status, partner_id, …) posted to
  real forms change nothing: proven end to end on sign-up, the partner profile, invitations,
  the cart and the worker's card.
- Every JSON body schema of the partner API refuses unknown fields (generated from
  partnerhome/api/schemas.py), and the API answers 422 and changes nothing when they are sent.
"""

import importlib
import inspect
import pkgutil
from typing import Any

import marshmallow as ma
import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select

import partnerhome.api.schemas as schemas
from accounts.models import Role, User
from bundles.models import Bundle, Offer, Partner, PartnerKind, PartnerStatus
from extensions import db
from sponsorship.checkout.cart import add_to_cart
from sponsorship.checkout.models import CartLine
from tests.conftest import PASSWORD
from tests.fulfillment.support import make_combofit, make_workers
from tests.security.world import World, build_world, changed_tables, csrf_token_for, snapshot
from workers.models import Invitation, Worker

EXTRAS = {
    "role": "admin",
    "is_admin": "1",
    "status": "approved",
    "partner_id": "999",
    "sponsor_id": "999",
    "user_id": "999",
    "worker_id": "999",
    "amount_idr": "1",
    "total_idr": "1",
    "owner_partner_id": "999",
    "is_listed": "1",
    "is_active": "1",
}
PRIVILEGED = set(EXTRAS) - {"is_active", "is_listed", "worker_id"}

# Privileged names that a form does declare, and why that is safe.
ALLOWED_PRIVILEGED = {
    ("SignUpForm", "role"): "sponsor or partner only: test_sign_up_cannot_pick_a_privileged_role",
    ("BandForm", "amount_idr"): "the admin sets an income band's amount",
    ("RemittanceFileForm", "partner_id"): "the admin picks the insurer of the remittance file",
    ("DirectoryFilterForm", "status"): "a coverage-status filter of the directory, not a column",
    ("CoverMatchingForm", "status"): "the same filter",
    ("_DirectoryFilterFields", "status"): "the same filter",
}
# Object ids carried in a form body, and what keeps them to the sender's own objects.
BODY_IDS = {
    (
        "RemoveLineForm",
        "line_id",
    ): "only the sender's cart: test_a_foreign_cart_line_is_not_removed",
    ("ResolveForm", "bundle_id"): "only published bundles are offered as choices",
    ("ResolveForm", "offer_id"): "checked against the sender's cart issues",
    ("BundlePartForm", "offer_id"): "choices are the offers the partner may compose",
    ("SubstituteForm", "offer_id"): "admin only",
    ("RenewalForm", "worker_id"): "a worker the sponsor covered (renewal views)",
    ("RenewalForm", "bundle_id"): "a published bundle",
    ("SelectWorkersForm", "worker_id"): "listed workers are public; selections keep only those",
}


PACKAGES = (
    "accounts",
    "workers",
    "bundles",
    "sponsorship",
    "fulfillment",
    "admin",
    "workerhome",
    "partnerhome",
    "pages",
)


def all_forms() -> list[type]:
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            importlib.import_module(info.name)
    found, todo = set(), [FlaskForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted(found, key=lambda form: (form.__module__, form.__name__))


def field_names(form: type) -> set[str]:
    return {
        name
        for name, value in inspect.getmembers(form)
        if not name.startswith("_") and hasattr(value, "field_class")
    }


def test_forms_declare_no_privileged_field_or_object_id_without_a_reason(app):
    forms = all_forms()
    assert len(forms) >= 30
    unexplained = []
    for form in forms:
        names = field_names(form)
        for name in sorted(names):
            if name.endswith("_id") and f"{name[:-3]}_en" in names:
                continue  # an Indonesian text beside its English one, not an id
            key = (form.__name__, name)
            if name in PRIVILEGED and key not in ALLOWED_PRIVILEGED:
                unexplained.append(f"{form.__module__}.{form.__name__}.{name}: privileged")
            if name.endswith("_id") and name not in PRIVILEGED and key not in BODY_IDS:
                unexplained.append(f"{form.__module__}.{form.__name__}.{name}: an object id")
    assert unexplained == [], "\n".join(unexplained)


# --- forms, end to end ------------------------------------------------------------------------


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"WTF_CSRF_ENABLED": True}


def signup_form(token: str, **changes: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "Ibu Baru",
        "email": "baru@example.com",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "role": "sponsor",
        "accept_terms": "y",
        **changes,
    }


def test_sign_up_cannot_pick_a_privileged_role(app, cheap_passwords):
    client = app.test_client()
    token = csrf_token_for(client)
    for role in ("admin", "worker"):
        response = client.post("/daftar", data=signup_form(token, role=role))
        assert response.status_code == 200, role  # the form again, with its error
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
    extras = {k: v for k, v in EXTRAS.items() if k != "role"}
    response = client.post("/daftar", data=signup_form(token, **extras))
    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert user.role == Role.SPONSOR and user.email == "baru@example.com"
    assert user.is_active


@pytest.fixture
def world(app) -> World:
    return build_world(app)


def test_partner_profile_cannot_approve_itself_or_move_to_another_user(app, world):
    pending_user = User(role=Role.PARTNER, email="pending@example.test", display_name="P")
    db.session.add(pending_user)
    db.session.commit()
    partner = Partner(
        user_id=pending_user.id,
        name="Menunggu",
        kind=PartnerKind.HEALTH_APP,
        status=PartnerStatus.PENDING,
    )
    db.session.add(partner)
    db.session.commit()
    client = world.client("partner_a")
    client = type(client)(app, app.response_class)
    with client.session_transaction() as session:
        session["_user_id"] = pending_user.get_id()
    token = csrf_token_for(client)
    data = {
        "csrf_token": token,
        "name": "Menunggu Diubah",
        "kind": "health_app",
        "contact_name": "Ani",
        "contact_email": "ani@example.com",
        "contact_phone": "0812 1111 2222",
        **EXTRAS,
        "partner_id": str(world.ids["partner_id"]),
    }
    response = client.post("/mitra/profil", data=data)
    assert response.status_code in (200, 302)
    db.session.expire_all()
    partner = db.session.get(Partner, partner.id)
    assert partner.name == "Menunggu Diubah"  # the form did go through
    assert partner.status == PartnerStatus.PENDING
    assert partner.user_id == pending_user.id
    assert db.session.get(User, pending_user.id).role == Role.PARTNER


def test_an_invitation_is_always_the_senders(world):
    client = world.client("sponsor_b")
    token = csrf_token_for(client)
    response = client.post(
        "/sponsor/undang",
        data={
            "csrf_token": token,
            "full_name": "Sari Diundang",
            "phone": "0813 5555 6666",
            **EXTRAS,
            "sponsor_id": str(world.users["sponsor_a"].id),
        },
    )
    assert response.status_code == 302
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.full_name == "Sari Diundang")
    )
    assert invitation.sponsor_id == world.users["sponsor_b"].id
    assert invitation.status == "pending"


def test_a_foreign_cart_line_is_not_removed(world):
    combo = make_combofit(codes=1)
    worker_a, worker_b = make_workers(2)
    add_to_cart(world.users["sponsor_a"], [worker_a.id], bundle_id=combo.bundle.id, months=1)
    add_to_cart(world.users["sponsor_b"], [worker_b.id], bundle_id=combo.bundle.id, months=1)
    db.session.commit()
    line_a = db.session.scalar(select(CartLine.id).where(CartLine.worker_id == worker_a.id))
    client = world.client("sponsor_b")
    token = csrf_token_for(client)
    before = snapshot()
    response = client.post("/keranjang/hapus", data={"csrf_token": token, "line_id": line_a})
    assert response.status_code == 302
    assert changed_tables(before, snapshot()) == []


def test_the_workers_card_changes_only_the_card(world):
    client = world.client("worker_a")
    worker_id = world.ids["worker_a_id"]
    before = db.session.get(Worker, worker_id)
    fixed = (before.user_id, before.is_listed, before.full_name, before.nik_digest)
    token = csrf_token_for(client)
    response = client.post(
        "/saya/data/kartu",
        data={
            "csrf_token": token,
            "occupation": "fisher",
            "province": "32",
            "regency": "Kab. Bogor",
            "story": "Melaut setiap pagi.",
            **EXTRAS,
            "full_name": "Nama Palsu",
            "nik": "3201011205900001",
        },
    )
    assert response.status_code == 302, response.status_code
    db.session.expire_all()
    after = db.session.get(Worker, worker_id)
    assert after.occupation == "fisher"  # the form did go through
    assert (after.user_id, after.is_listed, after.full_name, after.nik_digest) == fixed


# --- the partner API's JSON bodies ------------------------------------------------------------


def input_schemas() -> list[type]:
    return [
        obj
        for _name, obj in inspect.getmembers(schemas, inspect.isclass)
        if issubclass(obj, ma.Schema) and obj.__module__ == schemas.__name__
    ]


def test_every_api_schema_refuses_unknown_fields():
    found = input_schemas()
    assert len(found) >= 10
    lax = [schema.__name__ for schema in found if schema().unknown != ma.RAISE]
    assert lax == []


HEALTH = {
    "kind": "health_app",
    "name_id": "Premium 30 hari",
    "name_en": "Premium, 30 days",
    "unit_price_idr": 25_000,
    "billing": "monthly",
    "premium_days": 30,
    "fulfillment_method": "code_pool",
}
JSON_EXTRAS = {
    "partner_id": 999,
    "status": "approved",
    "role": "admin",
    "is_admin": True,
    "user_id": 1,
    "sponsor_id": 1,
    "amount_idr": 1,
}


@pytest.mark.parametrize("extra", sorted(JSON_EXTRAS))
def test_api_bodies_with_extra_fields_are_refused_and_change_nothing(world, extra):
    auth = {"Authorization": f"Bearer {world.api_keys['partner_b']}"}
    client = world.client("anonymous")
    offer_id = db.session.scalar(
        select(Offer.id).where(Offer.partner_id != world.ids["partner_id"]).limit(1)
    )
    own = client.post("/api/v1/offers", json=HEALTH, headers=auth)
    assert own.status_code == 201, own.get_json()
    own_id = own.get_json()["id"]
    value = JSON_EXTRAS[extra]
    before = snapshot()
    calls = [
        ("POST", "/api/v1/offers", HEALTH | {extra: value}),
        ("PATCH", f"/api/v1/offers/{own_id}", {"name_id": "Diubah", extra: value}),
        (
            "POST",
            f"/api/v1/offers/{own_id}/codes",
            {"codes": [{"code": "X-0001", "expires_on": "2030-12-31"}], extra: value},
        ),
        ("POST", "/api/v1/workers", {"workers": [], extra: value}),
    ]
    for method, path, body in calls:
        response = client.open(path, method=method, json=body, headers=auth)
        assert response.status_code == 422, (path, response.status_code)
        assert extra in response.get_data(as_text=True)  # the answer names the field
    assert changed_tables(before, snapshot()) == []
    assert offer_id is not None


def test_a_renewal_cannot_be_set_up_for_another_sponsors_worker(world):
    client = world.client("sponsor_b")
    token = csrf_token_for(client)
    before = snapshot()
    response = client.post(
        "/sponsor/perpanjangan/baru",
        data={
            "csrf_token": token,
            "worker_id": world.ids["worker_a_id"],
            "bundle_id": world.ids["combo_bundle_id"],
            "months": "3",
            **{k: v for k, v in EXTRAS.items() if k != "worker_id"},
        },
    )
    assert response.status_code in (302, 400, 404)
    assert changed_tables(before, snapshot()) == []


def test_a_partner_cannot_put_another_partners_private_offer_in_its_bundle(world):
    partner_b = db.session.scalar(
        select(Partner).where(Partner.user_id == world.users["partner_b"].id)
    )
    bundle = Bundle(
        slug="paket-b", name="Paket B", is_published=False, owner_partner_id=partner_b.id
    )
    db.session.add(bundle)
    db.session.commit()
    client = world.client("partner_b")
    token = csrf_token_for(client)
    before = snapshot()
    response = client.post(
        f"/kelola/paket/{bundle.id}/bagian",
        data={"csrf_token": token, "offer_id": world.ids["offer_id"], "quantity": "1", **EXTRAS},
    )
    assert response.status_code == 422
    assert "Penawaran Rahasia A" not in response.get_data(as_text=True)
    assert changed_tables(before, snapshot()) == []
