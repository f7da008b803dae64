"""Sign-up, sign-in and sign-out pages."""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from accounts import services
from accounts.access import public, signed_in
from accounts.forms import CodeForm, PhoneForm, ResendForm, SignInForm, SignUpForm
from accounts.models import Role, User
from core.identity import InvalidPhone, mask_phone, normalize_phone
from extensions import db, limiter, login_manager
from security import safe_next

bp = Blueprint("accounts", __name__)

HOME_ENDPOINTS = {
    Role.SPONSOR: "sponsorship.dashboard",
    Role.PARTNER: "partner.dashboard",
    Role.ADMIN: "admin.index",
    Role.WORKER: "fulfillment.worker_home",
}
OTP_PHONE = "otp_phone"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    raw_id, _sep, token = user_id.partition(":")
    if not raw_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(raw_id))
    if user is None or user.session_token != token:
        return None
    return user


def home_url(user: User) -> str:
    return url_for(HOME_ENDPOINTS[Role(user.role)])


def _sign_in_limit() -> str:
    return current_app.config["RATELIMIT_SIGN_IN"]


def _otp_limit() -> str:
    return current_app.config["RATELIMIT_OTP_REQUEST"]


def _phone_key() -> str:
    try:
        return "phone:" + normalize_phone(request.form.get("phone", ""))
    except InvalidPhone:
        return "phone:invalid"


def _start_session(user: User, *, remember: bool = False) -> None:
    session.clear()  # a fresh session on every sign-in: no fixation
    login_user(user, remember=remember)


@bp.route("/masuk", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"])
@public
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.InvalidCredentials as exc:
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            _start_session(user, remember=form.remember.data)
            return redirect(safe_next(form.next.data, home_url(user)))
    return render_template("accounts/login.html", form=form)


@bp.route("/daftar", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"])
@public
def signup() -> str | Response:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            user = services.register_user(
                email=form.email.data,
                password=form.password.data,
                display_name=form.name.data,
                role=Role(form.role.data),
            )
        except services.EmailTaken as exc:
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            _start_session(user)
            flash(_("Welcome to Payung, %(name)s.", name=user.display_name), "success")
            return redirect(home_url(user))
    return render_template("accounts/signup.html", form=form)


@bp.route("/keluar", methods=["POST"])
@signed_in
def logout() -> Response:
    services.end_sessions(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/masuk/pekerja", methods=["GET", "POST"])
@limiter.limit(_otp_limit, methods=["POST"])
@limiter.limit(_otp_limit, methods=["POST"], key_func=_phone_key)
@public
def worker_login() -> str | Response:
    form = PhoneForm()
    if form.validate_on_submit():
        services.request_sign_in_code(form.phone_e164)
        db.session.commit()
        session[OTP_PHONE] = form.phone_e164
        session["otp_next"] = safe_next(request.args.get("next"), "")
        return redirect(url_for("accounts.worker_verify"))
    return render_template("accounts/worker_login.html", form=form)


@bp.route("/masuk/pekerja/kode", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"])
@public
def worker_verify() -> str | Response:
    phone = session.get(OTP_PHONE)
    if not phone:
        return redirect(url_for("accounts.worker_login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            user = services.verify_sign_in_code(phone, form.code.data)
        except services.InvalidCode as exc:
            db.session.commit()  # keep the attempt count
            form.code.errors.append(str(exc))
        else:
            db.session.commit()
            next_url = session.get("otp_next") or home_url(user)
            _start_session(user)
            return redirect(safe_next(next_url, home_url(user)))
    return render_template(
        "accounts/worker_verify.html",
        form=form,
        resend_form=ResendForm(),
        masked_phone=mask_phone(phone),
    )


@bp.route("/masuk/pekerja/kirim-ulang", methods=["POST"])
@limiter.limit(_otp_limit)
@public
def worker_resend() -> Response:
    phone = session.get(OTP_PHONE)
    if phone and ResendForm().validate_on_submit():
        services.request_sign_in_code(phone)
        db.session.commit()
        flash(_("A new code is on its way."), "info")
    return redirect(url_for("accounts.worker_verify"))
