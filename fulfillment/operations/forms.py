"""Forms of the admin's fulfillment pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from i18n import Form


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class ReasonForm(Form):
    reason = TextAreaField(
        _l("Reason (kept in the item's history)"),
        filters=[_strip],
        validators=[DataRequired(), Length(5, 300)],
    )
    submit = SubmitField(_l("Confirm"))


class VoidForm(ReasonForm):
    """Voiding refunds the sponsor and cannot be undone: the admin ticks a box first (checked
    here on the server, so it holds without JavaScript)."""

    understood = BooleanField(
        _l("I understand: the part is cancelled and the sponsor refunded; this cannot be undone."),
        validators=[
            DataRequired(
                message=_l("Tick the box to confirm: a void and its refund cannot be undone.")
            )
        ],
    )


class SubstituteForm(ReasonForm):
    offer_id = SelectField(_l("Replace with"), coerce=int, validators=[InputRequired()])


class RemittanceFileForm(Form):
    partner_id = SelectField(_l("Insurer"), coerce=int, validators=[InputRequired()])
    business_date = DateField(_l("Day (Jakarta)"), validators=[InputRequired()])
    submit = SubmitField(_l("Make the remittance file"))


class ConfirmationForm(Form):
    confirmation = FileField(
        _l("Insurer's confirmation file (CSV)"),
        description=_l("Columns: reference, remittance_id, amount_idr, status."),
        validators=[FileRequired()],
    )
    submit = SubmitField(_l("Reconcile"))
