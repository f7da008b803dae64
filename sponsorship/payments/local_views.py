"""The ``checkout`` blueprint's pages for paying by QRIS, virtual account or e-wallet.

The sponsor picks a method on the pay page (a plain form: no JavaScript needed); QRIS and VA
lead to a page showing the code or the number with the amount and deadline, an e-wallet to a
page that sends the sponsor on to the wallet's own page. The code or number page asks
``…/status`` now and then (``local_pay.js``) whether the callback has arrived, and has an
"I have paid" button that asks Xendit itself.
"""

import segno
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup

from accounts.access import sponsor_required
from extensions import db, limiter, utcnow
from sponsorship.checkout.models import Order, OrderStatus, Payment
from sponsorship.checkout.views import bp, own_order
from sponsorship.payments import local
from sponsorship.payments import services as payments
from sponsorship.payments.gateway_types import LOCAL_CHANNELS, PayMethod

POLL_SECONDS = 5
# How the page names a bank or wallet (the others as Xendit spells them).
CHANNEL_NAMES = {"MANDIRI": "Mandiri", "SHOPEEPAY": "ShopeePay"}


def qr_svg(content: str) -> Markup:
    """The QRIS string as an inline SVG QR code: seen without JavaScript or images."""
    svg = segno.make(content, error="m").svg_inline(scale=4, border=4, svgclass="qr", omitsize=True)
    return Markup(svg)  # noqa: S704 (segno's markup; the string is in the modules)


def _local_payment(order: Order, payment_id: int) -> Payment:
    payment = local.local_payment_of(order, payment_id)
    if payment is None:
        abort(404)
    return payment


@bp.route("/pesanan/<reference>/bayar/lokal", methods=["POST"])
@limiter.limit("20 per minute")
@sponsor_required
def start_local(reference: str) -> ResponseReturnValue:
    order = own_order(reference)
    method, channel = request.form.get("method", ""), request.form.get("channel", "")
    if method == PayMethod.QRIS:
        channel = "QRIS"
    try:
        valid = channel in LOCAL_CHANNELS.get(PayMethod(method), ())
    except ValueError:
        valid = False
    if not valid:
        flash(_("Choose how you want to pay."), "error")
        return redirect(url_for("checkout.pay", reference=reference))
    try:
        payment = local.start_local_payment(order, method, channel)
    except payments.PaymentError as refused:
        db.session.commit()
        flash(refused.message, "error")
        return redirect(url_for("checkout.order", reference=reference))
    db.session.commit()
    # Even an e-wallet goes to our page first: the CSP's form-action 'self' forbids a form
    # to redirect to another site, so that page sends the sponsor on (a link, and a refresh).
    return redirect(url_for("checkout.local_payment", reference=reference, payment_id=payment.id))


@bp.route("/pesanan/<reference>/bayar/<int:payment_id>")
@sponsor_required
def local_payment(reference: str, payment_id: int) -> ResponseReturnValue:
    order = own_order(reference)
    payment = _local_payment(order, payment_id)
    if order.is_paid:
        return redirect(url_for("checkout.order", reference=reference))
    expired = payment.expires_at is not None and payment.expires_at <= utcnow()
    return render_template(
        "sponsorship/checkout/pay_local.html",
        order=order,
        payment=payment,
        expired=expired,
        qr=qr_svg(payment.qr_string) if payment.qr_string else None,
        channel_name=CHANNEL_NAMES.get(payment.channel or "", payment.channel),
        poll_seconds=POLL_SECONDS,
    )


@bp.route("/pesanan/<reference>/bayar/<int:payment_id>/cek", methods=["POST"])
@limiter.limit("30 per minute")
@sponsor_required
def check_local(reference: str, payment_id: int) -> ResponseReturnValue:
    """ "I have paid": ask Xendit now rather than wait for the callback."""
    order = own_order(reference)
    payment = _local_payment(order, payment_id)
    try:
        outcome = local.settle_local(order, payment)
    except payments.PaymentError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(
            url_for("checkout.local_payment", reference=reference, payment_id=payment_id)
        )
    db.session.commit()
    return _after(order.reference, payment_id, outcome)


def _after(reference: str, payment_id: int, outcome: payments.Outcome) -> ResponseReturnValue:
    if outcome is payments.Outcome.SUCCEEDED:
        flash(_("Thank you! Your payment was received."), "success")
        return redirect(url_for("checkout.order", reference=reference))
    if outcome is payments.Outcome.DECLINED:
        flash(_("The payment did not go through. Please choose how to pay again."), "error")
        return redirect(url_for("checkout.pay", reference=reference))
    flash(_("We have not received your payment yet. It can take a minute."), "info")
    return redirect(url_for("checkout.local_payment", reference=reference, payment_id=payment_id))


@bp.route("/pesanan/<reference>/bayar/<int:payment_id>/status")
@sponsor_required
def local_status(reference: str, payment_id: int) -> ResponseReturnValue:
    """For the page's poll: has the callback marked the order paid? (Reads Payung only.)"""
    order = own_order(reference)
    _local_payment(order, payment_id)
    return jsonify(
        paid=order.is_paid,
        done=order.status != OrderStatus.AWAITING_PAYMENT,
        url=url_for("checkout.order", reference=reference),
    )


@bp.route("/pesanan/<reference>/bayar/kembali")
@sponsor_required
def local_return(reference: str) -> ResponseReturnValue:
    """Where the e-wallet sends the sponsor back: ask Xendit how it went."""
    order = own_order(reference)
    try:
        outcome = local.sync_local_payments(order)
    except payments.PaymentError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("checkout.order", reference=reference))
    db.session.commit()
    if outcome is payments.Outcome.SUCCEEDED:
        flash(_("Thank you! Your payment was received."), "success")
        return redirect(url_for("checkout.order", reference=reference))
    flash(_("The payment did not go through. Please choose how to pay again."), "error")
    return redirect(url_for("checkout.pay", reference=reference))
