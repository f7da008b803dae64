"""The sponsor's organisation page: person, company or local government, and for an
organisation the legal name, address and NPWP printed on its invoices and receipts."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts.access import sponsor_required
from accounts.forms import OrganisationForm
from accounts.organisations import ProfileError, profile_of, save_profile
from accounts.views import bp
from core.identity import IdentityError
from core.npwp import format_npwp
from extensions import db


@bp.route("/akun/organisasi", methods=["GET", "POST"])
@sponsor_required
def organisation() -> str | Response:
    profile = profile_of(current_user)
    form = OrganisationForm()
    if not form.is_submitted() and profile is not None:
        form.kind.data = str(profile.kind)
        form.legal_name.data = profile.legal_name or ""
        form.address.data = profile.address or ""
        form.npwp.data = format_npwp(profile.npwp) if profile.npwp else ""
    elif not form.is_submitted():
        form.kind.data = "person"
    if form.validate_on_submit():
        try:
            save_profile(
                current_user,
                kind=form.kind.data,
                legal_name=form.legal_name.data,
                address=form.address.data,
                npwp=form.npwp.data,
            )
        except ProfileError as refused:
            db.session.rollback()
            getattr(form, refused.field).errors.append(str(refused.message))
        except IdentityError as refused:
            db.session.rollback()
            form.npwp.errors.append(str(refused.message))
        else:
            db.session.commit()
            flash(_("Your organisation details are saved."), "success")
            return redirect(url_for("accounts.organisation"))
    return render_template("accounts/organisation.html", form=form, profile=profile)
