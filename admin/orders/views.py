"""Admin: every order, one order's whole story (lines, parts, payments, refunds), refunding a
whole order or one part with a reason, and the list of refunds. The reading is in ``queries``,
the refunding in ``refunding``; these views parse, call one of them, commit and render.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts.access import admin_required
from admin import filters
from admin.forms import RefundForm
from admin.orders import queries
from admin.orders.refunding import WHOLE_ORDER, NothingMoreToRefund, NotThisOrder, admin_refund
from extensions import db
from sponsorship.checkout import orders as order_reads
from sponsorship.checkout.models import Order
from sponsorship.payments.refunds import REFUNDABLE_ORDER_STATUSES, RefundError

bp = Blueprint("admin_orders", __name__, url_prefix="/admin/pesanan")


@bp.route("/")
@admin_required
def index() -> tuple[str, int]:
    search = queries.read_search(request.args)
    bad = bool(search.dates.errors)
    page = None if bad else queries.search_orders(search, page=filters.page_number(request.args))
    orders = page.items if page else []
    return render_template(
        "admin/orders.html",
        page=page,
        search=search,
        statuses=queries.STATUSES,
        emails=queries.emails_of({order.sponsor_id for order in orders}),
        refunded=queries.refunded_by_order([order.id for order in orders]),
    ), (400 if bad else 200)


@bp.route("/refund")
@admin_required
def refunds() -> tuple[str, int]:
    dates = filters.date_range(request.args)
    page = (
        None if dates.errors else queries.refund_page(dates, page=filters.page_number(request.args))
    )
    found = page.items if page else []
    return render_template(
        "admin/refunds.html",
        page=page,
        dates=dates,
        references=queries.references_of({refund.order_id for refund in found}),
        emails=queries.emails_of({refund.created_by_id for refund in found}),
    ), (400 if dates.errors else 200)


def _order_or_404(reference: str) -> Order:
    order = queries.order_by_reference(reference)
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
    return render_template(
        "admin/order_detail.html",
        order=order,
        view=view,
        payments=queries.payments_of(order),
        form=form,
        emails=queries.emails_of(
            {order.sponsor_id, *(refund.created_by_id for refund in view.refunds)}
        ),
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
