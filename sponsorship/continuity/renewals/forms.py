"""Forms of the renewal pages (``sponsorship.continuity.renewals.views``)."""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField
from wtforms.validators import InputRequired

from i18n import Form
from sponsorship.checkout.forms import MONTH_CHOICES


class RenewalForm(Form):
    worker_id = HiddenField(validators=[InputRequired()])
    bundle_id = HiddenField(validators=[InputRequired()])
    months = RadioField(
        _l("Months paid at each renewal"),
        coerce=int,
        choices=MONTH_CHOICES,
        validators=[InputRequired()],
    )
