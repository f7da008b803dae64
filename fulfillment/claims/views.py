"""The worker's claim pages: type the bundle code, prove the phone, see the bundle and the
membership card. Light pages with no JavaScript, for cheap phones on slow networks.

Rate limits, and why the real owner is never locked out:

* per client address (the visitor's own behind TRUSTED_PROXIES), only guesses count
  (``deduct_when``): after RATELIMIT_CLAIM_FAILURES bundle codes that do not exist or wrong
  one-time codes an address waits. Typos the check symbol catches, and right codes, never count;
  guessers elsewhere never spend the owner's budget.
* per bundle code and per phone, only one-time codes actually sent count: this stops anyone who
  saw a code from flooding the worker's phone with SMS. While the code sent moments ago still
  works no new one is sent (accounts' OTP_RESEND_SECONDS), whoever asks: it went to the owner's
  phone. Wrong one-time codes are bounded by OTP_MAX_ATTEMPTS per code sent and, per phone, by
  RATELIMIT_OTP_WRONG_PER_PHONE (shared with the phone sign-in); that lock only lasts its window.
* nothing locks the bundle code itself after wrong one-time codes: someone who saw the code but
  not the phone could otherwise lock the owner out. And a signed-in owner (signed in through the
  ordinary phone sign-in, which has its own limits) claims with the code alone, no SMS needed, so
  even an exhausted SMS budget cannot keep the owner from a bundle.
"""

import hashlib

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from accounts.access import public, worker_required
from accounts.forms import CodeForm
from core.rate_limits import (
    count_failure,
    failed,
    phone_key,
    too_many_tries_error_page,
    too_many_tries_page,
)
from extensions import db, limiter
from fulfillment.claims import claiming
from fulfillment.claims.codes import InvalidClaimCode, normalize_claim_code
from fulfillment.claims.services import find_claim_code
from fulfillment.models import ClaimCode
from i18n import Form
from workers.models import Worker

bp = Blueprint("claim", __name__)

PENDING = "claim_pending"  # {"id": claim id, "v": version, "phone": masked phone}


class BundleCodeForm(Form):
    code = StringField(
        _l("Bundle code"),
        description=_l("17 letters and digits, from the SMS. Spaces and dashes do not matter."),
        validators=[DataRequired(), Length(max=60)],
    )
    submit = SubmitField(_l("Continue"))


def _sent(response: Response) -> bool:
    return bool(g.get("claim_sms_sent"))


def _sends_no_sms() -> bool:
    # A signed-in worker claims with the code alone (or is refused): no SMS to cap.
    return bool(current_user.is_authenticated and current_user.phone_e164)


def _ip_limit() -> str:
    return str(current_app.config.get("RATELIMIT_CLAIM_FAILURES", "10 per hour"))


def _wrong_code_limit() -> str:
    return current_app.config["RATELIMIT_OTP_WRONG_PER_PHONE"]


def _send_limit() -> str:
    return str(current_app.config.get("RATELIMIT_CLAIM_SMS", "5 per hour;10 per day"))


def _code_key() -> str:
    try:
        normalised = normalize_claim_code(request.form.get("code", ""))
    except InvalidClaimCode:
        return "claim-code:invalid"
    return "claim-code:" + hashlib.sha256(normalised.encode()).hexdigest()[:32]


def _phone_key() -> str:
    try:
        claim = find_claim_code(request.form.get("code", ""))
    except InvalidClaimCode:
        claim = None
    if claim is None:
        return "claim-phone:none"
    phone = db.session.scalar(select(Worker.phone_e164).where(Worker.id == claim.worker_id))
    return "claim-phone:" + hashlib.sha256(str(phone).encode()).hexdigest()[:32]


def _pending_phone_key() -> str:
    """The phone the pending claim's one-time code went to; shared with the phone sign-in."""
    pending = session.get(PENDING) or {}
    phone = db.session.scalar(
        select(Worker.phone_e164)
        .join(ClaimCode, ClaimCode.worker_id == Worker.id)
        .where(ClaimCode.id == pending.get("id"))
    )
    return phone_key(phone) if phone else "phone:none"


def _signed_in_worker() -> Worker | None:
    return db.session.scalar(select(Worker).where(Worker.user_id == current_user.id))


