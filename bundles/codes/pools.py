"""Code pools: uploading voucher codes, stock levels, reserving codes for an order, issuing one
code, low-stock alerts.

An upload is all or nothing: every row is checked (shape, charset, spreadsheet formulas, expiry,
duplicates in the file and in the partner's pools) before a single code is saved; the codes are
then inserted in bulk, encrypted, with a keyed digest that keeps them unique per offer.

Codes that orders hold (``bundles.codes.reservations``) are neither available nor issued to
anyone else.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, insert, or_, select, update

from bundles.codes.reservations import free_codes, is_postgresql, not_expired, unreserved
from bundles.csv_upload import RowProblem, UploadRefused, read_csv_upload
from bundles.csv_upload import refuse as _refuse
from bundles.models import (
    ApiKey,
    FulfillmentMethod,
    Offer,
    PoolCode,
    PoolCodeStatus,
    PoolUpload,
)
from bundles.partners import notifications
from core.dates import jakarta_today
from extensions import db, utcnow
from vault import digest, encrypt

# Kept under their old names: callers catch ``pools.PoolUploadRefused``.
PoolUploadRefused = UploadRefused

CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{3,63}")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = ("code", "expires_on")
MAX_EXPIRY_YEARS = 5
DIGEST_PURPOSE = "pool_code"
_LOOKUP_CHUNK = 500
_INSERT_CHUNK = 2_000


@dataclass(frozen=True)
class CodeRow:
    row: int  # 1-based position as the partner sees it (CSV line or JSON list index + 1)
    code: str
    expires_on: date


@dataclass(frozen=True)
class Stock:
    available: int = 0  # can still be issued (not expired)
    issued: int = 0
    void: int = 0
    expired: int = 0  # never issued, now past their expiry date
    expiring_soon: int = 0  # available, expiring within 30 days
    reserved: int = 0  # held for orders placed (or paid) and not yet issued

    @property
    def total(self) -> int:
        return self.available + self.issued + self.void + self.expired + self.reserved


def parse_pool_csv(data: bytes) -> list[tuple[int, str, str]]:
    """Split a CSV file into ``(line, code, expires_on)`` cells; raise on a malformed file."""
    table = read_csv_upload(
        data, columns=COLUMNS, max_bytes=current_app.config["POOL_UPLOAD_MAX_BYTES"]
    )
    code_at, expiry_at = table.column_at["code"], table.column_at["expires_on"]
    cells = []
    for line, row in table.rows:
        if len(row) != len(COLUMNS):
            raise _refuse(_l("Each line needs exactly two cells: code and expiry date."), line)
        cells.append((line, row[code_at], row[expiry_at]))
    return cells


def check_code_rows(cells: Sequence[tuple[int, str, str]], *, today: date) -> list[CodeRow]:
    """Check every row; raise ``PoolUploadRefused`` with all problems, or return the rows."""
    max_codes = current_app.config["POOL_UPLOAD_MAX_CODES"]
    if not cells:
        raise _refuse(_l("The file has no codes."))
    if len(cells) > max_codes:
        raise _refuse(_l("Upload at most %(count)s codes at a time.", count=f"{max_codes:,}"))
    latest = today.replace(year=today.year + MAX_EXPIRY_YEARS)
    problems: list[RowProblem] = []
    rows: list[CodeRow] = []
    first_seen: dict[str, int] = {}
    for line, raw_code, raw_expiry in cells:
        code, expiry_text = raw_code.strip(), raw_expiry.strip()
        if raw_code.startswith(FORMULA_STARTS) or raw_expiry.startswith(FORMULA_STARTS):
            problems.append(
                RowProblem(line, _l("Looks like a spreadsheet formula; formulas are refused."))
            )
            continue
        if not CODE_PATTERN.fullmatch(code):
            problems.append(
                RowProblem(
                    line,
                    _l(
                        "A code has 4 to 64 letters, digits or dashes, starting with a letter "
                        "or digit."
                    ),
                )
            )
            continue
        try:
            expires_on = date.fromisoformat(expiry_text)
            if len(expiry_text) != 10:
                raise ValueError(expiry_text)
        except ValueError:
            problems.append(RowProblem(line, _l("Write the expiry date as YYYY-MM-DD.")))
            continue
        if expires_on < today:
            problems.append(RowProblem(line, _l("This code has already expired.")))
            continue
        if expires_on > latest:
            problems.append(
                RowProblem(line, _l("The expiry date is more than 5 years away; check it."))
            )
            continue
        if code in first_seen:
            problems.append(
                RowProblem(line, _l("Same code as line %(line)s.", line=first_seen[code]))
            )
            continue
        first_seen[code] = line
        rows.append(CodeRow(line, code, expires_on))
    if problems:
        raise PoolUploadRefused(problems)
    return rows


def _existing_digests(offer: Offer, digests: Sequence[str]) -> set[str]:
    """Digests already in any pool of the offer's partner (never another partner's pools)."""
    found: set[str] = set()
    partner_offers = select(Offer.id).where(Offer.partner_id == offer.partner_id)
    for start in range(0, len(digests), _LOOKUP_CHUNK):
        chunk = digests[start : start + _LOOKUP_CHUNK]
        found.update(
            db.session.scalars(
                select(PoolCode.code_digest).where(
                    PoolCode.offer_id.in_(partner_offers), PoolCode.code_digest.in_(chunk)
                )
            )
        )
    return found


def upload_pool_codes(
    offer: Offer,
    rows: Sequence[CodeRow],
    *,
    filename: str = "",
    uploaded_by_id: int | None = None,
    api_key: ApiKey | None = None,
) -> PoolUpload:
    if offer.fulfillment_method != FulfillmentMethod.CODE_POOL:
        raise _refuse(_l("This offer is not delivered from a code pool."))
    if not offer.partner.is_approved:
        raise _refuse(_l("Your partner account must be approved before you upload codes."))
    digests = [digest(row.code, purpose=DIGEST_PURPOSE) for row in rows]
    taken = _existing_digests(offer, digests)
    if taken:
        raise PoolUploadRefused(
            [
                RowProblem(row.row, _l("This code was uploaded before."))
                for row, code_digest in zip(rows, digests, strict=True)
                if code_digest in taken
            ]
        )
    upload = PoolUpload(
        offer_id=offer.id,
        uploaded_by_id=uploaded_by_id,
        api_key_id=api_key.id if api_key else None,
        filename=filename[:200],
        code_count=len(rows),
        earliest_expiry=min(row.expires_on for row in rows),
    )
    db.session.add(upload)
    db.session.flush()
    now = utcnow()
    values = [
        {
            "offer_id": offer.id,
            "upload_id": upload.id,
            "code_encrypted": encrypt(row.code),
            "code_digest": code_digest,
            "status": PoolCodeStatus.AVAILABLE,
            "expires_on": row.expires_on,
            "created_at": now,
        }
        for row, code_digest in zip(rows, digests, strict=True)
    ]
    for start in range(0, len(values), _INSERT_CHUNK):
        db.session.execute(insert(PoolCode), values[start : start + _INSERT_CHUNK])
    check_low_stock(offer)
    return upload


def _stock_columns(today: date, now: datetime) -> list:
    unexpired = not_expired(today)
    soon = today + timedelta(days=30)
    free = and_(PoolCode.status == PoolCodeStatus.AVAILABLE, unreserved(now))
    held = and_(PoolCode.status == PoolCodeStatus.AVAILABLE, ~unreserved(now))

    def count_when(condition: object) -> object:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return [
        count_when(and_(free, unexpired)),
        count_when(PoolCode.status == PoolCodeStatus.ISSUED),
        count_when(PoolCode.status == PoolCodeStatus.VOID),
        count_when(and_(PoolCode.status == PoolCodeStatus.AVAILABLE, PoolCode.expires_on < today)),
        count_when(and_(free, unexpired, PoolCode.expires_on <= soon)),
        count_when(and_(held, unexpired)),
    ]


def stock_for(offer_ids: Iterable[int], *, today: date | None = None) -> dict[int, Stock]:
    """Stock per offer id in one query; offers without codes get an empty ``Stock``.
    ``available`` leaves out the codes orders hold (``reserved``)."""
    ids = list(offer_ids)
    today = today or jakarta_today()
    now = utcnow()
    result = {offer_id: Stock() for offer_id in ids}
    if not ids:
        return result
    rows = db.session.execute(
        select(PoolCode.offer_id, *_stock_columns(today, now))
        .where(PoolCode.offer_id.in_(ids))
        .group_by(PoolCode.offer_id)
    )
    for offer_id, *counts in rows:
        result[offer_id] = Stock(*(int(c) for c in counts))
    return result


def available_up_to(offer: Offer, cap: int) -> int:
    """``min(available, cap)``: the offer's free codes counted until ``cap`` are found.
    Whether stock is below a threshold needs no more, and stopping there keeps the check cheap
    however large the pool (the index is read only that far)."""
    if cap <= 0:
        return 0
    free = (
        select(PoolCode.id)
        .where(*free_codes(offer.id, jakarta_today(), utcnow()))
        .limit(cap)
        .subquery()
    )
    return db.session.scalar(select(func.count()).select_from(free)) or 0


def check_low_stock(offer: Offer) -> None:
    """Email the partner once each time available stock falls below the threshold; re-arm the
    alert when stock is back at or above it. The guarded UPDATE makes the "once" hold even when
    two requests draw the last codes at the same time."""
    if offer.fulfillment_method != FulfillmentMethod.CODE_POOL:
        return
    available = available_up_to(offer, offer.low_stock_threshold)
    offers = Offer.__table__
    if available >= offer.low_stock_threshold:
        if offer.low_stock_alerted_at is not None:
            db.session.execute(
                update(offers).where(offers.c.id == offer.id).values(low_stock_alerted_at=None)
            )
            db.session.expire(offer, ["low_stock_alerted_at"])
        return
    claimed = db.session.execute(
        update(offers)
        .where(offers.c.id == offer.id, offers.c.low_stock_alerted_at.is_(None))
        .values(low_stock_alerted_at=utcnow())
    )
    db.session.expire(offer, ["low_stock_alerted_at"])
    if claimed.rowcount == 1:
        notifications.low_stock(offer, available)


def issue_pool_code(
    offer: Offer, *, order_id: int | None = None, today: date | None = None
) -> PoolCode | None:
    """Mark one unexpired code of ``offer`` issued and return it (None when the pool is empty):
    a code held for ``order_id`` first, else a free one, never one another order holds. One
    ``UPDATE … RETURNING`` picks and claims the code, so two issuers never get the same one;
    on PostgreSQL ``SKIP LOCKED`` lets them proceed in parallel. Codes expiring first are
    issued first."""
    today = today or jakarta_today()
    now = utcnow()
    mine = PoolCode.reserved_order_id == order_id if order_id is not None else None
    drawable = or_(mine, unreserved(now)) if mine is not None else unreserved(now)
    order_by = [PoolCode.expires_on, PoolCode.id]
    if mine is not None:
        order_by.insert(0, case((mine, 0), else_=1))
    candidate = (
        select(PoolCode.id)
        .where(
            PoolCode.offer_id == offer.id,
            PoolCode.status == PoolCodeStatus.AVAILABLE,
            not_expired(today),
            drawable,
        )
        .order_by(*order_by)
        .limit(1)
    )
    if is_postgresql():
        candidate = candidate.with_for_update(skip_locked=True)
    codes = PoolCode.__table__
    issued_id = db.session.execute(
        update(codes)
        .where(
            codes.c.id == candidate.scalar_subquery(),
            codes.c.status == PoolCodeStatus.AVAILABLE,
        )
        .values(
            status=PoolCodeStatus.ISSUED,
            issued_at=utcnow(),
            reserved_order_id=None,
            reserved_until=None,
        )
        .returning(codes.c.id)
    ).scalar_one_or_none()
    if issued_id is None:
        return None
    code = db.session.get(PoolCode, issued_id, populate_existing=True)
    check_low_stock(offer)
    return code


def uploads_for(offer: Offer, limit: int = 20) -> list[PoolUpload]:
    return list(
        db.session.scalars(
            select(PoolUpload)
            .where(PoolUpload.offer_id == offer.id)
            .order_by(PoolUpload.created_at.desc(), PoolUpload.id.desc())
            .limit(limit)
        )
    )
