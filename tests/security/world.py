"""Two tenants of every kind, built through the same services and pages people use: the
OWNERS (sponsor A, partner A, worker A, the admin's objects) and the STRANGERS (sponsor B,
partner B, worker B, anonymous) who must never reach the owners' objects.

Shared by the cross-tenant sweep, the mass-assignment tests and the leak scan.
"""

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from accounts.models import Role, User
from bundles.dues.data import ensure_default_dues_data
from bundles.dues.models import DuesDiscountRule, DuesIncomeBand, DuesRateVersion
from bundles.models import (
    Bundle,
    BundlePart,
    FulfillmentMethod,
    Offer,
    OfferKind,
    Partner,
    PartnerKind,
    PartnerStatus,
    PoolCode,
)
from core.dates import jakarta_today
from extensions import db, utcnow
from fulfillment.claims.services import issue_claim_code
from fulfillment.models import FulfillmentItem, IssuedCode, ItemStatus, RemittanceFile
from messaging.models import Message
from partnerhome.api.keys import create_api_key
from sponsorship.checkout.cart import add_to_cart
from sponsorship.checkout.models import OrderLine, OrderLinePart
from sponsorship.checkout.services import place_order
from sponsorship.continuity.renewals.models import RenewalPlan
from sponsorship.payments.gateway_types import PayMethod
from sponsorship.payments.gateways import XENDIT, record_payment
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers
from tests.sponsorship.conftest import csv_bytes, csv_row, upload
from vault import decrypt, encrypt
from workers.models import Coverage, Heir, ImportJob, Invitation

KPJ = "19023456781"
OTP = re.compile(r"\b(\d{6})\b")
CLAIM_CODE = re.compile(r"[0-9A-Z]{4}(?:-[0-9A-Z]{1,4}){4}")


