"""The ``checkout`` blueprint's order pages that involve money: an order, paying it (card form,
3-D Secure return), going back to the cart, refunds, receipts and yearly statements."""

from flask import (
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from accounts.access import admin_required, role_required, sponsor_required
from accounts.models import Role
from extensions import db, limiter
from sponsorship.checkout import orders
from sponsorship.checkout.forms import (
    RefundForm,
)
from sponsorship.checkout.models import Order, OrderStatus
from sponsorship.checkout.services import (
    CheckoutError,
    restore_cart,
)
from sponsorship.checkout.views import bp, own_order, page_number
from sponsorship.payments import receipts
from sponsorship.payments import services as payments
from sponsorship.payments.gateway_types import setup_intent_in
from sponsorship.payments.receipt_pdf import pdf_response, receipt_pdf, statement_pdf
from sponsorship.payments.refunds import RefundError, refund_order


@bp.route("/pesanan/<reference>")
@role_required(Role.SPONSOR, Role.ADMIN)
def order(reference: str) -> str:
    found = orders.order_for(current_user, reference) or abort(404)
    return render_template(
        "sponsorship/checkout/order.html",
        order=found,
        view=orders.order_view(found, page=page_number()),
        refund_form=RefundForm() if current_user.role == Role.ADMIN else None,
        is_expired=payments.is_expired(found),
    )


@bp.route("/pesanan/<reference>/kembali-ke-keranjang", methods=["POST"])
@sponsor_required
def back_to_cart(reference: str) -> ResponseReturnValue:
    order = own_order(reference)
    try:
        count = payments.return_to_cart(order, current_user)
    except (CheckoutError, payments.PaymentError) as refused:
        db.session.commit()  # what was learnt about the payment meanwhile is kept
        flash(refused.message, "error")
        return redirect(url_for("checkout.order", reference=reference))
    db.session.commit()
    flash(_("Order cancelled. %(count)s worker(s) are back in your cart.", count=count), "success")
    return redirect(url_for("checkout.cart"))


@bp.route("/pesanan/<reference>/lindungi-lagi", methods=["POST"])
@sponsor_required
def cover_again(reference: str) -> ResponseReturnValue:
    order = own_order(reference)
    count = restore_cart(order, current_user)
    db.session.commit()
    flash(_("%(count)s worker(s) are in your cart.", count=count), "success")
    return redirect(url_for("checkout.cart"))


@bp.route("/pesanan/<reference>/refund", methods=["POST"])
@admin_required
def refund(reference: str) -> ResponseReturnValue:
    order = orders.order_for(current_user, reference) or abort(404)
    form = RefundForm()
    if not form.validate_on_submit():
        flash(_("Give a reason of 5 to 200 characters for the refund."), "error")
        return redirect(url_for("checkout.order", reference=reference))
    try:
        refund_order(order, reason=form.reason.data.strip(), actor_id=current_user.id)
    except RefundError as refused:
        db.session.rollback()
        flash(refused.message, "error")
    else:
        db.session.commit()
        flash(_("The order was refunded."), "success")
    return redirect(url_for("checkout.order", reference=reference))


# --- paying ---------------------------------------------------------------------------------


@bp.route("/pesanan/<reference>/bayar")
@sponsor_required
def pay(reference: str) -> ResponseReturnValue:
    order = own_order(reference)
    if order.status != OrderStatus.AWAITING_PAYMENT:
        return redirect(url_for("checkout.order", reference=reference))
    try:
        session = payments.open_payment(order, current_user)
    except payments.PaymentError as refused:
        db.session.commit()
        flash(refused.message, "error")
        return redirect(url_for("checkout.order", reference=reference))
    db.session.commit()
    return render_template(
        "sponsorship/checkout/pay.html",
        order=order,
        session=session,
        stripe=payments.payment_config(),
    )


@bp.route("/pesanan/<reference>/bayar/kartu", methods=["POST"])
@limiter.limit("20 per minute")
@sponsor_required
def confirm_card(reference: str) -> ResponseReturnValue:
    order = own_order(reference)
    setup_id = setup_intent_in(request.get_json(silent=True))
    if setup_id is None:
        return jsonify(status="error", message=_("The card form sent nothing we can use.")), 400
    try:
        result = payments.confirm_card(order, current_user, setup_id)
    except payments.PaymentError as refused:
        db.session.commit()
        return jsonify(status="error", message=str(refused.message)), 409
    db.session.commit()
    return jsonify(
        status=str(result.outcome),
        message=str(result.message) if result.message else None,
        client_secret=result.client_secret,
        setup_client_secret=result.setup_client_secret,
        return_url=url_for("checkout.payment_return", reference=reference),
    )


@bp.route("/pesanan/<reference>/selesai")
@sponsor_required
def payment_return(reference: str) -> ResponseReturnValue:
    order = own_order(reference)
    try:
        result = payments.sync_order_payment(order)
    except payments.PaymentError as refused:
        flash(refused.message, "error")
        return render_template("sponsorship/checkout/return.html", order=order, result=None)
    db.session.commit()
    outcome = result.outcome
    if outcome is payments.Outcome.SUCCEEDED:
        flash(_("Thank you! Your payment was received."), "success")
        return redirect(url_for("checkout.order", reference=reference))
    if outcome is payments.Outcome.DECLINED:
        flash(_("The payment did not go through: %(reason)s", reason=result.message), "error")
        return redirect(url_for("checkout.pay", reference=reference))
    if outcome in (payments.Outcome.UNPAID, payments.Outcome.CANCELLED):
        return redirect(url_for("checkout.order", reference=reference))
    return render_template("sponsorship/checkout/return.html", order=order, result=result)


# --- receipts and statements -----------------------------------------------------------------


def _paid_order(reference: str) -> Order:
    order = orders.order_for(current_user, reference)
    if order is None or not order.is_paid:
        abort(404)
    return order


@bp.route("/pesanan/<reference>/kuitansi")
@role_required(Role.SPONSOR, Role.ADMIN)
def receipt(reference: str) -> str:
    receipt = receipts.order_receipt(_paid_order(reference))
    with force_locale("id"):
        return render_template("sponsorship/checkout/receipt.html", receipt=receipt)


@bp.route("/pesanan/<reference>/kuitansi.pdf")
@role_required(Role.SPONSOR, Role.ADMIN)
def receipt_download(reference: str) -> Response:
    receipt = receipts.order_receipt(_paid_order(reference))
    with force_locale("id"):
        content = receipt_pdf(receipt)
    return pdf_response(content, f"kuitansi-{reference}.pdf")


@bp.route("/laporan")
@sponsor_required
def statements() -> str:
    years = receipts.statement_years(current_user)
    return render_template("sponsorship/checkout/statements.html", years=years)


@bp.route("/laporan/<int:year>")
@sponsor_required
def statement(year: int) -> str:
    if not 2000 <= year <= 2100:
        abort(404)
    statement = receipts.yearly_statement(current_user, year)
    with force_locale("id"):
        return render_template("sponsorship/checkout/statement.html", statement=statement)


@bp.route("/laporan/<int:year>.pdf")
@sponsor_required
def statement_download(year: int) -> Response:
    if not 2000 <= year <= 2100:
        abort(404)
    statement = receipts.yearly_statement(current_user, year)
    with force_locale("id"):
        content = statement_pdf(statement)
    return pdf_response(content, f"laporan-payung-{year}.pdf")
