"""Every template, in both languages, with its worst-case parameters: it renders, has an
Indonesian translation of its own, and a text sent to phones fits the SMS parts it is sent in."""

import pytest

from messaging.templates import CATALOGUE, render, sms_parts

LANGUAGES = ("id", "en")


@pytest.mark.parametrize("template_id", sorted(CATALOGUE))
@pytest.mark.parametrize("locale", LANGUAGES)
def test_each_template_fits_its_sms_parts_with_the_worst_parameters(app, template_id, locale):
    template = CATALOGUE[template_id]
    rendered = render(template_id, locale, **template.worst)
    assert "%(" not in rendered.body and "%(" not in (rendered.subject or "")
    for name, value in template.worst.items():
        if name in template.inner:
            continue  # written from data or a choice, not printed as given
        assert str(value) in rendered.body or str(value) in (rendered.subject or "")
    if template.sms_parts is not None:
        parts = sms_parts(rendered.body)
        assert parts <= template.sms_parts, (
            f"{template_id} ({locale}) takes {parts} SMS, {len(rendered.body)} characters"
        )


@pytest.mark.parametrize("template_id", sorted(CATALOGUE))
def test_each_template_is_written_in_indonesian(app, template_id):
    template = CATALOGUE[template_id]
    indonesian = render(template_id, "id", **template.worst)
    english = render(template_id, "en", **template.worst)
    assert indonesian.body != english.body


def test_sms_parts_counts_gsm_and_unicode_the_way_phones_do():
    assert sms_parts("x" * 160) == 1 and sms_parts("x" * 161) == 2
    assert sms_parts("x" * 306) == 2 and sms_parts("x" * 307) == 3
    assert sms_parts("€" * 80) == 1 and sms_parts("€" * 81) == 2  # two septets each
    assert sms_parts("•" + "x" * 69) == 1 and sms_parts("•" + "x" * 70) == 2
    assert sms_parts("“" + "x" * 133) == 2 and sms_parts("“" + "x" * 134) == 3
