"""The development outbox: every message Payung would have sent, with its delivery status;
in ``make run`` also what reached the phones (the sandbox's WhatsApp and SMS providers) and
the emails the local SMTP server took (its Maildir, OUTBOX_MAIL_DIR), read by
``pages.outbox_sources``. Registered only when DEV_OUTBOX is on (development and tests), so the
route does not exist in production."""

from flask import Blueprint, render_template

from accounts.access import public
from pages.outbox_sources import phones, received_mail, recent_messages

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.route("/outbox")
@public
def outbox() -> str:
    return render_template(
        "dev/outbox.html", messages=recent_messages(), phones=phones(), mails=received_mail()
    )
