"""The worker's side of the registry: registering on a phone, confirming what an agent
recorded, answering a sponsor's invitation, and seeing or withdrawing consent."""

from collections.abc import Callable
from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts.access import public, worker_required
from accounts.forms import PhoneForm
from core.dates import jakarta_today
from core.identity import IdentityError, Occupation
from extensions import db, utcnow
from workers import details, registry
from workers.enrolment import invitations
from workers.forms import (
    CONSENT_ACTION_LABELS,
    CONSENT_KIND_LABELS,
    HEIR_RELATION_LABELS,
    ConfirmConsentForm,
    ConsentChangeForm,
    EditCardForm,
    RegistrationForm,
)
from workers.models import ConsentKind, Worker
from workers.onboarding import Step, next_step

bp = Blueprint("registration", __name__)


def pending_step_url(worker: Worker | None) -> str | None:
    """For the worker's home: where to go first when registration is not complete."""
    if worker is None or worker.needs_consent_confirmation:
        return url_for("sponsorship.registration.start")
    return None


@bp.route("/saya/mulai")
@worker_required
def start() -> Response:
    step = next_step(current_user)
    db.session.commit()
    if step.step == Step.CONFIRM_CONSENT:
        return redirect(url_for("sponsorship.registration.confirm_consent"))
    if step.step == Step.ANSWER_INVITATION:
        return redirect(
            url_for("sponsorship.registration.answer_invitation", invitation_id=step.invitation_id)
        )
    if step.step == Step.REGISTER:
        return redirect(url_for("sponsorship.registration.register"))
    return redirect(url_for("fulfillment.worker_home"))


@bp.route("/saya/daftar", methods=["GET", "POST"])
@worker_required
def register() -> str | Response:
    if registry.worker_for_user(current_user) is not None:
        return redirect(url_for("sponsorship.registration.start"))
    form = RegistrationForm()
    if form.validate_on_submit() and _registered(
        form, partial(registry.register_worker, current_user)
    ):
        return redirect(url_for("sponsorship.registration.my_details"))
    return render_template("sponsorship/register.html", form=form, invitation=None)


@bp.route("/saya/persetujuan", methods=["GET", "POST"])
@worker_required
def confirm_consent() -> str | Response:
    worker = registry.worker_for_user(current_user)
    if worker is None:
        return redirect(url_for("sponsorship.registration.start"))
    if not worker.needs_consent_confirmation:
        return redirect(url_for("sponsorship.registration.my_details"))
    form = ConfirmConsentForm(stay_listed=worker.listing_consent_at is not None)
    if form.validate_on_submit():
        agreed = not form.refuse.data
        registry.confirm_consents(
            worker, user=current_user, agreed=agreed, stay_listed=form.stay_listed.data
        )
        db.session.commit()
        if agreed:
            flash(_("Thank you. Your consent is confirmed."), "success")
        else:
            flash(_("Your consent is withdrawn. Sponsors no longer see you."), "info")
        return redirect(url_for("sponsorship.registration.my_details"))
    recorder = details.recorder_name(worker)
    return render_template(
        "sponsorship/confirm_consent.html", worker=worker, form=form, recorder=recorder
    )


@bp.route("/saya/data")
@worker_required
def my_details() -> str | Response:
    worker = registry.worker_for_user(current_user)
    if worker is None or worker.needs_consent_confirmation:
        return redirect(url_for("sponsorship.registration.start"))
    return render_template(
        "sponsorship/my_details.html",
        worker=worker,
        nik_tail=details.nik_tail(worker),
        events=details.consent_history(worker),
        invitations=invitations.open_invitations_for(current_user),
        today=jakarta_today(),
        heir_labels=HEIR_RELATION_LABELS,
        consent_labels=CONSENT_KIND_LABELS,
        action_labels=CONSENT_ACTION_LABELS,
    )


@bp.route("/saya/data/kartu", methods=["GET", "POST"])
@worker_required
def edit_card() -> str | Response:
    worker = registry.worker_for_user(current_user)
    if worker is None or worker.needs_consent_confirmation:
        return redirect(url_for("sponsorship.registration.start"))
    form = EditCardForm(obj=worker, province=worker.province_code)
    if form.validate_on_submit():
        registry.update_card(
            worker,
            occupation=Occupation(form.occupation.data),
            province_code=form.province.data,
            regency=form.regency.data,
            story=form.story.data,
            photo=form.prepared_photo,
            remove_photo=form.remove_photo.data,
        )
        db.session.commit()
        flash(_("Your card is updated."), "success")
        return redirect(url_for("sponsorship.registration.my_details"))
    return render_template("sponsorship/edit_card.html", form=form, worker=worker)


