"""The directory's forms: the GET filter form, "cover N matching workers", and picking
workers from the cards. Filters are validated here; a wrong value counts as "any"."""

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import (
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.fields import Field
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import Select, html_params

from core.identity import Gender, Occupation
from i18n import Form, current_locale_name
from workers.coverage import CoverageStatus
from workers.directory.queries import AGE_BAND_KEYS, DirectoryFilters, DirectorySort
from workers.forms import gender_choices, occupation_choices, province_choices, strip


def _any(label: object) -> list[SelectChoice]:
    return [SelectChoice("", label)]


class FixedChoicesSelect(Select):
    """WTForms' ``Select``, same markup, for a field whose choices are fixed in its class.

    The directory's six selects hold about 70 options with translated labels; WTForms rendered
    them option by option on every request (a quarter of the page's time, issue 16). Here the
    escaped options are built once per field and language; a request only marks its value.
    """

    def __init__(self) -> None:
        super().__init__(multiple=False)
        self._options: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def __call__(self, field: Field, **kwargs: object) -> Markup:
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for name in self.validation_attrs:
            if name not in kwargs and getattr(flags, name, False):
                kwargs[name] = getattr(flags, name)
        key = (field.name, current_locale_name())
        options = self._options.get(key)
        if options is None:
            options = self._options[key] = [
                (
                    str(choice.value),
                    f"{html_params(value=choice.value)}>{escape(choice.label or choice.value)}",
                )
                for choice in field.choices  # type: ignore[attr-defined]
            ]
        chosen = "" if field.data is None else str(field.data)
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        html.extend(
            f"<option selected {rest}</option>" if value == chosen else f"<option {rest}</option>"
            for value, rest in options
        )
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704 (every part escaped above)


def _select(label: object, choices: list[SelectChoice], default: str = "") -> SelectField:
    return SelectField(label, choices=choices, default=default, widget=FixedChoicesSelect())


class _DirectoryFilterFields(Form):
    occupation = _select(_l("Work"), occupation_choices(_l("Any work")))
    province = _select(_l("Province"), province_choices(_l("Any province")))
    gender = _select(_l("Gender"), _any(_l("Any gender")) + gender_choices())
    age = _select(
        _l("Age"),
        _any(_l("Any age")) + [SelectChoice(k, str(b)) for k, b in AGE_BAND_KEYS.items()],
    )
    status = _select(
        _l("Protection"),
        _any(_l("Any protection status"))
        + [SelectChoice(s.value, s.label) for s in CoverageStatus],
    )
    q = StringField(_l("Search"), filters=[strip], validators=[Optional(), Length(max=100)])
    sort = _select(
        _l("Sort"),
        [SelectChoice(s.value, s.label) for s in DirectorySort],
        DirectorySort.LONGEST_UNCOVERED.value,
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
