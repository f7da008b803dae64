"""The claim page's form."""

from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from i18n import Form


class BundleCodeForm(Form):
    code = StringField(
        _l("Bundle code"),
        description=_l("17 letters and digits, from the SMS. Spaces and dashes do not matter."),
        validators=[DataRequired(), Length(max=60)],
    )
    submit = SubmitField(_l("Continue"))
