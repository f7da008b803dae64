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
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp, ValidationError

from core.identity import InvalidPhone, normalize_phone
from i18n import Form


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
