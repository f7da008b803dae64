"""A worker claims a bundle: the bundle code, then a one-time code sent to the phone the line's
worker registered. Afterwards the worker is signed in and sees each part of the bundle.

Services flush; the view commits once. They never touch ``request`` or ``session``: the view
keeps the claim's id and version between the two steps (never the code itself).
"""

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from accounts.models import User
from accounts.services import (
    InvalidCode,
    ResendTooSoon,
    WrongCode,
    send_sign_in_code,
    verify_sign_in_code,
)
from bundles.models import Bundle, Offer, OfferKind, PoolCode
from core.identity import mask_phone
from extensions import db, utcnow
from fulfillment.claims.services import TypedClaim
from fulfillment.models import ClaimCode, FulfillmentItem, IssuedCode
from fulfillment.progress import PartState, part_state
from sponsorship.checkout.models import OrderLine
from vault import VaultError, decrypt
from workers.models import Worker
from workers.registry import link_enrolled_worker

__all__ = ["InvalidCode", "WrongCode"]


class ClaimError(Exception):
    """A refusal the worker can act on; ``message`` is translated lazily."""

    message: LazyString = _l("This bundle code cannot be claimed.")


class UnknownClaimCode(ClaimError):
    message = _l(
        "We do not know this bundle code. Check the SMS: a code that was sent again replaces "
        "the old one."
    )


class AlreadyClaimed(ClaimError):
    message = _l(
        "This bundle has already been claimed. If it was you, sign in to see it on your page."
    )


class NotThisWorker(ClaimError):
    message = _l("This bundle belongs to another worker's phone number.")


@dataclass(frozen=True)
class PendingClaim:
    claim_id: int
    version: int
    masked_phone: str
    sent: bool = True  # False: the code sent to the phone moments ago still works


def start_claim(found: TypedClaim | None, *, user: User | None = None) -> PendingClaim | ClaimCode:
    """Claim what the typed bundle code names (``services.look_up_claim``; None: nothing).
    For the signed-in owner it is claimed at once (their phone is already proven) and the
    ClaimCode is returned; otherwise a one-time code goes to the worker's registered phone
    and a PendingClaim is returned (no new one while the code sent moments ago still works:
    whoever asked, it went to the worker's phone).

    Raises UnknownClaimCode, AlreadyClaimed, NotThisWorker.
    """
    if found is None:
        raise UnknownClaimCode()
    claim = found.claim
    if claim.claimed_at is not None:
        raise AlreadyClaimed()
    if user is not None and user.is_authenticated and user.phone_e164:
        if user.phone_e164 != found.phone_e164:
            raise NotThisWorker()
        _link(user, found.worker_user_id)
        return mark_claimed(claim)
    masked = mask_phone(found.phone_e164)
    try:
        send_sign_in_code(found.phone_e164, latest=found.latest_code)
    except ResendTooSoon:
        return PendingClaim(claim.id, claim.version, masked, sent=False)
    return PendingClaim(claim.id, claim.version, masked)


def finish_claim(claim_id: int, version: int, otp: str) -> tuple[User, ClaimCode]:
    """Prove the phone with the one-time code, sign-in account included, and claim the bundle.

    Raises InvalidCode (WrongCode when checked and wrong; expired or over-tried),
    UnknownClaimCode (the code was replaced by a resend meanwhile) or AlreadyClaimed (someone
    else finished first).
    """
    claim = db.session.get(ClaimCode, claim_id)
    if claim is None or claim.version != version:
        raise UnknownClaimCode()
    worker = db.session.get(Worker, claim.worker_id)
    assert worker is not None
    user = verify_sign_in_code(worker.phone_e164, otp)
    _link(user, worker.user_id)
    return user, mark_claimed(claim)


def _link(user: User, worker_user_id: int | None) -> None:
    """The claim's worker is ``user`` (whose phone is the worker's): linked now if the
    worker's record has no account yet, else NotThisWorker unless it is this one."""
    if worker_user_id is None:
        linked = link_enrolled_worker(user)
        worker_user_id = linked.user_id if linked is not None else None
    if worker_user_id != user.id:
        raise NotThisWorker()


