"""Forms of the worker registry: registration, consent, invitations, bulk enrolment. Shapes
are checked here; rules that need the database (one NIK, one worker) live in the services."""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    StopValidation,
    ValidationError,
)

from core.dates import jakarta_today
from core.identity import (
    OCCUPATION_LABELS,
    PROVINCES,
    Gender,
    IdentityError,
    NikCheck,
    Occupation,
    age_on,
    check_nik,
    normalize_phone,
)
from i18n import Form
from workers.models import ConsentAction, ConsentKind, HeirRelation
from workers.photos import InvalidPhoto, PreparedPhoto, prepare_photo
from workers.registry import (
    MAX_AGE,
    MAX_HEIRS,
    MIN_AGE,
    NAME_MAX,
    REGENCY_MAX,
    STORY_MAX,
    HeirDetails,
    WorkerDetails,
)

HEIR_RELATION_LABELS = {
    HeirRelation.SPOUSE: _l("Husband or wife"),
    HeirRelation.CHILD: _l("Child"),
    HeirRelation.PARENT: _l("Father or mother"),
    HeirRelation.SIBLING: _l("Brother or sister"),
    HeirRelation.OTHER: _l("Other family"),
}
CONSENT_KIND_LABELS = {
    ConsentKind.LISTING: _l("Shown in the directory"),
    ConsentKind.INSURER_DATA: _l("Data shared with BPJS Ketenagakerjaan"),
}
CONSENT_ACTION_LABELS = {
    ConsentAction.GIVEN: _l("agreed"),
    ConsentAction.CONFIRMED: _l("confirmed"),
    ConsentAction.WITHDRAWN: _l("withdrawn"),
}


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _choose(label: str | object) -> list[SelectChoice]:
    return [SelectChoice("", label)]


def occupation_choices(blank: object) -> list[SelectChoice]:
    return _choose(blank) + [SelectChoice(o.value, label) for o, label in OCCUPATION_LABELS.items()]


def province_choices(blank: object) -> list[SelectChoice]:
    by_name = sorted(PROVINCES.items(), key=lambda item: item[1])
    return _choose(blank) + [SelectChoice(code, name) for code, name in by_name]


def gender_choices() -> list[SelectChoice]:
    return [SelectChoice(g.value, g.label) for g in Gender]


def _phone(value: str | None) -> str | None:
    """Normalised mobile number, or None when empty; raises ValidationError when wrong."""
    if not value or not value.strip():
        return None
    try:
        return normalize_phone(value)
    except IdentityError as exc:
        raise ValidationError(str(exc.message)) from None


class Required(DataRequired):
    """DataRequired whose message is a plain string, so error summaries can list it."""

    def __call__(self, form: Form, field: object) -> None:
        try:
            super().__call__(form, field)
        except StopValidation as exc:
            raise StopValidation(str(exc.args[0]) if exc.args else "") from None


class HeirForm(Form):
    class Meta:
        csrf = False

    full_name = StringField(_l("Name"), filters=[strip], validators=[Length(max=NAME_MAX)])
    relation = SelectField(
        _l("Relation"),
        choices=_choose(_l("Choose…"))
        + [SelectChoice(r.value, label) for r, label in HEIR_RELATION_LABELS.items()],
        default="",
    )
    phone = TelField(_l("Mobile number (optional)"), validators=[Length(max=24)])

    def validate_relation(self, field: SelectField) -> None:
        if self.full_name.data and not field.data:
            raise ValidationError(_("Choose how this person is related to you."))

    def validate_phone(self, field: TelField) -> None:
        self.phone_e164 = _phone(field.data)

    def details(self) -> HeirDetails | None:
        if not self.full_name.data:
            return None
        return HeirDetails(
            full_name=self.full_name.data,
            relation=HeirRelation(self.relation.data),
            phone_e164=getattr(self, "phone_e164", None),
        )


class CardForm(Form):
    """What sponsors see on a worker's card; the worker can change it at any time."""

    occupation = SelectField(
        _l("Work"),
        choices=occupation_choices(_l("Choose your work…")),
        validators=[Required(message=_l("Choose your work."))],
        default="",
    )
    province = SelectField(
        _l("Province"),
        choices=province_choices(_l("Choose your province…")),
        validators=[Required(message=_l("Choose your province."))],
        default="",
    )
    regency = StringField(
        _l("Regency or city"),
        description=_l("For example Kab. Garut or Kota Medan."),
        filters=[strip],
        validators=[DataRequired(), Length(min=3, max=REGENCY_MAX)],
    )
    story = TextAreaField(
        _l("Your story (optional)"),
        description=_l("A few words for sponsors: your work, your family. At most 400 letters."),
        filters=[strip],
        validators=[Optional(), Length(max=STORY_MAX)],
    )
    photo = FileField(
        _l("Photo (optional)"),
        description=_l("JPEG, PNG or WebP, at most 5 MB. Sponsors see it on your card."),
    )
    prepared_photo: PreparedPhoto | None = None

    def validate_photo(self, field: FileField) -> None:
        upload = field.data
        if not upload or not getattr(upload, "filename", ""):
            return
        try:
            self.prepared_photo = prepare_photo(upload.read())
        except InvalidPhoto as exc:
            raise ValidationError(str(exc.message)) from None


class EditCardForm(CardForm):
    remove_photo = BooleanField(_l("Remove my photo"))
    submit = SubmitField(_l("Save"))


