"""The worker's own record, from their home: a new phone number (proven by a code sent to it),
their heirs, and a copy of all their data (UU PDP). Light pages that need no JavaScript."""

import hashlib
import json

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from accounts.access import worker_required
from accounts.forms import CodeForm, PhoneForm
from accounts.services import end_sessions
from core.identity import IdentityError, mask_phone, normalize_phone
from extensions import db, limiter
from workerhome import self_service as worker_self
from workerhome.export import worker_data
from workerhome.forms import HeirEditForm
from workers import registry
from workers.forms import HEIR_RELATION_LABELS
from workers.models import Worker
from workers.registry import MAX_HEIRS
from workers.self_models import ChangeKind

bp = Blueprint("worker_self", __name__)

PENDING_PHONE = "phone_change_to"  # the masked new number, for the code page


def _send_limit() -> str:
    return str(current_app.config.get("RATELIMIT_PHONE_CHANGE", "3 per hour;6 per day"))


def _user_key() -> str:
    # Limits are checked before the access decorator runs: anonymous callers count per IP.
    who = current_user.id if current_user.is_authenticated else get_remote_address()
    return f"phone-change-user:{who}"


def _target_key() -> str:
    try:
        phone = normalize_phone(request.form.get("phone", ""))
    except IdentityError:
        return "phone-change-target:invalid"
    return "phone-change-target:" + hashlib.sha256(phone.encode()).hexdigest()[:32]


def _sent(response: Response) -> bool:
    return response.status_code == 302


def _my_worker() -> Worker | None:
    worker = registry.worker_for_user(current_user)
    if worker is None or worker.needs_consent_confirmation:
        return None
    return worker


def _start() -> Response:
    return redirect(url_for("sponsorship.registration.start"))


# --- phone --------------------------------------------------------------------------------


@bp.route("/saya/nomor", methods=["GET", "POST"])
@limiter.limit(_send_limit, methods=["POST"], key_func=_user_key, deduct_when=_sent)
@limiter.limit(_send_limit, methods=["POST"], key_func=_target_key, deduct_when=_sent)
@worker_required
def change_phone() -> str | Response | tuple[str, int]:
    worker = _my_worker()
    if worker is None:
        return _start()
    form = PhoneForm()
    if form.validate_on_submit():
        try:
            worker_self.request_phone_change(worker, form.phone.data)
        except (worker_self.SelfServiceError, IdentityError) as exc:
            form.phone.errors.append(str(exc.message))
        else:
            db.session.commit()
            session[PENDING_PHONE] = mask_phone(form.phone_e164)
            return redirect(url_for("worker_self.confirm_phone"))
    status = 422 if form.errors or form.phone.errors else 200
    return render_template(
        "sponsorship/self/phone.html", form=form, current=worker.phone_e164
    ), status


@bp.route("/saya/nomor/kode", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGN_IN"], methods=["POST"])
@worker_required
def confirm_phone() -> str | Response | tuple[str, int]:
    worker = _my_worker()
    if worker is None:
        return _start()
    masked = session.get(PENDING_PHONE)
    if not masked or worker_self.pending_phone_change(worker) is None:
        return redirect(url_for("worker_self.change_phone"))
    form = CodeForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            worker_self.confirm_phone_change(worker, user, form.code.data)
        except worker_self.SelfServiceError as exc:
            db.session.commit()  # keep the attempt count (nothing else changed)
            form.code.errors.append(str(exc.message))
        else:
            end_sessions(user)  # other devices signed in with the old number sign out
            db.session.commit()
            session.pop(PENDING_PHONE, None)
            login_user(user)
            flash(_("Your phone number is changed. We told your old number."), "success")
            return redirect(url_for("fulfillment.worker_home"))
    status = 422 if form.errors or form.code.errors else 200
    return render_template("sponsorship/self/phone_code.html", form=form, masked=masked), status


# --- heirs --------------------------------------------------------------------------------


@bp.route("/saya/ahli-waris", methods=["GET", "POST"])
@worker_required
def heirs() -> str | Response | tuple[str, int]:
    worker = _my_worker()
    if worker is None:
        return _start()
    form = HeirEditForm()
    if form.validate_on_submit():
        try:
            worker_self.add_heir(worker, form.details(), by=current_user)
        except worker_self.SelfServiceError as exc:
            form.form_errors.append(str(exc.message))
        else:
            db.session.commit()
            flash(_("The heir is added."), "success")
            return redirect(url_for("worker_self.heirs"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "sponsorship/self/heirs.html",
        worker=worker,
        form=form,
        labels=HEIR_RELATION_LABELS,
        max_heirs=MAX_HEIRS,
    ), status


@bp.route("/saya/ahli-waris/<int:heir_id>", methods=["GET", "POST"])
@worker_required
def edit_heir(heir_id: int) -> str | Response | tuple[str, int]:
    worker = _my_worker()
    if worker is None:
        return _start()
    try:
        heir = worker_self.heir_of(worker, heir_id)
    except worker_self.HeirNotFound:
        abort(404)
    form = HeirEditForm(
        data=None
        if request.method == "POST"
        else {"full_name": heir.full_name, "relation": heir.relation, "phone": heir.phone_e164}
    )
    if form.validate_on_submit():
        worker_self.update_heir(worker, heir.id, form.details(), by=current_user)
        db.session.commit()
        flash(_("The heir is updated."), "success")
        return redirect(url_for("worker_self.heirs"))
    status = 422 if request.method == "POST" else 200
    return render_template("sponsorship/self/heir_edit.html", form=form, heir=heir), status


@bp.route("/saya/ahli-waris/<int:heir_id>/hapus", methods=["POST"])
@worker_required
def remove_heir(heir_id: int) -> Response:
    worker = _my_worker()
    if worker is None:
        return _start()
    try:
        worker_self.remove_heir(worker, heir_id, by=current_user)
    except worker_self.HeirNotFound:
        abort(404)
    except worker_self.SelfServiceError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("worker_self.heirs"))
    db.session.commit()
    flash(_("The heir is removed."), "info")
    return redirect(url_for("worker_self.heirs"))


# --- my data ------------------------------------------------------------------------------


@bp.route("/saya/data/unduh")
@worker_required
def download() -> Response:
    worker = _my_worker()
    if worker is None:
        return _start()
    data = worker_data(worker)
    worker_self.record_change(worker, ChangeKind.DATA_DOWNLOADED, by=current_user)
    db.session.commit()
    response = current_app.response_class(
        json.dumps(data, ensure_ascii=False, indent=2, default=str),
        mimetype="application/json",
    )
    response.headers["Content-Disposition"] = 'attachment; filename="data-saya-payung.json"'
    response.headers["Cache-Control"] = "no-store"
    return response
