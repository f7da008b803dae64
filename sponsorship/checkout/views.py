"""The ``checkout`` blueprint: the cart, placing an order and the sponsor's list of orders.
Its pages about money (an order, paying, refunds, receipts, statements) are added to the same
blueprint by ``sponsorship.payments.views``. Only the card form on the pay page needs
JavaScript."""

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from accounts.access import sponsor_required
from bundles.catalog import catalog_bundles
from core.dates import jakarta_today
from extensions import db
from sponsorship.checkout import orders
from sponsorship.checkout.cart import (
    CartError,
    add_selection_to_cart,
    empty_cart,
    existing_cart,
    payer_kind_for,
    remove_lines,
    set_payer_kind,
)
from sponsorship.checkout.cart_issues import IssueKind
from sponsorship.checkout.forms import (
    PAYER_HINTS,
    AddToCartForm,
    PayerForm,
    RemoveLineForm,
    ResolveForm,
)
from sponsorship.checkout.models import Order, PayerKind
from sponsorship.checkout.services import (
    CartNotReady,
    CheckoutError,
    cart_overview,
    place_order,
    resolve_issue,
)
from workers.directory.queries import selection_for

bp = Blueprint("checkout", __name__)


def page_number() -> int:
    return request.args.get("page", 1, type=int)


def own_order(reference: str) -> Order:
    """The signed-in sponsor's own order (admins see any order but pay none)."""
    order = orders.order_for(current_user, reference)
    if order is None or order.sponsor_id != current_user.id:
        abort(404)
    return order


# --- cart -----------------------------------------------------------------------------------


@bp.route("/keranjang")
@sponsor_required
def cart() -> str:
    overview = cart_overview(current_user, page=page_number(), today=jakarta_today())
    payer = payer_kind_for(current_user, overview.cart.payer_kind if overview.cart else None)
    return render_template(
        "sponsorship/checkout/cart.html",
        overview=overview,
        payer_form=PayerForm(payer_kind=str(payer)),
        payer_hints=PAYER_HINTS,
        remove_form=RemoveLineForm(),
    )


@bp.route("/keranjang/tambah/<int:selection_id>", methods=["GET", "POST"])
@sponsor_required
def add_to_cart(selection_id: int) -> ResponseReturnValue:
    selection = selection_for(current_user, selection_id) or abort(404)
    form = AddToCartForm()
    bundles = catalog_bundles()
    form.bundle.choices = [SelectChoice(bundle.id, bundle.name) for bundle in bundles]
    if form.validate_on_submit():
        try:
            added = add_selection_to_cart(
                current_user, selection.id, bundle_id=form.bundle.data, months=form.months.data
            )
        except CartError as refused:
            flash(refused.message, "error")
        else:
            db.session.commit()
            flash(_("%(count)s worker(s) are in your cart.", count=added.added), "success")
            if added.replaced:
                flash(_("Bundle replaced for %(count)s worker(s).", count=added.replaced), "info")
            if added.skipped:
                flash(
                    _(
                        "%(count)s worker(s) were left out: they are no longer listed.",
                        count=added.skipped,
                    ),
                    "warning",
                )
            return redirect(url_for("checkout.cart"))
    return render_template(
        "sponsorship/checkout/add.html", form=form, bundles=bundles, selection=selection
    )


@bp.route("/keranjang/hapus", methods=["POST"])
@sponsor_required
def remove_line() -> ResponseReturnValue:
    form = RemoveLineForm()
    cart = existing_cart(current_user)
    if form.validate_on_submit() and cart is not None and remove_lines(cart, [form.line_id.data]):
        db.session.commit()
        flash(_("The worker was taken out of your cart."), "success")
    return redirect(url_for("checkout.cart", page=request.form.get("page", 1, type=int)))


@bp.route("/keranjang/kosongkan", methods=["POST"])
@sponsor_required
def empty() -> ResponseReturnValue:
    cart = existing_cart(current_user)
    if cart is not None and empty_cart(cart):
        db.session.commit()
        flash(_("Your cart is empty."), "success")
    return redirect(url_for("checkout.cart"))


@bp.route("/keranjang/pembayar", methods=["POST"])
@sponsor_required
def payer() -> ResponseReturnValue:
    form = PayerForm()
    cart = existing_cart(current_user)
    if cart is None:
        return redirect(url_for("checkout.cart"))
    if form.validate_on_submit():
        wanted = PayerKind(form.payer_kind.data)
        if payer_kind_for(current_user, wanted) != wanted:
            flash(_("A local government pays full dues from its budget."), "error")
            return redirect(url_for("checkout.cart"))
        set_payer_kind(cart, wanted)
        db.session.commit()
        flash(_("Prices updated for who pays."), "success")
    else:
        flash(_("Choose who pays."), "error")
    return redirect(url_for("checkout.cart"))


@bp.route("/keranjang/atasi", methods=["POST"])
@sponsor_required
def resolve() -> ResponseReturnValue:
    form = ResolveForm()
    cart = existing_cart(current_user)
    if cart is None or not form.validate_on_submit():
        flash(_("That answer could not be used. Please try again."), "error")
        return redirect(url_for("checkout.cart"))
    try:
        changed = resolve_issue(
            cart,
            sponsor=current_user,
            today=jakarta_today(),
            kind=IssueKind(form.kind.data),
            bundle_id=form.bundle_id.data,
            offer_id=form.offer_id.data,
            action=form.action.data,
            replacement=form.replacement.data,
        )
    except CartError as refused:
        flash(refused.message, "error")
    else:
        db.session.commit()
        flash(_("Done: %(count)s line(s) changed.", count=changed), "success")
    return redirect(url_for("checkout.cart"))


@bp.route("/keranjang/pesan", methods=["POST"])
@sponsor_required
def place() -> ResponseReturnValue:
    try:
        order = place_order(current_user)
    except CartNotReady as not_ready:
        flash(not_ready.message, "error")
        return redirect(url_for("checkout.cart"))
    except CheckoutError as refused:
        flash(refused.message, "error")
        return redirect(url_for("checkout.cart"))
    orders.order_placed(order, request.form)
    db.session.commit()
    flash(_("Order %(reference)s is ready. Check it, then pay.", reference=order.reference))
    return redirect(url_for("checkout.order", reference=order.reference))


# --- orders ---------------------------------------------------------------------------------


@bp.route("/pesanan")
@sponsor_required
def order_list() -> str:
    page = orders.sponsor_orders(current_user, page=page_number())
    return render_template("sponsorship/checkout/orders.html", page=page)
