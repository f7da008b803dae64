"""What the admin's order pages read: the order search, a page of orders or refunds, and the
emails, references and refunded totals shown beside them, each in one statement."""

from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, func, select

from accounts.models import User
from admin import filters
from extensions import db
from sponsorship.checkout.models import Order, OrderStatus, Payment, Refund

PER_PAGE = 50
STATUSES = tuple(status.value for status in OrderStatus)


@dataclass
class OrderSearch:
    reference: str
    email: str
    status: str
    dates: filters.DateRange

    def args(self) -> dict[str, str]:
        shown = {"q": self.reference, "email": self.email, "status": self.status}
        return {key: value for key, value in shown.items() if value} | self.dates.args()


def read_search(args: dict[str, str]) -> OrderSearch:
    status = args.get("status", "")
    return OrderSearch(
        reference=filters.text(args, "q", 24).upper(),
        email=filters.text(args, "email", 254).lower(),
        status=status if status in STATUSES else "",
        dates=filters.date_range(args),
    )


def search_orders(search: OrderSearch, *, page: int) -> Pagination:
    """Newest first; two statements (count, page) whatever the filters."""
    query = select(Order)
    conditions: list[ColumnElement[bool]] = []
    if search.reference:
        conditions.append(Order.reference.startswith(search.reference, autoescape=True))
    if search.email:
        sponsor_ids = select(User.id).where(User.email == search.email).scalar_subquery()
        conditions.append(Order.sponsor_id == sponsor_ids)
    if search.status:
        conditions.append(Order.status == search.status)
    conditions.extend(search.dates.within(Order.created_at))
    return db.paginate(
        query.where(*conditions).order_by(Order.created_at.desc(), Order.id.desc()),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )


def emails_of(user_ids: set[int | None]) -> dict[int, str]:
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return {}
    rows = db.session.execute(select(User.id, User.email).where(User.id.in_(wanted)))
    return {user_id: email or "" for user_id, email in rows}


def refunded_by_order(order_ids: list[int]) -> dict[int, int]:
    if not order_ids:
        return {}
    rows = db.session.execute(
        select(Refund.order_id, func.sum(Refund.amount_idr))
        .where(Refund.order_id.in_(order_ids))
        .group_by(Refund.order_id)
    )
    return {order_id: int(total) for order_id, total in rows}


def refund_page(dates: filters.DateRange, *, page: int) -> Pagination:
    query = select(Refund).where(*dates.within(Refund.created_at))
    return db.paginate(
        query.order_by(Refund.created_at.desc(), Refund.id.desc()),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )


def references_of(order_ids: set[int]) -> dict[int, str]:
    if not order_ids:
        return {}
    rows = db.session.execute(select(Order.id, Order.reference).where(Order.id.in_(order_ids)))
    return {order_id: reference for order_id, reference in rows}


def order_by_reference(reference: str) -> Order | None:
    return db.session.scalar(select(Order).where(Order.reference == reference[:24]))


def payments_of(order: Order) -> list[Payment]:
    """The order's payment attempts, oldest first."""
    return list(
        db.session.scalars(
            select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)
        ).all()
    )
