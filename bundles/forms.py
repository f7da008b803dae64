"""Partner-side HTML forms: profile, offers, code uploads, bundles, API keys.

Forms check the shape of input; the rules (what a kind of offer needs, who may compose what)
live in the services, which report problems per field.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from bundles.models import FulfillmentMethod, OfferBilling, OfferKind, Operator, PartnerKind
from i18n import Form


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


PARTNER_KIND_LABELS = {
    PartnerKind.HEALTH_APP: _l("Health app"),
    PartnerKind.TELCO: _l("Telco (mobile data)"),
    PartnerKind.INSURER: _l("Insurer"),
    PartnerKind.AGENT: _l("Agent or community (registers workers)"),
    PartnerKind.OTHER: _l("Other"),
}
OFFER_KIND_LABELS = {
    OfferKind.INSURANCE_DUES: _l("BPJS dues"),
    OfferKind.HEALTH_APP: _l("Health app"),
    OfferKind.DATA_QUOTA: _l("Data quota"),
    OfferKind.OTHER: _l("Other"),
}
METHOD_LABELS = {
    FulfillmentMethod.CODE_POOL: _l("Code pool (you upload codes as CSV)"),
    FulfillmentMethod.PARTNER_API: _l("Your API (Payung calls it for each part)"),
    FulfillmentMethod.DUES_REMITTANCE: _l("Dues remittance (insurers only)"),
}
BILLING_LABELS = {
    OfferBilling.MONTHLY: _l("Per month: unit price × quantity × months of the purchase"),
    OfferBilling.ONCE: _l("Once: unit price × quantity, whatever the months"),
}


class PartnerProfileForm(Form):
    name = StringField(
        _l("Organisation name"), filters=[_strip], validators=[DataRequired(), Length(2, 120)]
    )
    kind = RadioField(
        _l("Kind of partner"),
        choices=[SelectChoice(str(k), label) for k, label in PARTNER_KIND_LABELS.items()],
        validators=[DataRequired()],
    )
    contact_name = StringField(
        _l("Contact person"), filters=[_strip], validators=[DataRequired(), Length(2, 120)]
    )
    contact_email = EmailField(
        _l("Contact email"),
        description=_l("Approval decisions and stock alerts go here."),
        filters=[_strip],
        validators=[DataRequired(), Email(), Length(max=254)],
    )
    contact_phone = TelField(
        _l("Contact phone"), filters=[_strip], validators=[DataRequired(), Length(6, 24)]
    )
    website = URLField(
        _l("Website"),
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=200),
            Regexp(
                r"^https?://[^\s/$.?#][^\s]*$",
                message=_l("Enter an address starting with https://."),
            ),
        ],
    )
    description = TextAreaField(
        _l("What you offer to informal workers"),
        filters=[_strip],
        validators=[Optional(), Length(max=2000)],
    )
    submit = SubmitField(_l("Send for review"))


class OfferForm(Form):
    kind = SelectField(
        _l("Kind of offer"),
        choices=[SelectChoice(str(k), label) for k, label in OFFER_KIND_LABELS.items()],
        validators=[DataRequired()],
    )
    name_id = StringField(
        _l("Name in Indonesian"), filters=[_strip], validators=[DataRequired(), Length(2, 120)]
    )
    name_en = StringField(
        _l("Name in English"), filters=[_strip], validators=[DataRequired(), Length(2, 120)]
    )
    description_id = TextAreaField(
        _l("Description in Indonesian"), filters=[_strip], validators=[Length(max=2000)]
    )
    description_en = TextAreaField(
        _l("Description in English"), filters=[_strip], validators=[Length(max=2000)]
    )
    unit_price_idr = IntegerField(
        _l("Unit price (rupiah)"),
        description=_l("Not used for dues: the dues engine prices them."),
        validators=[Optional(), NumberRange(0, 100_000_000)],
    )
    billing = RadioField(
        _l("How the price counts"),
        choices=[SelectChoice(str(k), label) for k, label in BILLING_LABELS.items()],
        validators=[Optional()],
    )
    income_idr = IntegerField(
        _l("Dues: reported income band (rupiah)"),
        description=_l("JKK is 1 % of this income; the lowest band is Rp1,000,000."),
        validators=[Optional()],
    )
    include_jht = BooleanField(_l("Dues: include JHT old-age savings (2 % of the income)"))
    premium_days = IntegerField(
        _l("Health app: days of premium per unit"), validators=[Optional(), NumberRange(1, 1095)]
    )
    quota_mb = IntegerField(
        _l("Data quota: size of one top-up (MB)"), validators=[Optional(), NumberRange(1)]
    )
    validity_days = IntegerField(
        _l("Data quota: valid for (days)"), validators=[Optional(), NumberRange(1, 365)]
    )
    operator = SelectField(
        _l("Works only on"),
        choices=[
            SelectChoice("", _l("Any operator")),
            SelectChoice(str(Operator.TELKOMSEL), _l("Telkomsel numbers only")),
        ],
        validators=[Optional()],
    )
    terms_id = TextAreaField(
        _l("Other terms in Indonesian"), filters=[_strip], validators=[Length(max=2000)]
    )
    terms_en = TextAreaField(
        _l("Other terms in English"), filters=[_strip], validators=[Length(max=2000)]
    )
    fulfillment_method = RadioField(
        _l("How it is delivered"),
        choices=[SelectChoice(str(k), label) for k, label in METHOD_LABELS.items()],
        validators=[DataRequired()],
    )
    api_endpoint_url = URLField(
        _l("Your API address"),
        description=_l("Payung adds /ping to this address to test the connection."),
        filters=[_strip],
        validators=[Optional(), Length(max=300)],
    )
    api_secret = PasswordField(
        _l("Signing secret"),
        description=_l("Requests are signed with HMAC-SHA256. Leave empty to keep the saved one."),
        validators=[Optional(), Length(16, 200)],
    )
    low_stock_threshold = IntegerField(
        _l("Email me when fewer codes than this are left"),
        default=100,
        validators=[InputRequired(message=_l("Enter a number.")), NumberRange(0, 1_000_000)],
    )
    is_active = BooleanField(_l("Listed: sponsors can buy bundles with this offer"), default=True)
    submit = SubmitField(_l("Save offer"))

    def values(self) -> dict:
        values = {
            name: getattr(self, name).data
            for name in (
                "kind",
                "name_id",
                "name_en",
                "description_id",
                "description_en",
                "unit_price_idr",
                "billing",
                "income_idr",
                "include_jht",
                "premium_days",
                "quota_mb",
                "validity_days",
                "terms_id",
                "terms_en",
                "fulfillment_method",
                "api_endpoint_url",
                "low_stock_threshold",
                "is_active",
            )
        }
        values["operator"] = self.operator.data or None
        values["api_secret"] = self.api_secret.data or None
        values["api_endpoint_url"] = values["api_endpoint_url"] or None
        return values


class CodeUploadForm(Form):
    file = FileField(
        _l("CSV file with codes"),
        description=_l(
            "First line: code,expires_on. Then one code per line with its expiry date "
            "(YYYY-MM-DD). Up to 50,000 codes and 4 MB per file."
        ),
        validators=[FileRequired(message=_l("Choose a CSV file."))],
    )
    submit = SubmitField(_l("Upload codes"))


class BundleForm(Form):
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(2, 120)])
    summary_id = TextAreaField(
        _l("Summary in Indonesian"), filters=[_strip], validators=[Length(max=2000)]
    )
    summary_en = TextAreaField(
        _l("Summary in English"), filters=[_strip], validators=[Length(max=2000)]
    )
    platform_fee_idr = IntegerField(
        _l("Platform fee per worker (rupiah)"),
        description=_l("Payung's fee, added once per worker and purchase."),
        default=0,
        validators=[Optional(), NumberRange(0, 10_000_000)],
    )
    submit = SubmitField(_l("Save bundle"))


class BundlePartForm(Form):
    offer_id = SelectField(_l("Offer"), coerce=int, validators=[DataRequired()])
    quantity = IntegerField(
        _l("Quantity"),
        description=_l("Per month for monthly offers; in total for one-off offers."),
        default=1,
        validators=[DataRequired(), NumberRange(1, 12)],
    )
    submit = SubmitField(_l("Add part"))


class ApiKeyForm(Form):
    name = StringField(
        _l("Key name"),
        description=_l("Where the key is used, e.g. 'stock sync server'."),
        filters=[_strip],
        validators=[DataRequired(), Length(2, 80)],
    )
    submit = SubmitField(_l("Create key"))


class ConfirmForm(Form):
    """A button that only needs the CSRF token."""

    submit = SubmitField(_l("Confirm"))


def new_profile_form(user: object) -> PartnerProfileForm:
    """The profile form for a partner account that has none yet, prefilled from the account."""
    form = PartnerProfileForm(formdata=None)
    form.name.data = getattr(user, "display_name", "")
    form.contact_name.data = getattr(user, "display_name", "")
    form.contact_email.data = getattr(user, "email", "")
    return form
