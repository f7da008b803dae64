"""The admin console's forms: dues data (rates, bands, discounts), partner decisions and
refunds. One ``ConfirmForm`` serves every one-button confirmation."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    MonthField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from bundles.dues.services import Programme
from i18n import Form
from sponsorship.payments.refunds import REASON_MAX_LENGTH


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


class ReasonForm(Form):
    reason = TextAreaField(
        _l("Reason (the partner sees it)"),
        filters=[lambda value: value.strip() if value else value],
        validators=[DataRequired(), Length(5, 1000)],
    )
    submit = SubmitField(_l("Confirm"))


class RefundForm(Form):
    target = SelectField(_l("What to refund"), validate_choice=False)
    reason = TextAreaField(
        _l("Reason (shown to the sponsor)"),
        filters=[lambda value: value.strip() if value else value],
        validators=[InputRequired(), Length(5, REASON_MAX_LENGTH)],
    )
    # A refund cannot be undone: the admin ticks this first (checked here, no JavaScript).
    understood = BooleanField(
        _l("I understand: the money goes back to the card; this cannot be undone."),
        validators=[
            DataRequired(message=_l("Tick the box to confirm: a refund cannot be undone."))
        ],
    )
    submit = SubmitField(_l("Refund"))
