"""The development outbox: every message Payung would have sent. Registered only when
DEV_OUTBOX is on (development and tests), so the route does not exist in production."""

from flask import Blueprint, render_template
from sqlalchemy import select

from accounts.access import public
from extensions import db
from messaging.models import Message

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.route("/outbox")
@public
def outbox() -> str:
    messages = db.session.scalars(
        select(Message).order_by(Message.created_at.desc(), Message.id.desc()).limit(200)
    ).all()
    return render_template("dev/outbox.html", messages=messages)