def mark_claimed(claim: ClaimCode) -> ClaimCode:
    # One guarded UPDATE: of two requests claiming at the same moment, the database lets exactly
    # one change the row (the other sees rowcount 0), on SQLite and PostgreSQL alike.
    now = utcnow()
    result = db.session.execute(
        update(ClaimCode)
        .where(ClaimCode.id == claim.id, ClaimCode.claimed_at.is_(None))
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyClaimed()
    # What the UPDATE wrote, told to the object as already saved: assigned, it would have been
    # written a second time by the next flush.
    set_committed_value(claim, "claimed_at", now)
    db.session.flush()
    return claim


# --- what the worker sees -------------------------------------------------------------------


@dataclass(frozen=True)
class PartView:
    kind: str
    name: str
    state: PartState
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def is_issued(self) -> bool:
        return self.state == PartState.ISSUED


@dataclass(frozen=True)
class BundleView:
    claim: ClaimCode
    bundle_name: str
    line: OrderLine
    parts: list[PartView]
    masked_phone: str

    def part(self, kind: str) -> PartView | None:
        return next((p for p in self.parts if p.kind == kind), None)


def claimed_bundle(claim_id: int, worker: Worker, *, locale: str) -> BundleView | None:
    """The worker's claimed bundle with every part's state and details, or None when it is not
    theirs or not claimed."""
    claim = db.session.get(ClaimCode, claim_id)
    if claim is None or claim.worker_id != worker.id or claim.claimed_at is None:
        return None
    line = db.session.get(OrderLine, claim.order_line_id)
    assert line is not None
    bundle_name = db.session.scalar(select(Bundle.name).where(Bundle.id == line.bundle_id)) or ""
    rows = db.session.execute(
        select(FulfillmentItem, Offer)
        .join(Offer, Offer.id == FulfillmentItem.offer_id)
        .where(FulfillmentItem.order_line_id == line.id)
        .order_by(FulfillmentItem.id)
    ).all()
    parts = [_part_view(item, offer, line, locale) for item, offer in rows]
    return BundleView(claim, bundle_name, line, parts, mask_phone(worker.phone_e164))


def _secret(item: FulfillmentItem) -> dict[str, Any]:
    if not item.delivery_encrypted:
        return {}
    try:
        value = json.loads(decrypt(item.delivery_encrypted))
    except (VaultError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _part_view(item: FulfillmentItem, offer: Offer, line: OrderLine, locale: str) -> PartView:
    state = part_state(item.status)
    name = offer.name_en if locale == "en" else offer.name_id
    details: dict[str, Any] = {}
    if state == PartState.ISSUED:  # secrets only for what was really delivered
        delivery, secret = item.delivery or {}, _secret(item)
        if offer.kind == OfferKind.HEALTH_APP:
            details = _health_details(item, delivery, secret)
        elif offer.kind == OfferKind.DATA_QUOTA:
            details = {
                "quota_mb": delivery.get("quota_mb") or offer.quota_mb,
                "validity_days": delivery.get("validity_days") or offer.validity_days,
                "serial_number": delivery.get("serial_number"),
            }
        elif offer.kind == OfferKind.INSURANCE_DUES:
            months = delivery.get("months") or []
            details = {
                "kpj": secret.get("kpj"),
                "programmes": delivery.get("programmes") or [],
                "covered_from": _month_start(months[0]) if months else line.first_month,
                "covered_until": _date(delivery.get("covered_until")),
            }
    elif offer.kind == OfferKind.DATA_QUOTA:
        details = {"quota_mb": offer.quota_mb, "validity_days": offer.validity_days}
    return PartView(str(offer.kind), name, state, details)


def _health_details(
    item: FulfillmentItem, delivery: dict[str, Any], secret: dict[str, Any]
) -> dict[str, Any]:
    codes = [
        decrypt(encrypted)
        for encrypted in db.session.scalars(
            select(PoolCode.code_encrypted)
            .join(IssuedCode, IssuedCode.pool_code_id == PoolCode.id)
            .where(IssuedCode.item_id == item.id)
            .order_by(IssuedCode.id)
        )
    ]
    if secret.get("activation_code"):
        codes.append(str(secret["activation_code"]))
    url = secret.get("activate_url")
    return {
        "codes": codes,
        "activate_url": url if isinstance(url, str) and url.startswith("https://") else None,
        "expires_on": _date(delivery.get("expires_on") or delivery.get("expires_at")),
    }


def _date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _month_start(month: str) -> date | None:
    return _date(f"{month[:7]}-01")