@bp.route("/saya/persetujuan/ubah", methods=["POST"])
@worker_required
def change_consent() -> Response:
    worker = registry.worker_for_user(current_user)
    form = ConsentChangeForm()
    if worker is None or not form.validate_on_submit():
        abort(400)
    given = form.given.data == "yes"
    kind = ConsentKind(form.kind.data)
    try:
        changed = registry.change_consent(worker, kind, given=given, user=current_user)
    except registry.RegistryError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("sponsorship.registration.my_details"))
    db.session.commit()
    if changed and not given:
        flash(_("Consent withdrawn. You are no longer shown to sponsors."), "info")
    elif changed:
        flash(_("Consent given. Thank you."), "success")
    return redirect(url_for("sponsorship.registration.my_details"))


@bp.route("/undangan/<token>")
@public
def invitation(token: str) -> str | Response | tuple[str, int]:
    found = invitations.find_invitation(token)
    if found is None or not found.is_open(utcnow()):
        return render_template("sponsorship/invitation_closed.html"), 404
    answer_url = url_for("sponsorship.registration.answer_invitation", invitation_id=found.id)
    if current_user.is_authenticated and current_user.phone_e164 == found.phone_e164:
        return redirect(answer_url)
    return render_template(
        "sponsorship/invitation.html",
        invitation=found,
        phone_form=PhoneForm(),
        login_url=url_for("accounts.worker_login", next=answer_url),
    )


@bp.route("/saya/undangan/<int:invitation_id>", methods=["GET", "POST"])
@worker_required
def answer_invitation(invitation_id: int) -> str | Response:
    try:
        found = invitations.invitation_for_worker(invitation_id, current_user)
    except invitations.InvitationError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("fulfillment.worker_home"))
    worker = registry.worker_for_user(current_user)
    if worker is not None:
        return render_template("sponsorship/answer_invitation.html", invitation=found, form=None)
    form = RegistrationForm(data=details.invitation_prefill(found))
    if form.validate_on_submit() and _registered(
        form, partial(invitations.register_and_accept, found, user=current_user)
    ):
        flash(_("%(sponsor)s can now cover you.", sponsor=found.sponsor.display_name), "success")
        return redirect(url_for("sponsorship.registration.my_details"))
    return render_template("sponsorship/register.html", form=form, invitation=found)


@bp.route("/saya/undangan/<int:invitation_id>/jawab", methods=["POST"])
@worker_required
def reply_invitation(invitation_id: int) -> Response:
    form = ConfirmConsentForm()
    try:
        found = invitations.invitation_for_worker(invitation_id, current_user)
        if not form.validate_on_submit():
            abort(400)
        if form.refuse.data:
            invitations.decline_invitation(found, user=current_user)
            message = _("You declined the invitation.")
        else:
            invitations.accept_invitation(found, user=current_user)
            message = _("%(sponsor)s can now cover you.", sponsor=found.sponsor.display_name)
    except invitations.InvitationError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("sponsorship.registration.start"))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("sponsorship.registration.start"))


def _registered(form: RegistrationForm, register: Callable[..., object]) -> bool:
    """Register with what the form holds (``register``: the worker's own registration, or
    one that also accepts an invitation); commit and say so, or put the refusal on its field."""
    try:
        register(
            details=form.details(),
            listing_consent=form.consent_listing.data,
            insurer_consent=form.consent_insurer.data,
            photo=form.prepared_photo,
        )
    except (registry.RegistryError, IdentityError) as exc:
        _field_error(form, exc)
        return False
    db.session.commit()
    _flash_registered(form)
    return True


def _field_error(form: RegistrationForm, exc: Exception) -> None:
    name = getattr(exc, "field", None) or ("nik" if isinstance(exc, IdentityError) else None)
    message = str(getattr(exc, "message", exc))
    field = form[name] if name and name in form else None
    if field is None:
        form.form_errors.append(message)
    else:
        field.errors = [*field.errors, message]


def _flash_registered(form: RegistrationForm) -> None:
    if form.consent_listing.data:
        flash(_("You are registered and sponsors can now find you."), "success")
    else:
        flash(_("You are registered. You are not shown in the directory."), "success")
    for warning in form.nik_warnings:
        flash(warning, "warning")
