"""Forms of the worker's own pages (phone, heirs, thank-you).
Shapes only; the rules live in the services."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from core.identity import IdentityError, normalize_phone
from i18n import Form
from sponsorship.notes.models import THANKS_TEXT_MAX
from sponsorship.notes.thanks import PHRASES
from workers.forms import HEIR_RELATION_LABELS
from workers.models import HeirRelation
from workers.registry import NAME_MAX, HeirDetails


class HeirEditForm(Form):
    full_name = StringField(
        _l("Name"),
        filters=[lambda value: value.strip() if value else value],
        validators=[
            DataRequired(message=_l("Write the heir's name.")),
            Length(max=NAME_MAX, message=_l("At most %(max)d characters.")),
        ],
    )
    relation = SelectField(
        _l("Relation"),
        choices=[SelectChoice("", _l("Choose…"))]
        + [SelectChoice(r.value, label) for r, label in HEIR_RELATION_LABELS.items()],
        default="",
        validators=[DataRequired(message=_l("Choose how this person is related to you."))],
    )
    phone = TelField(
        _l("Mobile number (optional)"),
        validators=[Length(max=24, message=_l("At most %(max)d characters."))],
    )
    phone_e164: str | None = None

    def validate_relation(self, field: SelectField) -> None:
        if field.data not in set(HeirRelation):
            raise ValidationError(_("Choose how this person is related to you."))

    def validate_phone(self, field: TelField) -> None:
        self.phone_e164 = None
        if field.data and field.data.strip():
            try:
                self.phone_e164 = normalize_phone(field.data)
            except IdentityError as exc:
                raise ValidationError(str(exc.message)) from None

    def details(self) -> HeirDetails:
        return HeirDetails(
            full_name=self.full_name.data,
            relation=HeirRelation(self.relation.data),
            phone_e164=self.phone_e164,
        )


class ThanksForm(Form):
    phrase = RadioField(
        _l("Choose a sentence"),
        choices=[SelectChoice(p.value, label) for p, label in PHRASES.items()],
        validators=[DataRequired(message=_l("Choose one of the sentences."))],
    )
    text = TextAreaField(
        _l("Your own words (optional)"),
        description=_l(
            "At most %(max)s letters. Do not write your phone number.", max=THANKS_TEXT_MAX
        ),
        validators=[
            Length(
                max=THANKS_TEXT_MAX,
                message=_l("Your words can have at most %(max)s characters.", max=THANKS_TEXT_MAX),
            )
        ],
    )


class MessagesForm(Form):
    channel = RadioField(
        _l("How should Payung write to you?"),
        choices=[
            SelectChoice("whatsapp", _l("WhatsApp (by SMS when WhatsApp does not arrive)")),
            SelectChoice("sms", _l("SMS only")),
        ],
        validators=[DataRequired(message=_l("Choose WhatsApp or SMS."))],
    )
    news = BooleanField(
        _l("Send me news too (cover ending, reminders)"),
        description=_l("Sign-in and claim codes always come. Sending BERHENTI stops news."),
    )
