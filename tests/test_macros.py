"""The shared template macros: a form's errors are all shown, whatever kind of string they are."""

from flask import render_template_string
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired

from i18n import Form


class NameForm(Form):
    name = StringField("Name", validators=[DataRequired(message=_l("Write a name."))])


def test_form_errors_shows_lazy_and_plain_messages(app):
    with app.test_request_context("/", method="POST", data={"name": ""}):
        form = NameForm(meta={"csrf": False})
        assert not form.validate()
        form.form_errors.append("Something is off with the whole form.")
        html = render_template_string(
            '{% from "_macros.html" import form_errors %}{{ form_errors(form) }}', form=form
        )
    assert 'href="#name"' in html
    assert "Write a name." in html or "Tulis nama." in html
    assert "Something is off with the whole form." in html
