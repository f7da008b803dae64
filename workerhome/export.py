"""UU PDP right of access: everything Payung holds about one worker, as one JSON document.

Only for the worker themselves (the view checks who is signed in). It holds their own NIK,
phone, heirs, consents, cover, bundles with the codes of the bundles they claimed, and the
messages Payung sent to their number.
"""

from datetime import date, datetime
from typing import Any

from flask_babel import get_locale
from sqlalchemy import select

from bundles.models import Offer, Partner
from core.identity import PROVINCES
from extensions import db, utcnow
from fulfillment.claims import claiming
from fulfillment.models import FulfillmentItem, InsurerMembership
from messaging.models import Message
from sponsorship.notes.models import ThankYou
from vault import VaultError, decrypt
from workerhome.home import given_bundles
from workers.models import ConsentEvent, Coverage, Worker, WorkerPhoto
from workers.self_models import WorkerChange

FORMAT = "payung-worker-data/1"


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _decrypt(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return decrypt(value)
    except VaultError:
        return None


def worker_data(worker: Worker) -> dict[str, Any]:
    has_photo = db.session.get(WorkerPhoto, worker.id) is not None
    return {
        "format": FORMAT,
        "exported_at": _iso(utcnow()),
        "profile": {
            "full_name": worker.full_name,
            "nik": _decrypt(worker.nik_encrypted),
            "phone": worker.phone_e164,
            "birth_date": _iso(worker.birth_date),
            "gender": worker.gender,
            "occupation": worker.occupation,
            "province": PROVINCES.get(worker.province_code, worker.province_code),
            "regency": worker.regency,
            "story": worker.story,
            "has_photo": has_photo,
            "registered_through": worker.source,
            "registered_at": _iso(worker.created_at),
            "shown_in_directory": worker.is_listed,
        },
        "consent": {
            "listing_given_at": _iso(worker.listing_consent_at),
            "insurer_data_given_at": _iso(worker.insurer_consent_at),
            "confirmed_at": _iso(worker.consent_confirmed_at),
            "history": [
                {"kind": e.kind, "action": e.action, "source": e.source, "at": _iso(e.created_at)}
                for e in db.session.scalars(
                    select(ConsentEvent)
                    .where(ConsentEvent.worker_id == worker.id)
                    .order_by(ConsentEvent.created_at, ConsentEvent.id)
                )
            ],
        },
        "heirs": [
            {"full_name": h.full_name, "relation": h.relation, "phone": h.phone_e164}
            for h in worker.heirs
        ],
        "cover": {
            "covered_until": _iso(worker.covered_until),
            "periods": [
                {
                    "programmes": c.programmes,
                    "months": c.months,
                    "starts_on": _iso(c.starts_on),
                    "ends_on": _iso(c.ends_on),
                }
                for c in db.session.scalars(
                    select(Coverage)
                    .where(Coverage.worker_id == worker.id)
                    .order_by(Coverage.starts_on, Coverage.id)
                )
            ],
            "memberships": [
                {"insurer": name, "kpj": _decrypt(m.kpj_encrypted), "since": _iso(m.registered_at)}
                for m, name in db.session.execute(
                    select(InsurerMembership, Partner.name)
                    .join(Partner, Partner.id == InsurerMembership.partner_id)
                    .where(InsurerMembership.worker_id == worker.id)
                )
            ],
        },
        "bundles": _bundles(worker),
        "thank_yous_sent": [
            {
                "order_line": t.order_line_id,
                "phrase": t.phrase,
                "text": t.text,
                "at": _iso(t.created_at),
            }
            for t in db.session.scalars(
                select(ThankYou).where(ThankYou.worker_id == worker.id).order_by(ThankYou.id)
            )
        ],
        "changes_you_made": [
            {"kind": c.kind, "detail": c.detail, "at": _iso(c.created_at)}
            for c in db.session.scalars(
                select(WorkerChange)
                .where(WorkerChange.worker_id == worker.id)
                .order_by(WorkerChange.created_at, WorkerChange.id)
            )
        ],
        "messages_to_you": [
            {
                "channel": m.channel,
                "purpose": m.purpose,
                "body": m.body,
                "status": m.status,
                "created_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
            }
            for m in db.session.scalars(
                select(Message)
                .where(Message.recipient == worker.phone_e164)
                .order_by(Message.created_at, Message.id)
            )
        ],
    }


def _bundles(worker: Worker) -> list[dict[str, Any]]:
    locale = str(get_locale() or "id")
    out = []
    for given in given_bundles(worker, limit=None):
        entry: dict[str, Any] = {
            "bundle": given.bundle_name,
            "first_month": _iso(given.first_month),
            "months": given.months,
            "sponsor": given.sponsor_name,  # None: the sponsor chose not to show their name
            "sponsor_message": given.message,
            "claimed": given.is_claimed,
        }
        if given.is_claimed and given.claim_id is not None:
            view = claiming.claimed_bundle(given.claim_id, worker, locale=locale)
            claimed_at = view.claim.claimed_at if view else None
            entry["claimed_at"] = _iso(claimed_at)
            entry["parts"] = [
                {"name": p.name, "kind": p.kind, "state": p.state, "details": p.details}
                for p in (view.parts if view else [])
            ]
        else:
            entry["parts"] = [
                {"name": name, "kind": kind, "state": status}
                for name, kind, status in db.session.execute(
                    select(Offer.name_id, Offer.kind, FulfillmentItem.status)
                    .join(Offer, Offer.id == FulfillmentItem.offer_id)
                    .where(FulfillmentItem.order_line_id == given.line_id)
                    .order_by(FulfillmentItem.id)
                )
            ]
        out.append(entry)
    return out
