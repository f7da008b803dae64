"""The worker's pages: their home with what they have been given."""

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from accounts.access import worker_required
from extensions import db
from sponsorship.models import Worker

bp = Blueprint("fulfillment", __name__)


@bp.route("/saya")
@worker_required
def worker_home() -> str:
    worker = db.session.scalar(select(Worker).where(Worker.user_id == current_user.id))
    return render_template("fulfillment/worker_home.html", worker=worker)
