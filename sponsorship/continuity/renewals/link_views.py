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

from accounts.access import sponsor_required
from core.identity import first_name_and_initial
from extensions import db
from sponsorship.continuity.renewals.links import renew_into_cart

bp = Blueprint("renewal_links", __name__)


@bp.route("/sponsor/perpanjang/<int:worker_id>", methods=["GET", "POST"])
@sponsor_required
def renew(worker_id: int) -> ResponseReturnValue:
    renewed = renew_into_cart(current_user, worker_id)
    if renewed is None:
        abort(404)
    db.session.commit()
    name = first_name_and_initial(renewed.worker.full_name)
    if not renewed.in_cart:
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
