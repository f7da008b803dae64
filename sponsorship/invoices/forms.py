"""Asking for an invoice: which bank's virtual account to pay it by."""

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, SubmitField
from wtforms.validators import AnyOf, InputRequired

from i18n import Form
from sponsorship.invoices.va import BANKS, DEFAULT_BANK

BANK_NAMES = {"BCA": "BCA", "BNI": "BNI", "BRI": "BRI", "MANDIRI": "Mandiri"}


class InvoiceRequestForm(Form):
    invoice_bank = RadioField(
        _l("Pay by transfer to a virtual account at"),
        choices=[SelectChoice(bank, BANK_NAMES[bank]) for bank in BANKS],
        default=DEFAULT_BANK,
        validators=[InputRequired(), AnyOf(BANKS)],
    )
    submit = SubmitField(_l("Get an invoice"))


class RetryForm(Form):
    submit = SubmitField(_l("Open the virtual account"))