@bp.route("/klaim", methods=["GET", "POST"])
@limiter.shared_limit(_ip_limit, "claim-failures", methods=["POST"], deduct_when=failed)
@limiter.limit(
    _send_limit, methods=["POST"], key_func=_code_key, deduct_when=_sent, exempt_when=_sends_no_sms
)
@limiter.limit(
    _send_limit, methods=["POST"], key_func=_phone_key, deduct_when=_sent, exempt_when=_sends_no_sms
)
@public
def enter_code() -> str | Response | tuple[str, int]:
    form = BundleCodeForm()
    if form.validate_on_submit():
        session.pop(PENDING, None)
        user = current_user._get_current_object() if current_user.is_authenticated else None
        try:
            outcome = claiming.start_claim(form.code.data, user=user)
        except (InvalidClaimCode, claiming.ClaimError) as exc:
            if isinstance(exc, claiming.UnknownClaimCode):
                count_failure()  # a well-formed code that does not exist: a guess, not a typo
            form.code.errors.append(str(exc.message))
        else:
            db.session.commit()
            if isinstance(outcome, claiming.PendingClaim):
                g.claim_sms_sent = outcome.sent
                session[PENDING] = {
                    "id": outcome.claim_id,
                    "v": outcome.version,
                    "phone": outcome.masked_phone,
                }
                return redirect(url_for("claim.verify"))
            return redirect(url_for("claim.bundle", claim_id=outcome.id))
        return render_template("fulfillment/claim.html", form=form), 422
    return render_template("fulfillment/claim.html", form=form)


@bp.route("/klaim/kode", methods=["GET", "POST"])
@limiter.shared_limit(_ip_limit, "claim-failures", methods=["POST"], deduct_when=failed)
@limiter.shared_limit(
    _wrong_code_limit,
    "otp-wrong-phone",
    methods=["POST"],
    key_func=_pending_phone_key,
    deduct_when=failed,
)
@public
def verify() -> str | Response | tuple[str, int]:
    pending = session.get(PENDING)
    if not pending:
        return redirect(url_for("claim.enter_code"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            user, claim = claiming.finish_claim(pending["id"], pending["v"], form.code.data)
        except claiming.InvalidCode as exc:
            db.session.commit()  # keep the attempt count
            if isinstance(exc, claiming.WrongCode):
                count_failure()
            form.code.errors.append(str(exc))
        except claiming.ClaimError as exc:
            db.session.rollback()
            session.pop(PENDING, None)
            form.code.errors.append(str(exc.message))
        else:
            db.session.commit()
            session.clear()  # a fresh session on every sign-in: no fixation
            login_user(user)
            return redirect(url_for("claim.bundle", claim_id=claim.id))
        return render_template(
            "fulfillment/claim_verify.html", form=form, masked_phone=pending["phone"]
        ), 422
    return render_template(
        "fulfillment/claim_verify.html", form=form, masked_phone=pending["phone"]
    )


@bp.errorhandler(429)
def too_many_tries(error: Exception) -> Response:
    """The claim forms again with what was typed, saying how long to wait."""
    if request.endpoint == "claim.enter_code":
        return too_many_tries_page("fulfillment/claim.html", BundleCodeForm())
    pending = session.get(PENDING)
    if request.endpoint == "claim.verify" and pending:
        return too_many_tries_page(
            "fulfillment/claim_verify.html", CodeForm(), masked_phone=pending["phone"]
        )
    return too_many_tries_error_page()


@bp.route("/saya/paket/<int:claim_id>")
@worker_required
def bundle(claim_id: int) -> str:
    view = _bundle_or_404(claim_id)
    return render_template("fulfillment/claim_bundle.html", view=view)


@bp.route("/saya/paket/<int:claim_id>/kartu")
@worker_required
def card(claim_id: int) -> str:
    view = _bundle_or_404(claim_id)
    dues = view.part("insurance_dues")
    if dues is None:
        abort(404)
    return render_template(
        "fulfillment/claim_card.html", view=view, dues=dues, qr=_qr_svg(dues.details.get("kpj"))
    )


def _bundle_or_404(claim_id: int) -> claiming.BundleView:
    worker = _signed_in_worker()
    view = None
    if worker is not None:
        view = claiming.claimed_bundle(claim_id, worker, locale=str(get_locale() or "id"))
    if view is None:
        abort(404)
    return view


def _qr_svg(kpj: str | None) -> Markup | None:
    """The KPJ as a QR code in SVG markup: presentation attributes only, no style attribute,
    so it passes the CSP and prints without any script."""
    if not kpj:
        return None
    svg = segno.make(f"KPJ:{kpj}", error="m").svg_inline(
        scale=4, border=2, svgclass="qr", omitsize=True
    )
    return Markup(svg)  # noqa: S704 (segno's markup; the KPJ is in the modules)
