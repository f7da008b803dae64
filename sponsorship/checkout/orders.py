"""Reading orders back for their pages: a sponsor's list, a page of an order's lines, its
refunds and payment, and how fulfillment is getting on. Each costs a fixed number of
statements whatever the size of the order."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload, undefer

from accounts.models import Role, User
from extensions import db
from sponsorship.checkout.models import Order, OrderLine, OrderLinePart, Payment, Refund


def order_for(user: User, reference: str) -> Order | None:
    """The order with this reference if ``user`` may see it: its sponsor, or an admin."""
    order = db.session.scalar(select(Order).where(Order.reference == reference))
    if order is None:
        return None
    if order.sponsor_id != user.id and user.role != Role.ADMIN:
        return None
    return order


def sponsor_orders(sponsor: User, *, page: int, per_page: int = 20) -> Pagination:
    return db.paginate(
        select(Order)
        .where(Order.sponsor_id == sponsor.id)
        .options(undefer(Order.refunded_idr))
        .order_by(Order.created_at.desc(), Order.id.desc()),
        page=max(page, 1),
        per_page=per_page,
        error_out=False,
    )


def order_lines_page(order: Order, *, page: int, per_page: int = 50) -> Pagination:
    """A page of the order's lines with worker, bundle and parts (with offers): five
    statements whatever the size of the order."""
    return db.paginate(
        select(OrderLine)
        .where(OrderLine.order_id == order.id)
        .options(
            joinedload(OrderLine.worker),
            joinedload(OrderLine.bundle),
            selectinload(OrderLine.parts).joinedload(OrderLinePart.offer),
        )
        .order_by(OrderLine.id),
        page=max(page, 1),
        per_page=per_page,
        error_out=False,
    )


def order_refunds(order: Order) -> list[Refund]:
    return list(
        db.session.scalars(
            select(Refund).where(Refund.order_id == order.id).order_by(Refund.created_at)
        )
    )


def refunded_idr(order_id: int) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_idr), 0)).where(Refund.order_id == order_id)
    )


def latest_payment(order: Order, gateway: str | None = None) -> Payment | None:
    """The order's newest payment (through ``gateway`` only, when given)."""
    query = select(Payment).where(Payment.order_id == order.id)
    if gateway is not None:
        query = query.where(Payment.provider == gateway)
    return db.session.scalar(query.order_by(Payment.id.desc()).limit(1))


class PartProgress(Protocol):
    part_id: int


class LineProgress(Protocol):
    parts: Sequence[PartProgress]


class OrderProgress(Protocol):
    """What fulfillment (``fulfillment.progress.OrderProgress``) reports about an order."""

    lines: Sequence[LineProgress]

    @property
    def parts_settled(self) -> int: ...

    @property
    def parts_failed(self) -> int: ...


ProgressReader = Callable[..., OrderProgress]
_progress_readers: list[ProgressReader] = []


def read_progress_with(reader: ProgressReader) -> None:
    """Fulfillment, a package above this one, says at app start how an order's progress is
    read: ``reader(order, offset=…, limit=…)``."""
    _progress_readers[:] = [reader]


def order_progress(order: Order, *, offset: int, limit: int) -> OrderProgress:
    if not _progress_readers:
        raise RuntimeError("no order progress reader: fulfillment is not registered")
    return _progress_readers[0](order, offset=offset, limit=limit)


PlacedHook = Callable[[Order, Mapping[str, str]], None]
_placed_hooks: list[PlacedHook] = []


def when_order_placed(hook: PlacedHook) -> None:
    """A package above this one (invoices) says at app start what it does with an order just
    placed, in the same transaction: ``hook(order, choices)``, ``choices`` being what the
    sponsor ticked on the place-order form (an invoice, a bank)."""
    if hook not in _placed_hooks:
        _placed_hooks.append(hook)


def order_placed(order: Order, choices: Mapping[str, str]) -> None:
    for hook in _placed_hooks:
        hook(order, choices)


@dataclass
class OrderView:
    """What the order page shows for one page of lines."""

    lines: Pagination
    refunds: list[Refund]
    payment: Payment | None
    progress: OrderProgress
    parts: dict[int, PartProgress] = field(default_factory=dict)  # by order line part id

    @property
    def refunded_idr(self) -> int:
        return sum(refund.amount_idr for refund in self.refunds)

    @property
    def parts_settled(self) -> int:
        return self.progress.parts_settled

    @property
    def parts_failed(self) -> int:
        return self.progress.parts_failed


def order_view(order: Order, *, page: int, per_page: int = 50) -> OrderView:
    """The order page: a fixed number of statements whatever the size of the order."""
    lines = order_lines_page(order, page=page, per_page=per_page)
    progress = order_progress(order, offset=(lines.page - 1) * per_page, limit=per_page)
    return OrderView(
        lines=lines,
        refunds=order_refunds(order),
        payment=latest_payment(order),
        progress=progress,
        parts={part.part_id: part for line in progress.lines for part in line.parts},
    )
