"""The worker's choice of how Payung writes to them: WhatsApp (falling back to SMS) or SMS
only, and whether news comes at all (the same switch as texting BERHENTI / MULAI). Kept by
phone number in messaging's contacts, so the choice holds for every message to that number."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts.access import worker_required
from extensions import db
from messaging.contacts import (
    chosen_channel,
    is_stopped,
    resume_messages,
    set_channel,
    stop_messages,
)
from messaging.models import Channel
from workerhome.forms import MessagesForm
from workers import registry

bp = Blueprint("worker_messages", __name__)


@bp.route("/saya/pesan", methods=["GET", "POST"])
@worker_required
def preferences() -> str | Response | tuple[str, int]:
    worker = registry.worker_for_user(current_user)
    if worker is None or worker.needs_consent_confirmation:
        return redirect(url_for("sponsorship.registration.start"))
    phone = worker.phone_e164
    form = MessagesForm()
    if form.validate_on_submit():
        set_channel(phone, Channel(form.channel.data))
        if form.news.data:
            resume_messages(phone)
        else:
            stop_messages(phone)
        db.session.commit()
        flash(_("Saved. Payung writes to you as you chose."), "success")
        return redirect(url_for("worker_messages.preferences"))
    if not form.is_submitted():
        form.channel.data = (chosen_channel(phone) or Channel.SMS).value
        form.news.data = not is_stopped(phone)
    status = 422 if form.errors else 200
    return render_template("workerhome/messages.html", form=form), status