class WorkerDetailsForm(CardForm):
    """Who the worker is. Used for registration (with consents) and by invited workers."""

    full_name = StringField(
        _l("Full name"),
        description=_l("As written on your KTP."),
        filters=[strip],
        validators=[DataRequired(), Length(min=2, max=NAME_MAX)],
    )
    nik = StringField(
        _l("NIK (16-digit number on your KTP)"),
        description=_l("Only BPJS Ketenagakerjaan receives it. Sponsors never see it."),
        filters=[strip],
        validators=[DataRequired(), Length(max=24)],
    )
    birth_date = DateField(_l("Date of birth"), validators=[InputRequired()])
    gender = RadioField(_l("Gender"), choices=gender_choices(), validators=[InputRequired()])
    heirs = FieldList(FormField(HeirForm), min_entries=MAX_HEIRS, max_entries=MAX_HEIRS)

    nik_check: NikCheck | None = None

    def validate_birth_date(self, field: DateField) -> None:
        born: date | None = field.data
        today = jakarta_today()
        if born is None:
            return
        if born > today:
            raise ValidationError(_("The date of birth cannot be in the future."))
        if not MIN_AGE <= age_on(born, today) <= MAX_AGE:
            raise ValidationError(
                _("Workers must be %(low)s to %(high)s years old.", low=MIN_AGE, high=MAX_AGE)
            )

    def validate_nik(self, field: StringField) -> None:
        gender = Gender(self.gender.data) if self.gender.data in set(Gender) else None
        try:
            self.nik_check = check_nik(
                field.data or "", birth_date=self.birth_date.data, gender=gender
            )
        except IdentityError as exc:
            raise ValidationError(str(exc.message)) from None

    def validate_heirs(self, field: FieldList) -> None:
        if not any(entry.form.full_name.data for entry in field.entries):
            raise ValidationError(
                _("Name at least one heir (ahli waris), who receives the death benefit.")
            )

    @property
    def nik_warnings(self) -> list[str]:
        return [str(warning) for warning in self.nik_check.warnings] if self.nik_check else []

    def details(self) -> WorkerDetails:
        assert self.nik_check is not None
        heirs = (entry.form.details() for entry in self.heirs.entries)
        return WorkerDetails(
            full_name=self.full_name.data,
            nik=self.nik_check.nik,
            birth_date=self.birth_date.data,
            gender=Gender(self.gender.data),
            occupation=Occupation(self.occupation.data),
            province_code=self.province.data,
            regency=self.regency.data,
            story=self.story.data or None,
            heirs=tuple(heir for heir in heirs if heir is not None),
        )


class RegistrationForm(WorkerDetailsForm):
    consent_listing = BooleanField(
        _l("Show me in the Payung directory so sponsors can choose to protect me."),
        description=_l(
            "Sponsors see your first name and initial, photo, work, regency, age range and "
            "story. Never your NIK or phone number."
        ),
    )
    consent_insurer = BooleanField(
        _l("Share my data with BPJS Ketenagakerjaan so I can be enrolled when a sponsor pays."),
        description=_l("Required: without it no one can pay your dues."),
        validators=[
            DataRequired(
                message=_l(
                    "Sponsors can only pay your dues if BPJS Ketenagakerjaan may receive your data."
                )
            )
        ],
    )
    submit = SubmitField(_l("Register"))


class ConfirmConsentForm(Form):
    stay_listed = BooleanField(
        _l("Show me in the Payung directory so sponsors can choose to protect me."),
        default=True,
    )
    agree = SubmitField(_l("Yes, I agree"))
    refuse = SubmitField(_l("No, I did not agree to this"))


class ConsentChangeForm(Form):
    kind = HiddenField(validators=[DataRequired()])
    given = HiddenField(validators=[DataRequired()])

    def validate_kind(self, field: HiddenField) -> None:
        if field.data not in set(ConsentKind):
            raise ValidationError(_("Unknown consent."))

    def validate_given(self, field: HiddenField) -> None:
        if field.data not in ("yes", "no"):
            raise ValidationError(_("Unknown consent."))


class InvitationForm(Form):
    full_name = StringField(
        _l("Their full name"),
        filters=[strip],
        validators=[DataRequired(), Length(min=2, max=NAME_MAX)],
    )
    phone = TelField(
        _l("Their mobile number"),
        description=_l("They receive the invitation by SMS on this number."),
        validators=[DataRequired(), Length(max=24)],
    )
    nik = StringField(
        _l("Their NIK (optional)"),
        description=_l("If you know it. The worker checks and confirms it."),
        filters=[strip],
        validators=[Optional(), Length(max=24)],
    )
    submit = SubmitField(_l("Send the invitation"))

    phone_e164: str = ""

    def validate_phone(self, field: TelField) -> None:
        phone = _phone(field.data)
        if phone is None:
            raise ValidationError(_("Enter their mobile number."))
        self.phone_e164 = phone

    def validate_nik(self, field: StringField) -> None:
        if field.data:
            try:
                field.data = check_nik(field.data).nik
            except IdentityError as exc:
                raise ValidationError(str(exc.message)) from None


class EnrolmentUploadForm(Form):
    file = FileField(_l("CSV file"), validators=[Required(message=_l("Choose a CSV file."))])
    check_only = BooleanField(
        _l("Only check the file, import nothing"),
        description=_l("You get the same per-row report without registering anyone."),
    )
    attest = BooleanField(
        _l(
            "Every worker in this file agreed, to me in person, to be registered and to have "
            "their data shared with BPJS Ketenagakerjaan; those marked for the directory "
            "agreed to be listed."
        ),
        validators=[Required(message=_l("Confirm that you collected the workers' consent."))],
    )
    submit = SubmitField(_l("Upload and check"))
