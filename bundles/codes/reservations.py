"""Holding pool codes for orders, so what is sold can be delivered.

A placed order reserves the codes it will need (``reserve_codes``): a code is *free* when no
order holds it, or when its hold lapsed (the order was not paid in time). Paying makes the
hold last until the issuer draws the code (``hold_reserved_codes``); cancelling, refunding or
completing the order gives back what is left (``release_reserved_codes``). The issuer draws a
code held for its order first (``bundles.codes.pools.issue_pool_code``).
"""

from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, or_, select, update

from bundles.models import PoolCode, PoolCodeStatus
from core.dates import jakarta_today
from extensions import db, utcnow


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def not_expired(today: date) -> ColumnElement[bool]:
    return or_(PoolCode.expires_on.is_(None), PoolCode.expires_on >= today)


def unreserved(now: datetime) -> ColumnElement[bool]:
    """No order holds the code: never reserved, or the hold lapsed (an order not paid in
    time). A paid order's hold has no end (``reserved_until`` empty)."""
    return or_(
        PoolCode.reserved_order_id.is_(None),
        and_(PoolCode.reserved_until.is_not(None), PoolCode.reserved_until < now),
    )


def free_codes(offer_id: int, today: date, now: datetime) -> list[ColumnElement[bool]]:
    """The offer's codes anyone may take: available, unexpired, held by no order. Read in
    ``(expires_on, id)`` order they walk the ``(offer_id, status, expires_on, id)`` index."""
    return [
        PoolCode.offer_id == offer_id,
        PoolCode.status == PoolCodeStatus.AVAILABLE,
        not_expired(today),
        unreserved(now),
    ]


def reserve_codes(
    offer_id: int, count: int, *, order_id: int, until: datetime, today: date | None = None
) -> int:
    """Hold up to ``count`` free, unexpired codes of the offer for ``order_id`` until
    ``until``; returns how many were held (fewer than ``count``: the pool cannot deliver
    the order, and the caller refuses it and rolls back).

    On SQLite one ``UPDATE … WHERE id IN (SELECT … LIMIT count)`` (writers take turns). On
    PostgreSQL the codes are picked and locked first (``FOR UPDATE SKIP LOCKED``: two orders
    never wait for, nor take, the same codes), then held: inside an UPDATE the locking
    subquery could be run again per row and hold every code. However many orders are placed
    at once, no code is held twice and no order gets more than is left.
    """
    if count <= 0:
        return 0
    today = today or jakarta_today()
    now = utcnow()
    candidates = (
        select(PoolCode.id)
        .where(*free_codes(offer_id, today, now))
        .order_by(PoolCode.expires_on, PoolCode.id)
        .limit(count)
    )
    if is_postgresql():
        picked = list(db.session.scalars(candidates.with_for_update(skip_locked=True)))
        if not picked:
            return 0
        chosen = PoolCode.id.in_(picked)
    else:
        chosen = PoolCode.id.in_(candidates)
    held = db.session.execute(
        update(PoolCode)
        .where(
            chosen,
            PoolCode.status == PoolCodeStatus.AVAILABLE,
            unreserved(now),
        )
        .values(reserved_order_id=order_id, reserved_until=until)
        .returning(PoolCode.id)
        .execution_options(synchronize_session=False)
    ).all()
    return len(held)


def hold_reserved_codes(order_id: int) -> None:
    """The order was paid: its codes stay held until its issuers draw them."""
    db.session.execute(
        update(PoolCode)
        .where(
            PoolCode.reserved_order_id == order_id,
            PoolCode.status == PoolCodeStatus.AVAILABLE,
        )
        .values(reserved_until=None)
        .execution_options(synchronize_session=False)
    )


def extend_reserved_codes(order_id: int, until: datetime) -> None:
    """The unpaid order may now be paid until ``until`` (it was invoiced): its held codes
    stay held as long. A hold that ended meanwhile is not revived (its codes may be taken)."""
    db.session.execute(
        update(PoolCode)
        .where(
            PoolCode.reserved_order_id == order_id,
            PoolCode.status == PoolCodeStatus.AVAILABLE,
            PoolCode.reserved_until.is_not(None),
            PoolCode.reserved_until < until,
        )
        .values(reserved_until=until)
        .execution_options(synchronize_session=False)
    )


def release_reserved_codes(order_id: int) -> None:
    """Give back the codes the order still holds (it was cancelled, refunded or completed)."""
    db.session.execute(
        update(PoolCode)
        .where(
            PoolCode.reserved_order_id == order_id,
            PoolCode.status == PoolCodeStatus.AVAILABLE,
        )
        .values(reserved_order_id=None, reserved_until=None)
        .execution_options(synchronize_session=False)
    )
