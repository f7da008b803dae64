"""The one-tap renewal link of every lapse alert: ``/sponsor/perpanjang/<worker_id>``.

It puts the worker's last bundle and months (from the sponsor's latest paid line for them,
with the same parts left out) into the sponsor's cart and opens the cart, where the new months
are priced after the current cover and nothing is paid until the sponsor pays. It reuses the
"cover again" service of checkout (``restore_cart``).

GET does this so the link in an email works in one tap; it is safe as a GET because it only
adds to the signed-in sponsor's own cart, is idempotent (a worker already in the cart with that
bundle is left alone) and moves no money. POST (with CSRF) does the same for buttons.
A sponsor who never paid for this worker gets 404 (the worker's sponsors are not disclosed);
other roles get 403.
"""

from flask import Blueprint, abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from accounts.access import sponsor_required
from core.identity import first_name_and_initial
from extensions import db
from sponsorship.checkout.models import Cart, CartLine, Order
from sponsorship.checkout.services import restore_cart
from sponsorship.continuity.ledger import last_funded_line, months_funded_by_sponsor
from workers.models import Worker

bp = Blueprint("renewal_links", __name__)
# The worker profile lists months covered per sponsor (co-sponsorship counts in months).
bp.add_app_template_global(months_funded_by_sponsor, "months_funded_by_sponsor")


@bp.route("/sponsor/perpanjang/<int:worker_id>", methods=["GET", "POST"])
@sponsor_required
def renew(worker_id: int) -> ResponseReturnValue:
    line = last_funded_line(current_user.id, worker_id)
    if line is None:
        abort(404)
    order = db.session.get(Order, line.order_id)
    worker = db.session.get(Worker, worker_id)
    if order is None or worker is None:
        abort(404)
    restore_cart(order, current_user, line_ids=[line.id])
    in_cart = db.session.scalar(
        select(CartLine.id)
        .join(Cart, Cart.id == CartLine.cart_id)
        .where(Cart.sponsor_id == current_user.id, CartLine.worker_id == worker_id)
        .limit(1)
    )
    db.session.commit()
    name = first_name_and_initial(worker.full_name)
    if in_cart is None:
        flash(_("%(name)s can no longer be covered through Payung.", name=name), "error")
    else:
        flash(
            _(
                "%(name)s is in your cart with the same bundle and months. Check and pay to "
                "renew the cover.",
                name=name,
            ),
            "success",
        )
    return redirect(url_for("checkout.cart"))
