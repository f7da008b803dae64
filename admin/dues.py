"""Admin: the BPU dues data (rates, income bands, discounts) with its full history.

Nothing is overwritten: new rates start on a month, old ones can be withdrawn; bands are retired
from a month; discounts are added or withdrawn. Paid orders keep the prices they were sold at.
"""

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts.access import admin_required
from admin import queries
from admin.audit import record_admin_action as audit
from admin.forms import BandForm, ConfirmForm, DiscountForm, RateForm, RetireBandForm
from bundles.dues import data as dues_data
from bundles.dues.data import DuesDataError
from extensions import db
from i18n import Form

bp = Blueprint("admin_dues", __name__, url_prefix="/admin/iuran")


def _render(**forms: Form) -> str:
    defaults = {
        "rate_form": RateForm(prefix="rate"),
        "band_form": BandForm(prefix="band"),
        "discount_form": DiscountForm(prefix="discount"),
    }
    return render_template(
        "admin/partners_dues.html",
        history=dues_data.dues_history(),
        confirm_form=ConfirmForm(),
        retire_form=RetireBandForm(prefix="retire"),
        **(defaults | forms),
    )


def _attach(form: Form, error: DuesDataError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is None:
        flash(str(error.message), "error")
    else:
        field.errors.append(str(error.message))


@bp.route("/")
@admin_required
def index() -> str:
    if dues_data.ensure_default_dues_data():
        db.session.commit()
    return _render()


def _add(form: Form, form_name: str, save: Callable[[], object], done: str) -> str | Response:
    """The add views: validate, save (the service raises DuesDataError), commit or re-render
    with the error next to its field."""
    if form.validate_on_submit():
        try:
            save()
        except DuesDataError as refused:
            db.session.rollback()
            _attach(form, refused)
        else:
            db.session.commit()
            flash(done, "success")
            return redirect(url_for("admin_dues.index"))
    return _render(**{form_name: form}), 422


def _confirmed(change: Callable[[], object], done: str) -> Response:
    """The withdraw views: one confirmation button, then the change or its refusal."""
    if ConfirmForm().validate_on_submit():
        try:
            change()
        except DuesDataError as refused:
            flash(str(refused.message), "error")
        else:
            db.session.commit()
            flash(done, "success")
    return redirect(url_for("admin_dues.index"))


@bp.route("/tarif", methods=["POST"])
@admin_required
def add_rates() -> str | Response:
    form = RateForm(prefix="rate")

    def save() -> None:
        version = dues_data.add_rate_version(
            effective_from=form.effective_from.data,
            jkk_rate_bp=form.jkk_rate_bp.data,
            jkm_flat_idr=form.jkm_flat_idr.data,
            jht_rate_bp=form.jht_rate_bp.data,
            note=form.note.data or "",
            by_id=current_user.id,
        )
        audit(current_user.id, "dues.rates_add", "dues_rate", version.id, reason=version.note)

    return _add(form, "rate_form", save, _("New rates saved."))


@bp.route("/tarif/<int(max=2147483647):version_id>/tarik", methods=["POST"])
@admin_required
def withdraw_rates(version_id: int) -> Response:
    version = queries.rate_version(version_id) or abort(404)

    def change() -> None:
        dues_data.withdraw_rate_version(version, by_id=current_user.id)
        audit(current_user.id, "dues.rates_withdraw", "dues_rate", version.id)

    return _confirmed(change, _("Rates withdrawn. They stay in the history."))


@bp.route("/tingkat", methods=["POST"])
@admin_required
def add_band() -> str | Response:
    form = BandForm(prefix="band")

    def save() -> None:
        band = dues_data.add_income_band(
            amount_idr=form.amount_idr.data,
            effective_from=form.effective_from.data,
            by_id=current_user.id,
        )
        audit(current_user.id, "dues.band_add", "dues_band", band.id)

    return _add(form, "band_form", save, _("Income band added."))


@bp.route("/tingkat/<int(max=2147483647):band_id>/pensiun", methods=["POST"])
@admin_required
def retire_band(band_id: int) -> str | Response:
    band = queries.income_band(band_id) or abort(404)
    form = RetireBandForm(prefix="retire")
    if form.validate_on_submit():
        try:
            dues_data.retire_income_band(
                band, retired_from=form.retired_from.data, by_id=current_user.id
            )
        except DuesDataError as refused:
            db.session.rollback()
            flash(str(refused.message), "error")
        else:
            audit(current_user.id, "dues.band_retire", "dues_band", band.id)
            db.session.commit()
            flash(_("Income band retired."), "success")
    else:
        flash(_("Choose the month the band is no longer offered."), "error")
    return redirect(url_for("admin_dues.index"))


@bp.route("/diskon", methods=["POST"])
@admin_required
def add_discount() -> str | Response:
    form = DiscountForm(prefix="discount")

    def save() -> None:
        rule = dues_data.add_discount_rule(
            name=form.name.data,
            percent=form.percent.data,
            programmes=form.programmes.data,
            first_month=form.first_month.data,
            last_month=form.last_month.data,
            transport_only=form.transport_only.data,
            excludes_government_payers=form.excludes_government_payers.data,
            note=form.note.data or "",
            by_id=current_user.id,
        )
        audit(current_user.id, "dues.discount_add", "dues_discount", rule.id, reason=rule.name)

    return _add(form, "discount_form", save, _("Discount added."))


@bp.route("/diskon/<int(max=2147483647):rule_id>/tarik", methods=["POST"])
@admin_required
def withdraw_discount(rule_id: int) -> Response:
    rule = queries.discount_rule(rule_id) or abort(404)

    def change() -> None:
        dues_data.withdraw_discount_rule(rule, by_id=current_user.id)
        audit(current_user.id, "dues.discount_withdraw", "dues_discount", rule.id)

    return _confirmed(change, _("Discount withdrawn. It stays in the history."))
