"""Admin: the BPU dues data (rates, income bands, discounts) with its full history.

Nothing is overwritten: new rates start on a month, old ones can be withdrawn; bands are retired
from a month; discounts are added or withdrawn. Paid orders keep the prices they were sold at.
"""

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    IntegerField,
    MonthField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from accounts.access import admin_required
from admin.audit import record_admin_action as audit
from bundles.dues import data as dues_data
from bundles.dues.data import DuesDataError
from bundles.dues.models import DuesDiscountRule, DuesIncomeBand, DuesRateVersion
from bundles.dues.services import Programme
from extensions import db
from i18n import Form

bp = Blueprint("admin_dues", __name__, url_prefix="/admin/iuran")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RateForm(Form):
    effective_from = MonthField(_l("In force from (month)"), validators=[DataRequired()])
    jkk_rate_bp = IntegerField(
        _l("JKK, basis points of the income (100 = 1 %)"),
        validators=[InputRequired(), NumberRange(0, 10_000)],
    )
    jkm_flat_idr = IntegerField(
        _l("JKM, rupiah per month"), validators=[InputRequired(), NumberRange(0, 10_000_000)]
    )
    jht_rate_bp = IntegerField(
        _l("JHT, basis points of the income (200 = 2 %)"),
        validators=[InputRequired(), NumberRange(0, 10_000)],
    )
    note = StringField(_l("Source or note"), validators=[Length(max=500)])
    submit = SubmitField(_l("Add rates"))


class BandForm(Form):
    amount_idr = IntegerField(
        _l("Reported income (rupiah)"), validators=[InputRequired(), NumberRange(1, 1_000_000_000)]
    )
    effective_from = MonthField(_l("Offered from (month)"), validators=[DataRequired()])
    submit = SubmitField(_l("Add band"))


class RetireBandForm(Form):
    retired_from = MonthField(_l("No longer offered from (month)"), validators=[DataRequired()])
    submit = SubmitField(_l("Retire"))


class DiscountForm(Form):
    name = StringField(_l("Name (e.g. the regulation)"), validators=[DataRequired(), Length(2, 80)])
    percent = IntegerField(_l("Discount (%)"), validators=[InputRequired(), NumberRange(1, 100)])
    programmes = MultiCheckboxField(
        _l("Programmes discounted"),
        choices=[SelectChoice(str(p), str(p)) for p in Programme],
        validators=[DataRequired(message=_l("Choose at least one programme."))],
    )
    first_month = MonthField(_l("First contribution month"), validators=[DataRequired()])
    last_month = MonthField(_l("Last contribution month"), validators=[DataRequired()])
    transport_only = BooleanField(_l("Only for transport workers (drivers, couriers, logistics)"))
    excludes_government_payers = BooleanField(
        _l("Not when dues are paid from a state or regional budget (APBN/APBD)"), default=True
    )
    note = TextAreaField(_l("Source or note"), validators=[Length(max=1000)])
    submit = SubmitField(_l("Add discount"))


class ConfirmForm(Form):
    submit = SubmitField(_l("Confirm"))


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
    version = db.session.get(DuesRateVersion, version_id) or abort(404)

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
    band = db.session.get(DuesIncomeBand, band_id) or abort(404)
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
    rule = db.session.get(DuesDiscountRule, rule_id) or abort(404)

    def change() -> None:
        dues_data.withdraw_discount_rule(rule, by_id=current_user.id)
        audit(current_user.id, "dues.discount_withdraw", "dues_discount", rule.id)

    return _confirmed(change, _("Discount withdrawn. It stays in the history."))
