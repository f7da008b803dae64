"""Code-pool parts of a chunk: all their codes claimed in one ``UPDATE … RETURNING``.

Codes held for the order (``bundles.codes.reservations``) are drawn first, then free ones; the
expiring first go first. On PostgreSQL the codes are picked in a CTE with ``FOR UPDATE SKIP
LOCKED`` (evaluated once, so parallel chunks never wait for nor take the same codes) and the
UPDATE claims exactly those; on SQLite the transaction holds the write lock. The unique
``issued_codes.pool_code_id`` stays the last line of defence. A part whose units cannot all be
served waits for a refill (``RetryLater``); the codes already drawn for it go back, held for its
order.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, insert, or_, select, update

from bundles.codes.pools import check_low_stock
from bundles.codes.reservations import is_postgresql, not_expired, unreserved
from bundles.models import Offer, PoolCode, PoolCodeStatus
from core.dates import jakarta_today
from extensions import db, utcnow
from fulfillment.issuers import IssueContext, Issued, RetryLater
from fulfillment.models import IssuedCode


@dataclass(frozen=True)
class Drawn:
    id: int
    expires_on: date | None


def draw_codes(offer_id: int, count: int, *, order_id: int | None = None) -> list[Drawn]:
    """Mark up to ``count`` codes of the offer issued in one statement and return them: codes
    held for ``order_id`` first, then free ones. Without ``order_id`` only free codes, in the
    order of the ``(offer_id, status, expires_on, id)`` index, so the pick reads about ``count``
    index entries however large the pool."""
    today, now = jakarta_today(), utcnow()
    drawable = unreserved(now)
    order_by = [PoolCode.expires_on, PoolCode.id]
    if order_id is not None:
        mine = PoolCode.reserved_order_id == order_id
        drawable = or_(mine, drawable)
        order_by.insert(0, case((mine, 0), else_=1))
    picked = (
        select(PoolCode.id)
        .where(
            PoolCode.offer_id == offer_id,
            PoolCode.status == PoolCodeStatus.AVAILABLE,
            not_expired(today),
            drawable,
        )
        .order_by(*order_by)
        .limit(count)
    )
    codes = PoolCode.__table__
    statement = update(codes).values(
        status=PoolCodeStatus.ISSUED, issued_at=now, reserved_order_id=None, reserved_until=None
    )
    if is_postgresql():
        chosen = picked.with_for_update(skip_locked=True).cte("picked")
        statement = statement.where(codes.c.id == chosen.c.id)
    else:
        statement = statement.where(codes.c.id.in_(picked.scalar_subquery()))
    statement = statement.where(codes.c.status == PoolCodeStatus.AVAILABLE)
    rows = db.session.execute(statement.returning(codes.c.id, codes.c.expires_on)).all()
    return sorted((Drawn(row.id, row.expires_on) for row in rows), key=lambda d: d.id)


def orders_holding_codes(order_ids: Iterable[int]) -> set[int]:
    """The orders among ``order_ids`` that hold codes still to be drawn (one indexed query)."""
    ids = sorted(set(order_ids))
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(PoolCode.reserved_order_id)
            .where(
                PoolCode.reserved_order_id.in_(ids),
                PoolCode.status == PoolCodeStatus.AVAILABLE,
            )
            .distinct()
        )
    )


def put_back(codes: Sequence[Drawn], order_id: int) -> None:
    """Codes drawn for parts that could not be served in full: available again, held for the
    order (which still needs them)."""
    if codes:
        db.session.execute(
            update(PoolCode)
            .where(PoolCode.id.in_([c.id for c in codes]))
            .values(
                status=PoolCodeStatus.AVAILABLE,
                issued_at=None,
                reserved_order_id=order_id,
                reserved_until=None,
            )
            .execution_options(synchronize_session=False)
        )


def issue_pool_parts(
    contexts: Sequence[IssueContext],
) -> dict[int, Issued | RetryLater]:
    """Each code-pool part's outcome, by item id: ``Issued`` with its codes recorded, or
    ``RetryLater`` when the pool ran out.

    Orders that hold codes draw their own first, one draw per order; the parts of all other
    orders draw free codes together, one draw per offer. The pool's low-stock check runs once
    per offer."""
    holding = orders_holding_codes(ctx.line.order_id for ctx in contexts)
    draws: dict[tuple[int, int | None], list[IssueContext]] = defaultdict(list)
    offers: dict[int, Offer] = {}
    for ctx in contexts:
        order_id = ctx.line.order_id if ctx.line.order_id in holding else None
        draws[(ctx.offer.id, order_id)].append(ctx)
        offers[ctx.offer.id] = ctx.offer
    outcomes: dict[int, Issued | RetryLater] = {}
    issued_rows: list[dict[str, object]] = []
    for (offer_id, order_id), group in draws.items():
        left = draw_codes(offer_id, sum(ctx.units for ctx in group), order_id=order_id)
        short: IssueContext | None = None
        for ctx in group:
            if len(left) < ctx.units:
                outcomes[ctx.item.id] = RetryLater("out_of_stock", f"offer {offer_id} is empty")
                short = short or ctx
                continue
            mine, left = left[: ctx.units], left[ctx.units :]
            issued_rows.extend({"item_id": ctx.item.id, "pool_code_id": c.id} for c in mine)
            expiries = sorted(c.expires_on.isoformat() for c in mine if c.expires_on)
            outcomes[ctx.item.id] = Issued(
                partner_reference=None,
                delivery={"codes": len(mine), "expires_on": expiries[0] if expiries else None},
                event_data={"pool_code_ids": [c.id for c in mine]},
            )
        if short is not None:  # what was drawn for parts that go unserved: held for the first
            put_back(left, short.line.order_id)
    for offer in offers.values():
        check_low_stock(offer)
    if issued_rows:
        now = utcnow()
        db.session.execute(insert(IssuedCode), [row | {"created_at": now} for row in issued_rows])
    return outcomes
