"""The worker's claim pages: type the bundle code, prove the phone, see the bundle and the
membership card. Light pages with no JavaScript, for cheap phones on slow networks.

Rate limits, and why the real owner is never locked out:

* per client address (the visitor's own behind TRUSTED_PROXIES), only guesses count
  (``deduct_when``): after RATELIMIT_CLAIM_FAILURES bundle codes that do not exist or wrong
  one-time codes an address waits. Typos the check symbol catches, and right codes, never count;
  guessers elsewhere never spend the owner's budget.
* per phone (the one behind the typed bundle code, shared by all its codes), only one-time codes
  actually sent count: this stops anyone who saw a code from flooding the worker's phone with
  SMS. A one-time code only ever goes to that phone, so this also caps each bundle code (a
  per-code limit, which cost four more round trips to the limits' store on every claim, was
  dropped as redundant, issue 16). While the code sent moments ago still works no new one is
  sent (accounts' OTP_RESEND_SECONDS), whoever asks: it went to the owner's phone. Wrong
  one-time codes are bounded by OTP_MAX_ATTEMPTS per code sent and, per phone, by
  RATELIMIT_OTP_WRONG_PER_PHONE (shared with the phone sign-in); that lock only lasts its window.
* nothing locks the bundle code itself after wrong one-time codes: someone who saw the code but
  not the phone could otherwise lock the owner out. And a signed-in owner (signed in through the
  ordinary phone sign-in, which has its own limits) claims with the code alone, no SMS needed, so
  even an exhausted SMS budget cannot keep the owner from a bundle.
"""

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from accounts.access import public, worker_required
from accounts.forms import CodeForm
from core.rate_limits import (
    count_failure,
    failed,
    too_many_tries_error_page,
    too_many_tries_page,
)
from extensions import db, limiter
from fulfillment.claims import claiming, limits
from fulfillment.claims.bundle_view import claimed_bundle_of, kpj_qr_svg
from fulfillment.claims.codes import InvalidClaimCode
from fulfillment.claims.forms import BundleCodeForm

bp = Blueprint("claim", __name__)

PENDING = limits.PENDING


@bp.route("/klaim", methods=["GET", "POST"])
@limiter.shared_limit(limits.ip_limit, "claim-failures", methods=["POST"], deduct_when=failed)
@limiter.limit(
    limits.send_limit,
    methods=["POST"],
    key_func=limits.claim_phone_key,
    deduct_when=limits.sent,
    exempt_when=limits.sends_no_sms,
)
@public
def enter_code() -> str | Response | tuple[str, int]:
    form = BundleCodeForm()
    if form.validate_on_submit():
        session.pop(PENDING, None)
        user = current_user._get_current_object() if current_user.is_authenticated else None
        try:
            # Read once a request: the per-phone limit above looked the same code up.
            outcome = claiming.start_claim(limits.typed_claim(form.code.data), user=user)
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
@limiter.shared_limit(limits.ip_limit, "claim-failures", methods=["POST"], deduct_when=failed)
@limiter.shared_limit(
    limits.wrong_code_limit,
    "otp-wrong-phone",
    methods=["POST"],
    key_func=limits.pending_phone_key,
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
            claim_id = claim.id  # read before the commit expires it (one SELECT less)
            db.session.commit()
            session.clear()  # a fresh session on every sign-in: no fixation
            login_user(user)
            return redirect(url_for("claim.bundle", claim_id=claim_id))
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
        "fulfillment/claim_card.html", view=view, dues=dues, qr=kpj_qr_svg(dues.details.get("kpj"))
    )


def _bundle_or_404(claim_id: int) -> claiming.BundleView:
    view = claimed_bundle_of(current_user, claim_id, locale=str(get_locale() or "id"))
    if view is None:
        abort(404)
    return view
