"""The worker thanks a sponsor for one bundle: a preset sentence and a few words of their own."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts.access import worker_required
from extensions import db, limiter
from sponsorship.checkout.models import OrderLine
from sponsorship.notes import thanks
from sponsorship.notes.models import THANKS_TEXT_MAX
from workerhome.forms import ThanksForm
from workers import registry

bp = Blueprint("thanks", __name__)


def _limit() -> str:
    return str(current_app.config.get("RATELIMIT_THANKS", "10 per hour;30 per day"))


def _user_key() -> str:
    # Limits are checked before the access decorator runs: anonymous callers count per IP.
    who = current_user.id if current_user.is_authenticated else get_remote_address()
    return f"thanks-user:{who}"


@bp.route("/saya/terima-kasih/<int:line_id>", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"], key_func=_user_key)
@worker_required
def send(line_id: int) -> str | Response | tuple[str, int]:
    worker = registry.worker_for_user(current_user)
    if worker is None or worker.needs_consent_confirmation:
        return redirect(url_for("sponsorship.registration.start"))
    try:
        line: OrderLine = thanks.line_to_thank(worker, line_id)
    except thanks.NotThanksable:
        abort(404)
    sent = thanks.thanks_for_line(line.id)
    form = ThanksForm()
    if sent is None and form.validate_on_submit():
        try:
            thanks.send_thanks(worker, line.id, phrase=form.phrase.data, text=form.text.data)
        except thanks.ThanksError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc.message))
        else:
            db.session.commit()
            flash(_("Thank you! Your message is on its way to the sponsor."), "success")
            return redirect(url_for("fulfillment.worker_home"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "sponsorship/self/thanks.html",
        form=form,
        line=line,
        sent=sent,
        phrases=thanks.PHRASES,
        max_text=THANKS_TEXT_MAX,
    ), status
