"""Bundle claim codes: one per order line, made when the line's parts are settled, sent to the
worker by SMS/WhatsApp with the claim link, stored only as a keyed hash.

The hash key is derived from LOOKUP_KEY for this one purpose, so a claim-code digest can never
be compared with any other digest Payung keeps.
"""

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache

from flask import current_app
from sqlalchemy import Select, bindparam, select

from accounts.models import OneTimeCode, User
from accounts.services import latest_unused_code_id
from bundles.models import Bundle
from extensions import db
from fulfillment.claims.codes import (
    claim_code_digest,
    format_claim_code,
    generate_claim_code,
    normalize_claim_code,
)
from fulfillment.models import ClaimCode
from messaging.models import Channel, Message
from messaging.services import Addressee, queue_template, queue_template_many
from sponsorship.checkout.models import OrderLine
from vault import lookup_key
from workers.models import Worker


def claim_key() -> bytes:
    return _claim_key(lookup_key())


@lru_cache(maxsize=4)
def _claim_key(lookup: bytes) -> bytes:
    # Derived once per LOOKUP_KEY, not twice on every claim POST.
    return hmac.new(lookup, b"payung-claim-code", hashlib.sha256).digest()


def claim_digest(code: str) -> str:
    return claim_code_digest(code, claim_key())


def find_claim_code(typed: str) -> ClaimCode | None:
    """The claim code a worker typed, or None. Raises InvalidClaimCode (before any lookup)
    when what was typed cannot be a claim code."""
    digest = claim_digest(normalize_claim_code(typed))
    return db.session.scalar(select(ClaimCode).where(ClaimCode.code_digest == digest))


@dataclass(frozen=True)
class TypedClaim:
    """The claim a typed bundle code names, with what claiming it needs: its worker's phone
    (where the one-time code goes) and account (if linked), and that phone's latest unused
    one-time code (whether a new one may be sent yet; ``accounts.services.send_sign_in_code``)."""

    claim: ClaimCode
    phone_e164: str = field(repr=False)  # never in a log line or a traceback's locals
    worker_user_id: int | None
    latest_code: OneTimeCode | None


def look_up_claim(typed: str) -> TypedClaim | None:
    """``find_claim_code`` with all the claim POST reads, in one statement: the claim POST's
    limits and the claim itself share it (it read the claim twice, the worker and the phone's
    last code in four statements). Raises InvalidClaimCode (before any lookup)."""
    digest = claim_digest(normalize_claim_code(typed))
    row = db.session.execute(_look_up_statement(), {"digest": digest}).first()
    return None if row is None else TypedClaim(*row)


@cache
def _look_up_statement() -> Select[tuple[ClaimCode, str, int | None, OneTimeCode | None]]:
    # Built once: building it anew cost a claim POST more than running it.
    return (
        select(ClaimCode, Worker.phone_e164, Worker.user_id, OneTimeCode)
        .join(Worker, Worker.id == ClaimCode.worker_id)
        .outerjoin(OneTimeCode, OneTimeCode.id == latest_unused_code_id(Worker.phone_e164))
        .where(ClaimCode.code_digest == bindparam("digest"))
    )


def claim_url() -> str:
    configured = current_app.config.get("CLAIM_BASE_URL")
    return configured or current_app.config["SITE_URL"].rstrip("/") + "/klaim"


def _worker_locale(worker: Worker) -> str:
    locale = None
    if worker.user_id is not None:
        locale = db.session.scalar(select(User.locale).where(User.id == worker.user_id))
    return locale or current_app.config["BABEL_DEFAULT_LOCALE"]


def _claim_params(bundle_name: str | None, code: str) -> dict[str, object]:
    # The catalogue's "claim_code" (two SMS at most); the code is the only secret in it.
    return {"bundle": bundle_name or "Payung", "code": format_claim_code(code), "link": claim_url()}


def _send(line: OrderLine, worker: Worker, code: str) -> Message:
    bundle_name = db.session.scalar(select(Bundle.name).where(Bundle.id == line.bundle_id))
    return queue_template(
        "claim_code",
        channel=Channel(current_app.config["CLAIM_CODE_CHANNEL"]),
        recipient=worker.phone_e164,
        purpose="claim_code",
        locale=_worker_locale(worker),
        secrets=(format_claim_code(code),),
        **_claim_params(bundle_name, code),
    )


def issue_claim_code(line: OrderLine, *, now: datetime) -> ClaimCode:
    """Make the line's claim code and queue its message (sent after the commit):
    ``issue_claim_codes`` for one line. The unique ``order_line_id`` makes a second one
    impossible."""
    [claim] = issue_claim_codes([line], now=now)
    return claim


def issue_claim_codes(lines: Sequence[OrderLine], *, now: datetime) -> list[ClaimCode]:
    """``issue_claim_code`` for a chunk's settled lines, in a fixed number of statements:
    workers, their languages and the bundles' names read once, the messages inserted together
    with one delivery job after the commit, then the codes in one multi-row INSERT. The
    unique ``order_line_id`` still makes a second code for a line impossible."""
    if not lines:
        return []
    workers = {
        w.id: w
        for w in db.session.scalars(
            select(Worker).where(Worker.id.in_({line.worker_id for line in lines}))
        )
    }
    user_ids = {w.user_id for w in workers.values() if w.user_id is not None}
    locales = (
        dict(db.session.execute(select(User.id, User.locale).where(User.id.in_(user_ids))).all())
        if user_ids
        else {}
    )
    names = dict(
        db.session.execute(
            select(Bundle.id, Bundle.name).where(Bundle.id.in_({line.bundle_id for line in lines}))
        ).all()
    )
    default_locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    codes = [generate_claim_code() for _line in lines]
    addressees = []
    for line, code in zip(lines, codes, strict=True):
        worker = workers[line.worker_id]
        addressees.append(
            Addressee(
                recipient=worker.phone_e164,
                locale=locales.get(worker.user_id) or default_locale,
                params=_claim_params(names.get(line.bundle_id), code),
                secrets=(format_claim_code(code),),
            )
        )
    messages = queue_template_many(
        "claim_code",
        addressees,
        channel=Channel(current_app.config["CLAIM_CODE_CHANNEL"]),
        purpose="claim_code",
    )
    claims = [
        ClaimCode(
            order_line_id=line.id,
            worker_id=line.worker_id,
            code_digest=claim_digest(code),
            created_at=now,
            last_sent_at=now,
            message_id=message.id,
        )
        for line, code, message in zip(lines, codes, messages, strict=True)
    ]
    db.session.add_all(claims)
    db.session.flush()
    return claims


def rotate_claim_code(claim: ClaimCode, *, now: datetime) -> ClaimCode:
    """Send the worker a new code for the same line; the old one stops working (only its hash
    was kept, so it cannot be sent again)."""
    line = db.session.get(OrderLine, claim.order_line_id)
    worker = db.session.get(Worker, claim.worker_id)
    assert line is not None and worker is not None
    code = generate_claim_code()
    claim.code_digest = claim_digest(code)
    claim.version += 1
    claim.sent_count += 1
    claim.last_sent_at = now
    db.session.flush()
    claim.message_id = _send(line, worker, code).id
    return claim