def csrf_token_for(client: FlaskClient) -> str:
    """Put a CSRF secret in the client's session and return the matching signed token, as
    Flask-WTF's ``generate_csrf`` does for a page with a form."""
    app = client.application
    raw = secrets.token_hex(20)
    with client.session_transaction() as session:
        session[app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")] = raw
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def signed_in_client(app: Flask, user: User | None) -> FlaskClient:
    client = app.test_client()
    if user is not None:
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
    return client


def _user(role: Role, name: str, **fields: Any) -> User:
    if role != Role.WORKER:
        fields.setdefault("email", f"{name.lower().replace(' ', '-')}@example.test")
    user = User(role=role, display_name=name, **fields)
    db.session.add(user)
    db.session.commit()
    return user


def _partner(name: str, kind: PartnerKind = PartnerKind.AGENT) -> Partner:
    user = _user(Role.PARTNER, f"{name} Login")
    partner = Partner(user_id=user.id, name=name, kind=kind, status=PartnerStatus.APPROVED)
    db.session.add(partner)
    db.session.commit()
    return partner


@dataclass
class World:
    app: Flask
    ids: dict[str, Any] = field(default_factory=dict)
    # Strings that only the owners' objects contain: none may reach a stranger.
    secrets: list[str] = field(default_factory=list)
    users: dict[str, User | None] = field(default_factory=dict)
    api_keys: dict[str, str] = field(default_factory=dict)
    owner_clients: dict[str, FlaskClient] = field(default_factory=dict)

    def client(self, who: str) -> FlaskClient:
        if who in self.owner_clients:
            return self.owner_clients[who]
        return signed_in_client(self.app, self.users[who])


def _issue_parts(order_line: OrderLine, order_id: int) -> tuple[list[int], str]:
    """Every part of the line issued (no partner call); returns the item ids and the voucher."""
    voucher = ""
    item_ids = []
    parts = db.session.scalars(select(OrderLinePart).where(OrderLinePart.line_id == order_line.id))
    for part in parts:
        offer = db.session.get(Offer, part.offer_id)
        item = FulfillmentItem(
            order_id=order_id,
            order_line_id=order_line.id,
            order_line_part_id=part.id,
            offer_id=offer.id,
            method=offer.fulfillment_method,
            idempotency_key=f"world-{part.id}",
            status=ItemStatus.ISSUED,
            issued_at=utcnow(),
        )
        if offer.kind == OfferKind.INSURANCE_DUES:
            item.delivery = {"programmes": ["JKK", "JKM"], "covered_until": "2026-03-31"}
            item.delivery_encrypted = encrypt(json.dumps({"kpj": KPJ}))
        elif offer.kind == OfferKind.DATA_QUOTA:
            item.delivery = {"quota_mb": 5120, "validity_days": 30, "serial_number": "SN-1"}
        db.session.add(item)
        db.session.flush()
        item_ids.append(item.id)
        if offer.kind == OfferKind.HEALTH_APP:
            pool_code = db.session.scalar(
                select(PoolCode).where(PoolCode.offer_id == offer.id).limit(1)
            )
            db.session.add(IssuedCode(item_id=item.id, pool_code_id=pool_code.id))
            voucher = decrypt(pool_code.code_encrypted)
    return item_ids, voucher


def _last_message(recipient: str, purpose: str) -> str:
    message = db.session.scalar(
        select(Message)
        .where(Message.recipient == recipient, Message.purpose == purpose)
        .order_by(Message.id.desc())
        .limit(1)
    )
    return message.full_body() if message is not None else None


def _renewal_plan(world: "World") -> int:
    plan = RenewalPlan(
        sponsor_id=world.ids["sponsor_a_id"],
        worker_id=world.ids["worker_a_id"],
        bundle_id=world.ids["combo_bundle_id"],
        months=3,
    )
    db.session.add(plan)
    db.session.commit()
    return plan.id


# Objects of features added later: ``ids`` key -> a function that makes one for the OWNERS
# (sponsor A, partner A, worker A) and returns its id. One entry per new kind of object.
EXTRA_OBJECTS: dict[str, Callable[["World"], Any]] = {
    "plan_id": _renewal_plan,
}


def build_world(app: Flask) -> World:
    world = World(app)
    ids = world.ids
    ensure_default_dues_data()
    db.session.commit()

    admin = _user(Role.ADMIN, "Admin Payung")
    sponsor_a = _user(Role.SPONSOR, "Sponsor Pemilik Rahasia")
    sponsor_b = _user(Role.SPONSOR, "Sponsor Penyusup")
    partner_a = _partner("Mitra Pemilik Rahasia")
    partner_b = _partner("Mitra Penyusup")
    world.secrets += [sponsor_a.display_name, sponsor_a.email, partner_a.name]

    # --- worker A: covered by sponsor A's paid order, claims the bundle by SMS ----------------
    combo = make_combofit(codes=3)
    worker_a = make_workers(1, full_name="Wulan Pemilik Rahasia")[0]
    order = make_paid_order(combo.bundle, [worker_a], sponsor=sponsor_a, months=3)
    line = db.session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
    item_ids, voucher = _issue_parts(line, order.id)
    db.session.add(
        Coverage(
            worker_id=worker_a.id,
            order_line_id=line.id,
            programmes=["JKK", "JKM"],
            months=3,
            starts_on=jakarta_today(),
            ends_on=jakarta_today() + timedelta(days=40),
        )
    )
    heir = Heir(worker_id=worker_a.id, full_name="Bagus Ahli Waris Rahasia", relation="child")
    db.session.add(heir)
    claim = issue_claim_code(line, now=utcnow())
    db.session.commit()
    code = CLAIM_CODE.search(_last_message(worker_a.phone_e164, "claim_code")).group(0)
    worker_a_client = app.test_client()
    token = csrf_token_for(worker_a_client)
    assert (
        worker_a_client.post("/klaim", data={"code": code, "csrf_token": token}).status_code == 302
    )
    otp = OTP.search(_last_message(worker_a.phone_e164, "sign_in")).group(1)
    verified = worker_a_client.post("/klaim/kode", data={"code": otp, "csrf_token": token})
    assert verified.status_code == 302, verified.status_code
    world.owner_clients["worker_a"] = worker_a_client
    world.secrets += [order.reference, voucher, KPJ, worker_a.full_name, heir.full_name]
    ids.update(
        claim_id=claim.id,
        heir_id=heir.id,
        line_id=line.id,
        item_id=item_ids[0],
        reference=order.reference,
        year=jakarta_today().year,
        worker_a_id=worker_a.id,
        worker_a_phone=worker_a.phone_e164,
        sponsor_a_id=sponsor_a.id,
        combo_bundle_id=combo.bundle.id,
    )

    # --- sponsor A: a pending order, a selection, an invitation ------------------------------
    other = make_workers(1, full_name="Dewi Pilihan Rahasia")[0]
    add_to_cart(sponsor_a, [other.id], bundle_id=combo.bundle.id, months=1)
    pending = place_order(sponsor_a)
    db.session.commit()
    ids["pending_reference"] = pending.reference
    world.secrets += [pending.reference]
    # A virtual account opened for that order (a row as the Xendit adapter writes it).
    va = record_payment(
        pending.id,
        gateway=XENDIT,
        provider_payment_id="pr-rahasia-a",
        amount_idr=pending.total_idr,
        method=PayMethod.VA,
        channel="BCA",
        va_number="8808123456789012",
    )
    db.session.commit()
    ids["payment_id"] = va.id
    world.secrets += ["8808123456789012"]
    sponsor_a_client = signed_in_client(app, sponsor_a)
    token = csrf_token_for(sponsor_a_client)
    picked = sponsor_a_client.post("/pilihan", data={"only": other.id, "csrf_token": token})
    assert picked.status_code == 302, picked.status_code
    ids["selection_id"] = int(picked.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    invited = sponsor_a_client.post(
        "/sponsor/undang",
        data={"full_name": "Rini Undangan Rahasia", "phone": "0813 7777 8888", "csrf_token": token},
    )
    assert invited.status_code == 302, invited.status_code
    invitation = db.session.scalar(select(Invitation).order_by(Invitation.id.desc()).limit(1))
    ids["invitation_id"] = invitation.id
    world.secrets += ["Rini Undangan Rahasia"]
    world.owner_clients["sponsor_a"] = sponsor_a_client

    # --- partner A: an offer, an unpublished bundle, an API key, an import job ---------------
    offer = Offer(
        partner_id=partner_a.id,
        kind=OfferKind.HEALTH_APP,
        name_id="Penawaran Rahasia A",
        name_en="Secret offer A",
        unit_price_idr=25_000,
        fulfillment_method=FulfillmentMethod.CODE_POOL,
    )
    db.session.add(offer)
    db.session.flush()
    bundle = Bundle(
        slug="paket-rahasia-a",
        name="Paket Rahasia A",
        is_published=False,
        owner_partner_id=partner_a.id,
    )
    bundle.parts.append(BundlePart(offer_id=offer.id, quantity=1))
    db.session.add(bundle)
    db.session.commit()
    key, plain_a = create_api_key(partner_a, name="kunci rahasia A", created_by_id=None)
    _key_b, plain_b = create_api_key(partner_b, name="kunci B", created_by_id=None)
    db.session.commit()
    world.api_keys = {"partner_a": plain_a, "partner_b": plain_b}
    partner_a_client = signed_in_client(app, partner_a.user)
    token = csrf_token_for(partner_a_client)
    row = csv_row(1, nama_lengkap="Ratna Impor Rahasia")
    uploaded = upload(partner_a_client, csv_bytes([row]), csrf_token=token)
    assert uploaded.status_code == 302, uploaded.status_code
    world.owner_clients["partner_a"] = partner_a_client
    ids.update(
        offer_id=offer.id,
        bundle_id=bundle.id,
        part_id=bundle.parts[0].id,
        slug=bundle.slug,
        key_id=key.id,
        job_id=db.session.scalar(select(ImportJob.id).order_by(ImportJob.id.desc()).limit(1)),
        partner_id=partner_a.id,
    )
    world.secrets += ["Penawaran Rahasia A", "Paket Rahasia A", "Ratna Impor Rahasia", plain_a]

    # --- the admin's objects ------------------------------------------------------------------
    remittance = RemittanceFile(partner_id=combo.insurer.id, business_date=jakarta_today())
    db.session.add(remittance)
    db.session.commit()
    ids.update(
        file_id=remittance.id,
        rule_id=db.session.scalar(select(DuesDiscountRule.id).limit(1)),
        version_id=db.session.scalar(select(DuesRateVersion.id).limit(1)),
        band_id=db.session.scalar(select(DuesIncomeBand.id).limit(1)),
    )

    # --- the strangers ------------------------------------------------------------------------
    worker_b_user = _user(Role.WORKER, "Pekerja Penyusup", phone_e164="+6281311112222")
    make_workers(
        1, full_name="Pekerja Penyusup", phone_e164="+6281311112222", user_id=worker_b_user.id
    )
    unlisted = make_workers(
        1, full_name="Yanti Tersembunyi Rahasia", is_listed=False, listing_consent_at=None
    )[0]
    ids["unlisted_worker_id"] = unlisted.id
    world.secrets += [unlisted.full_name]
    world.users = {
        "anonymous": None,
        "sponsor_b": sponsor_b,
        "partner_b": partner_b.user,
        "worker_b": worker_b_user,
        "admin": admin,
        "sponsor_a": sponsor_a,
        "partner_a": partner_a.user,
    }
    for key, make in EXTRA_OBJECTS.items():
        ids[key] = make(world)
    return world


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: two equal snapshots mean nothing changed."""
    db.session.rollback()
    rows = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            found = conn.execute(table.select()).all()
            rows[table.name] = sorted(tuple(map(repr, r)) for r in found)
    return rows


def changed_tables(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]
