"""The invoice pages: asking for one, reading it (HTML and PDF), and opening its virtual
account again. Only the order's sponsor and admins see an invoice; anyone else gets the
same 404 as for an order that does not exist."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from accounts.access import role_required, sponsor_required
from accounts.models import Role
from extensions import db
from sponsorship.checkout import orders
from sponsorship.checkout.models import Order
from sponsorship.invoices import services
from sponsorship.invoices.forms import BANK_NAMES, InvoiceRequestForm, RetryForm
from sponsorship.invoices.pdf import buyer_facts, invoice_pdf, payment_facts
from sponsorship.payments.receipt_pdf import pdf_response

bp = Blueprint("invoices", __name__)


def _own_order(reference: str) -> Order:
    order = orders.order_for(current_user, reference)
    if order is None or order.sponsor_id != current_user.id:
        abort(404)
    return order


def _view(reference: str) -> services.InvoiceView:
    return services.invoice_for(current_user, reference) or abort(404)


@bp.route("/pesanan/<reference>/tagihan", methods=["POST"])
@sponsor_required
def request_invoice(reference: str) -> ResponseReturnValue:
    order = _own_order(reference)
    form = InvoiceRequestForm()
    if not form.validate_on_submit():
        flash(_("Choose the bank of the virtual account."), "error")
        return redirect(url_for("checkout.order", reference=reference))
    if services.missing_details(current_user):
        flash(_("First complete your organisation's legal name, address and NPWP."), "warning")
        return redirect(url_for("accounts.organisation"))
    try:
        services.issue_invoice(order, bank=form.invoice_bank.data, on_request=True)
    except services.InvoiceError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("checkout.order", reference=reference))
    db.session.commit()
    return redirect(url_for("invoices.invoice", reference=reference))


@bp.route("/pesanan/<reference>/tagihan")
@role_required(Role.SPONSOR, Role.ADMIN)
def invoice(reference: str) -> str:
    view = _view(reference)
    with force_locale("id"):
        return render_template(
            "sponsorship/invoices/invoice.html",
            view=view,
            buyer=buyer_facts(view),
            payment=payment_facts(view),
            retry_form=RetryForm(),
        )


@bp.route("/pesanan/<reference>/tagihan.pdf")
@role_required(Role.SPONSOR, Role.ADMIN)
def invoice_download(reference: str) -> Response:
    view = _view(reference)
    with force_locale("id"):
        content = invoice_pdf(view)
    name = view.invoice.number.replace("/", "-")
    return pdf_response(content, f"tagihan-{name}.pdf")


@bp.route("/pesanan/<reference>/tagihan/va", methods=["POST"])
@sponsor_required
def retry_va(reference: str) -> ResponseReturnValue:
    _own_order(reference)
    view = _view(reference)
    if RetryForm().validate_on_submit() and services.retry_virtual_account(view.invoice):
        db.session.commit()
        flash(_("The virtual account is open."), "success")
    else:
        db.session.rollback()
        flash(_("The virtual account could not be opened now. Please try again later."), "error")
    return redirect(url_for("invoices.invoice", reference=reference))


def invoice_page_context() -> dict[str, object]:
    """For checkout's pages: the invoice of an order, the request form and the threshold."""
    return {
        "invoice_of": services.invoice_of,
        "invoice_request_form": InvoiceRequestForm,
        "invoice_threshold_idr": services.threshold_idr,
        "invoice_bank_names": BANK_NAMES,
    }
