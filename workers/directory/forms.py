"""The directory's forms: the GET filter form, "cover N matching workers", and picking
workers from the cards. Filters are validated here; a wrong value counts as "any"."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from core.identity import Gender, Occupation
from i18n import Form
from workers.coverage import CoverageStatus
from workers.directory.queries import AGE_BAND_KEYS, DirectoryFilters, DirectorySort
from workers.forms import gender_choices, occupation_choices, province_choices, strip


def _any(label: object) -> list[SelectChoice]:
    return [SelectChoice("", label)]


class _DirectoryFilterFields(Form):
    occupation = SelectField(_l("Work"), choices=occupation_choices(_l("Any work")), default="")
    province = SelectField(_l("Province"), choices=province_choices(_l("Any province")), default="")
    gender = SelectField(
        _l("Gender"), choices=_any(_l("Any gender")) + gender_choices(), default=""
    )
    age = SelectField(
        _l("Age"),
        choices=_any(_l("Any age")) + [SelectChoice(k, str(b)) for k, b in AGE_BAND_KEYS.items()],
        default="",
    )
    status = SelectField(
        _l("Protection"),
        choices=_any(_l("Any protection status"))
        + [SelectChoice(s.value, s.label) for s in CoverageStatus],
        default="",
    )
    q = StringField(_l("Search"), filters=[strip], validators=[Optional(), Length(max=100)])
    sort = SelectField(
        _l("Sort"),
        choices=[SelectChoice(s.value, s.label) for s in DirectorySort],
        default=DirectorySort.LONGEST_UNCOVERED.value,
    )

    def filters(self) -> DirectoryFilters:
        """The valid filters; a field with an error counts as "any"."""

        def ok(field: SelectField | StringField) -> str | None:
            return field.data if field.data and not field.errors else None

        sort = ok(self.sort)
        return DirectoryFilters(
            occupation=Occupation(ok(self.occupation)) if ok(self.occupation) else None,
            province_code=ok(self.province),
            gender=Gender(ok(self.gender)) if ok(self.gender) else None,
            age_band=AGE_BAND_KEYS[ok(self.age)] if ok(self.age) else None,
            status=CoverageStatus(ok(self.status)) if ok(self.status) else None,
            query=ok(self.q) or "",
            sort=DirectorySort(sort) if sort else DirectorySort.LONGEST_UNCOVERED,
        )


class DirectoryFilterForm(_DirectoryFilterFields):
    """The directory's GET form: bookmarkable, no CSRF token in the URL."""

    class Meta:
        csrf = False


class CoverMatchingForm(_DirectoryFilterFields):
    """ "Cover N matching workers": N plus the directory filters as hidden fields."""

    n = IntegerField(
        _l("Number of workers"),
        validators=[InputRequired(), NumberRange(min=1, message=_l("Choose at least one worker."))],
    )
    submit = SubmitField(_l("Cover matching workers"))


class SelectWorkersForm(Form):
    """Checkboxes on the directory cards, or one card's "Cover this worker" button."""

    worker_id = SelectMultipleField(coerce=int, validate_choice=False)
    only = IntegerField(validators=[Optional()])

    def worker_ids(self) -> list[int]:
        return [self.only.data] if self.only.data else list(self.worker_id.data or [])
