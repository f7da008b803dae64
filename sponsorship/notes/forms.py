"""The sponsor's note to the workers of an order."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, TextAreaField
from wtforms.validators import Length

from i18n import Form
from sponsorship.notes.models import MESSAGE_MAX


class SponsorNoteForm(Form):
    show_name = BooleanField(_l("Show my name to these workers"))
    message = TextAreaField(
        _l("Message to the workers (optional)"),
        description=_l(
            "Plain text, at most %(max)s characters. Workers see it on their page.", max=MESSAGE_MAX
        ),
        validators=[
            Length(
                max=MESSAGE_MAX,
                message=_l("The message can have at most %(max)s characters.", max=MESSAGE_MAX),
            )
        ],
    )
