"""Sign-up and sign-in forms. Validation of shape happens here; rules live in services."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from accounts.models import SponsorKind
from accounts.organisations import SPONSOR_KIND_LABELS
from core.identity import InvalidPhone, normalize_phone
from i18n import Form

SPONSOR_KIND_CHOICES = [
    SelectChoice(str(kind), label) for kind, label in SPONSOR_KIND_LABELS.items()
]


class SignInForm(Form):
    # Only the shape here: an account that exists may use a domain the sign-up check refuses
    # (the demo accounts live under the reserved .test domain).
    email = EmailField(
        _l("Email"),
        filters=[lambda value: value.strip() if value else value],
        validators=[DataRequired(), Length(max=254), Regexp(r"^[^@\s]+@[^@\s]+$")],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class SignUpForm(Form):
    name = StringField(
        _l("Your name or organisation"), validators=[DataRequired(), Length(min=2, max=120)]
    )
    email = EmailField(
        _l("Email"),
        filters=[lambda value: value.strip() if value else value],
        validators=[DataRequired(), Email(), Length(max=254)],
    )
    password = PasswordField(
        _l("Password"),
        description=_l("At least 10 characters."),
        validators=[DataRequired(), Length(min=10, max=200)],
    )
    password_confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    role = RadioField(
        _l("I want to"),
        choices=[
            SelectChoice("sponsor", _l("Sponsor workers (person, company or local government)")),
            SelectChoice(
                "partner", _l("Offer products as a partner (health app, telco, insurer, agent)")
            ),
        ],
        default="sponsor",
        validators=[DataRequired()],
    )
    sponsor_kind = RadioField(
        _l("As a sponsor, I am"),
        choices=SPONSOR_KIND_CHOICES,
        default=str(SponsorKind.PERSON),
        validators=[Optional(), AnyOf([str(kind) for kind in SponsorKind])],
        description=_l("A company or a local government can get invoices with its NPWP."),
    )
    accept_terms = BooleanField(
        _l("I agree to the terms and the privacy policy"),
        validators=[DataRequired(message=_l("Please accept the terms to continue."))],
    )
    submit = SubmitField(_l("Create account"))


class PhoneForm(Form):
    phone = TelField(
        _l("Mobile number"),
        description=_l("We will send a 6-digit code by SMS."),
        validators=[DataRequired(), Length(max=24)],
    )
    submit = SubmitField(_l("Send code"))

    def validate_phone(self, field: TelField) -> None:
        try:
            self.phone_e164 = normalize_phone(field.data or "")
        except InvalidPhone as exc:
            raise ValidationError(str(exc)) from None


class CodeForm(Form):
    code = StringField(
        _l("Code from the SMS"),
        validators=[
            DataRequired(),
            Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits.")),
        ],
    )
    submit = SubmitField(_l("Sign in"))


class ResendForm(Form):
    submit = SubmitField(_l("Send a new code"))


class OrganisationForm(Form):
    """Who the sponsor is; the legal details are needed for a company or a local government
    (the rules are in ``accounts.organisations.save_profile``)."""

    kind = RadioField(
        _l("The sponsor is"),
        choices=SPONSOR_KIND_CHOICES,
        validators=[DataRequired(), AnyOf([str(kind) for kind in SponsorKind])],
    )
    legal_name = StringField(
        _l("Legal name"),
        description=_l("As registered, e.g. PT Maju Bersama Tbk or Pemerintah Kota Bogor."),
        filters=[lambda value: value.strip() if value else ""],
        validators=[Length(max=200)],
    )
    address = TextAreaField(
        _l("Address"),
        description=_l("The address on the NPWP registration: street, city, postal code."),
        filters=[lambda value: value.strip() if value else ""],
        validators=[Length(max=500)],
    )
    npwp = StringField(
        _l("NPWP"),
        description=_l("15 or 16 digits; dots and hyphens are fine (01.234.567.8-901.000)."),
        filters=[lambda value: value.strip() if value else ""],
        validators=[Length(max=32)],
    )
    submit = SubmitField(_l("Save"))
