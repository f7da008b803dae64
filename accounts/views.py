"""Sign-up, sign-in and sign-out pages.

Rate limits count failures, so nobody is locked out by someone else: per client address, wrong
passwords and wrong one-time codes (never right ones); per phone, wrong one-time codes entered
from anywhere (RATELIMIT_OTP_WRONG_PER_PHONE, a lock that ends with its window). Asking for a
code is limited per client address; a phone gets a new code OTP_RESEND_SECONDS after the last
one (the page counts down), so asking from many addresses neither floods nor locks the phone.
"""

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

from accounts import organisations, services
from accounts.access import public, signed_in
from accounts.forms import CodeForm, PhoneForm, ResendForm, SignInForm, SignUpForm
from accounts.models import Role, User
from accounts.sessions import user_for_session
from core.identity import mask_phone
from core.rate_limits import (
    count_failure,
    failed,
    phone_key,
    too_many_tries_error_page,
    too_many_tries_page,
)
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
    return user_for_session(user_id)


def home_url(user: User) -> str:
    return url_for(HOME_ENDPOINTS[Role(user.role)])


def _sign_in_limit() -> str:
    return current_app.config["RATELIMIT_SIGN_IN"]


def _otp_limit() -> str:
    return current_app.config["RATELIMIT_OTP_REQUEST"]


def _wrong_code_limit() -> str:
    return current_app.config["RATELIMIT_OTP_WRONG_PER_PHONE"]


def _session_phone_key() -> str:
    phone = session.get(OTP_PHONE)
    return phone_key(phone) if phone else "phone:none"


def _start_session(user: User, *, remember: bool = False) -> None:
    session.clear()  # a fresh session on every sign-in: no fixation
    login_user(user, remember=remember)


@bp.route("/masuk", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"], deduct_when=failed)
@public
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.InvalidCredentials as exc:
            count_failure()
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
            if user.role == Role.SPONSOR:
                organisations.start_profile(user, form.sponsor_kind.data, user.display_name)
            db.session.commit()
            _start_session(user)
            flash(_("Welcome to Payung, %(name)s.", name=user.display_name), "success")
            if organisations.sponsor_kind(user) != organisations.SponsorKind.PERSON:
                return redirect(url_for("accounts.organisation"))
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
@public
def worker_login() -> str | Response:
    form = PhoneForm()
    if form.validate_on_submit():
        try:
            services.request_sign_in_code(form.phone_e164)
        except services.ResendTooSoon as exc:
            flash(str(exc), "info")  # the code sent moments ago works: go and type it
        db.session.commit()
        session[OTP_PHONE] = form.phone_e164
        session["otp_next"] = safe_next(request.args.get("next"), "")
        return redirect(url_for("accounts.worker_verify"))
    return render_template("accounts/worker_login.html", form=form)


@bp.route("/masuk/pekerja/kode", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"], deduct_when=failed)
@limiter.shared_limit(
    _wrong_code_limit,
    "otp-wrong-phone",
    methods=["POST"],
    key_func=_session_phone_key,
    deduct_when=failed,
)
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
            if isinstance(exc, services.WrongCode):
                count_failure()
            form.code.errors.append(str(exc))
        else:
            db.session.commit()
            next_url = session.get("otp_next") or home_url(user)
            _start_session(user)
            return redirect(safe_next(next_url, home_url(user)))
    return render_template("accounts/worker_verify.html", **_verify_page(form, phone))


def _verify_page(form: CodeForm, phone: str) -> dict[str, object]:
    return {
        "form": form,
        "resend_form": ResendForm(),
        "masked_phone": mask_phone(phone),
        "resend_wait": services.resend_wait(phone),
    }


@bp.route("/masuk/pekerja/kirim-ulang", methods=["POST"])
@limiter.limit(_otp_limit)
@public
def worker_resend() -> Response:
    phone = session.get(OTP_PHONE)
    if phone and ResendForm().validate_on_submit():
        try:
            services.request_sign_in_code(phone)
        except services.ResendTooSoon as exc:
            flash(str(exc), "info")
        else:
            db.session.commit()
            flash(_("A new code is on its way."), "info")
    return redirect(url_for("accounts.worker_verify"))


@bp.errorhandler(429)
def too_many_tries(error: Exception) -> Response:
    """The same form again with what was typed (never the password), saying how long to wait."""
    endpoint, phone = request.endpoint, session.get(OTP_PHONE)
    if endpoint == "accounts.login":
        return too_many_tries_page("accounts/login.html", SignInForm())
    if endpoint == "accounts.signup":
        return too_many_tries_page("accounts/signup.html", SignUpForm())
    if endpoint == "accounts.worker_login":
        return too_many_tries_page("accounts/worker_login.html", PhoneForm())
    if endpoint in ("accounts.worker_verify", "accounts.worker_resend") and phone:
        page = _verify_page(CodeForm(), phone)
        return too_many_tries_page("accounts/worker_verify.html", **page)
    return too_many_tries_error_page()
