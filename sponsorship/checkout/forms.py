"""Forms of the cart, checkout and refunds."""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional

from i18n import Form
from sponsorship.checkout.cart_check import IssueKind
from sponsorship.checkout.models import PayerKind

MONTH_CHOICES = [
    SelectChoice(1, _l("1 month")),
    SelectChoice(3, _l("3 months")),
    SelectChoice(6, _l("6 months")),
    SelectChoice(12, _l("12 months")),
]

PAYER_CHOICES = [
    SelectChoice(str(PayerKind.PERSON), _l("Myself, as an individual")),
    SelectChoice(str(PayerKind.COMPANY), _l("A company (CSR)")),
    SelectChoice(str(PayerKind.GOVERNMENT), _l("A government body (state or regional budget)")),
]

PAYER_HINTS = {
    str(PayerKind.PERSON): _l("Transport workers get the PP 50/2025 discount on JKK and JKM."),
    str(PayerKind.COMPANY): _l("Transport workers get the PP 50/2025 discount on JKK and JKM."),
    str(PayerKind.GOVERNMENT): _l(
        "Dues paid from a state or regional budget (APBN/APBD) get no PP 50/2025 discount."
    ),
}


class AddToCartForm(Form):
    bundle = RadioField(_l("Bundle"), coerce=int, validators=[InputRequired()])
    months = RadioField(
        _l("How many months"),
        coerce=int,
        choices=MONTH_CHOICES,
        default=3,
        validators=[InputRequired()],
        description=_l("Dues can be paid ahead for 1, 3, 6 or 12 months."),
    )


class PayerForm(Form):
    payer_kind = RadioField(
        _l("Who pays?"),
        choices=PAYER_CHOICES,
        validators=[InputRequired(), AnyOf([str(kind) for kind in PayerKind])],
    )


class ResolveForm(Form):
    """The sponsor's answer to one issue of the cart check."""

    kind = HiddenField(validators=[InputRequired(), AnyOf([str(kind) for kind in IssueKind])])
    bundle_id = IntegerField(validators=[Optional()])
    offer_id = IntegerField(validators=[Optional()])
    action = StringField(validators=[InputRequired(), AnyOf(["drop", "replace", "remove"])])
    replacement = IntegerField(_l("Another bundle"), validators=[Optional(), NumberRange(min=1)])


class RemoveLineForm(Form):
    line_id = IntegerField(validators=[InputRequired(), NumberRange(min=1)])


class RefundForm(Form):
    reason = TextAreaField(
        _l("Reason for the refund"),
        validators=[InputRequired(), Length(min=5, max=200)],
        description=_l("Shown to the sponsor on the order and the receipt."),
    )
