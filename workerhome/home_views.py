"""The worker's pages: their home with their cover, who paid for it and what they were given."""

from flask import Blueprint, redirect, render_template
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts.access import worker_required
from workerhome.home import home_for
from workers.registration_views import pending_step_url
from workers.registry import worker_for_user

bp = Blueprint("fulfillment", __name__)


@bp.route("/saya")
@worker_required
def worker_home() -> str | Response:
    worker = worker_for_user(current_user)
    if (pending := pending_step_url(worker)) is not None:  # register or confirm consent first
        return redirect(pending)
    return render_template("fulfillment/worker_home.html", worker=worker, home=home_for(worker))
