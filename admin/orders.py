"""Admin: every order, one order's whole story (lines, parts, payments, refunds), refunding a
whole order or one part with a reason, and the list of refunds.

Refund money is always worked out by ``sponsorship.payments.refunds`` (never twice, never more than
paid); this module only picks what to refund, records who asked and why, and commits.
"""

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, func, select
from werkzeug.wrappers import Response
from wtforms import BooleanField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from accounts.access import admin_required
from accounts.models import User
from admin import filters
from admin.audit import record_admin_action
from extensions import db
from i18n import Form
from sponsorship.checkout import orders as order_reads
from sponsorship.checkout.models import (
    Order,
    OrderLinePart,
    OrderStatus,
    Payment,
    Refund,
)
from sponsorship.payments.refunds import (
    REASON_MAX_LENGTH,
    REFUNDABLE_ORDER_STATUSES,
    RefundError,
    refund_for_part,
)
from sponsorship.payments.refunds import refund_order as refund_order_service
from sponsorship.payments.refunds import refund_order_line_part as refund_part_service

bp = Blueprint("admin_orders", __name__, url_prefix="/admin/pesanan")

PER_PAGE = 50
STATUSES = tuple(status.value for status in OrderStatus)
WHOLE_ORDER = "order"


class RefundForm(Form):
    target = SelectField(_l("What to refund"), validate_choice=False)
    reason = TextAreaField(
        _l("Reason (shown to the sponsor)"),
        filters=[lambda value: value.strip() if value else value],
        validators=[InputRequired(), Length(5, REASON_MAX_LENGTH)],
    )
    # A refund cannot be undone: the admin ticks this first (checked here, no JavaScript).
    understood = BooleanField(
        _l("I understand: the money goes back to the card; this cannot be undone."),
        validators=[
            DataRequired(message=_l("Tick the box to confirm: a refund cannot be undone."))
        ],
    )
    submit = SubmitField(_l("Refund"))


# --- reading ---------------------------------------------------------------------------------


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


# --- refunding -------------------------------------------------------------------------------


class NothingMoreToRefund(Exception):
    pass


class NotThisOrder(Exception):
    pass


def admin_refund(order: Order, target: str, *, reason: str, actor_id: int) -> Refund | None:
    """Refund the whole order (``target == "order"``) or one of its parts (``"part-<id>"``)
    through the refund service and record it in the audit log. Returns the new Refund (None:
    a whole-order refund that had nothing left to give). Raises NothingMoreToRefund when
    this was done before, NotThisOrder for a part of another order, RefundError."""
    if target == WHOLE_ORDER:
        if order.status == OrderStatus.REFUNDED:
            raise NothingMoreToRefund
        refund = refund_order_service(order, reason=reason, actor_id=actor_id)
        amount = refund.amount_idr if refund else 0
        record_admin_action(
            actor_id,
            "order.refund",
            "order",
            order.id,
            reason=reason,
            details={"reference": order.reference, "amount_idr": amount},
        )
        return refund
    part_id = target.removeprefix("part-")
    is_id = part_id.isdigit() and len(part_id) < 10
    part = db.session.get(OrderLinePart, int(part_id)) if is_id else None
    if part is None or part.line.order_id != order.id:
        raise NotThisOrder
    if refund_for_part(part.id) is not None or order.status == OrderStatus.REFUNDED:
        raise NothingMoreToRefund
    refund = refund_part_service(part, reason=reason, actor_id=actor_id)
    record_admin_action(
        actor_id,
        "order.part_refund",
        "order",
        order.id,
        reason=reason,
        details={"reference": order.reference, "part_id": part.id, "amount_idr": refund.amount_idr},
    )
    return refund


# --- views -----------------------------------------------------------------------------------


@bp.route("/")
@admin_required
def index() -> tuple[str, int]:
    search = read_search(request.args)
    bad = bool(search.dates.errors)
    page = None if bad else search_orders(search, page=filters.page_number(request.args))
    orders = page.items if page else []
    return render_template(
        "admin/orders.html",
        page=page,
        search=search,
        statuses=STATUSES,
        emails=emails_of({order.sponsor_id for order in orders}),
        refunded=refunded_by_order([order.id for order in orders]),
    ), (400 if bad else 200)


@bp.route("/refund")
@admin_required
def refunds() -> tuple[str, int]:
    dates = filters.date_range(request.args)
    page = None if dates.errors else refund_page(dates, page=filters.page_number(request.args))
    found = page.items if page else []
    return render_template(
        "admin/refunds.html",
        page=page,
        dates=dates,
        references=references_of({refund.order_id for refund in found}),
        emails=emails_of({refund.created_by_id for refund in found}),
    ), (400 if dates.errors else 200)


def _order_or_404(reference: str) -> Order:
    order = db.session.scalar(select(Order).where(Order.reference == reference[:24]))
    if order is None:
        abort(404)
    return order


def _refund_choices(view: order_reads.OrderView) -> list[tuple[str, str]]:
    """The whole order, and each part on this page of lines that cost something and was not
    refunded yet."""
    refunded = {refund.order_line_part_id for refund in view.refunds}
    locale = str(get_locale() or "id")
    choices = [(WHOLE_ORDER, _("The whole order: everything not refunded yet"))]
    for line in view.lines.items:
        for part in line.parts:
            if part.amount_idr > 0 and part.id not in refunded:
                worker = _("worker #%(id)s", id=line.worker_id)
                label = f"#{part.id} · {part.offer.name_in(locale)} · {worker}"
                choices.append((f"part-{part.id}", label))
    return choices


def _render_order(order: Order, form: RefundForm | None = None) -> str:
    view = order_reads.order_view(order, page=filters.page_number(request.args))
    form = form or RefundForm(formdata=None, prefix="refund")
    form.target.choices = _refund_choices(view)
    payments = db.session.scalars(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)
    ).all()
    return render_template(
        "admin/order_detail.html",
        order=order,
        view=view,
        payments=payments,
        form=form,
        emails=emails_of({order.sponsor_id, *(refund.created_by_id for refund in view.refunds)}),
        can_refund=order.status in REFUNDABLE_ORDER_STATUSES,
    )


@bp.route("/<reference>")
@admin_required
def detail(reference: str) -> str:
    return _render_order(_order_or_404(reference))


@bp.route("/<reference>/refund", methods=["POST"])
@admin_required
def refund(reference: str) -> str | tuple[str, int] | Response:
    order = _order_or_404(reference)
    form = RefundForm(prefix="refund")
    form.target.choices = []
    if form.validate_on_submit():
        target, reason = form.target.data or "", form.reason.data
        try:
            admin_refund(order, target, reason=reason, actor_id=current_user.id)
        except NothingMoreToRefund:
            db.session.rollback()
            flash(_("This was refunded already: nothing more was refunded."), "info")
            return redirect(url_for("admin_orders.detail", reference=order.reference))
        except NotThisOrder:
            db.session.rollback()
            form.target.errors = [_("Choose the whole order or one of its parts.")]
        except RefundError as refused:
            db.session.rollback()
            form.reason.errors = [str(refused.message)]
        else:
            db.session.commit()
            flash(_("Refunded. The sponsor sees it on the order and the receipt."), "success")
            return redirect(url_for("admin_orders.detail", reference=order.reference))
    return _render_order(_order_or_404(reference), form), 422
