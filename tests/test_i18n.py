"""Indonesian first, English second; every message translated; rupiah shown the local way."""

from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext, lazy_gettext, ngettext

from i18n import catalog_paths, missing_messages, rupiah


def test_every_message_has_an_indonesian_translation():
    missing = missing_messages()
    assert missing == {}, "run `python -m i18n missing` and translate these"


def test_pages_are_indonesian_by_default_and_switch_to_english(client):
    assert 'lang="id"' in client.get("/masuk").text
    assert "Kata sandi" in client.get("/masuk").text

    response = client.post("/bahasa", data={"lang": "en", "next": "/masuk"})
    assert response.headers["Location"] == "/masuk"
    page = client.get("/masuk").text
    assert 'lang="en"' in page
    assert "Password" in page


def test_language_switch_ignores_unknown_languages_and_foreign_next(client):
    response = client.post("/bahasa", data={"lang": "xx", "next": "https://evil.example"})
    assert response.headers["Location"] == "/"
    assert 'lang="id"' in client.get("/").text


def test_rupiah_is_written_with_dots_in_indonesian_and_commas_in_english(app):
    with app.test_request_context(), force_locale("id"):
        assert rupiah(16800) == "Rp16.800"
        assert rupiah(1_250_000) == "Rp1.250.000"
        assert rupiah(0) == "Rp0"
        assert rupiah(-8400) == "−Rp8.400"
    with app.test_request_context(), force_locale("en"):
        assert rupiah(16800) == "Rp16,800"


def test_jobs_without_a_request_speak_the_default_language(app):
    with app.app_context():  # as a Celery task or a flask command runs
        assert gettext("Please sign in to continue.") != "Please sign in to continue."
        assert str(lazy_gettext("Please sign in to continue.")) == gettext(
            "Please sign in to continue."
        )


def test_indonesian_plurals_are_translated_for_every_number(app):
    with app.app_context(), force_locale("id"):
        assert ngettext("%(num)s month", "%(num)s months", 2) == "2 bulan"
    for path in catalog_paths():
        with path.open("rb") as po_file:
            for message in read_po(po_file, locale="id"):
                if message.id and isinstance(message.string, tuple) and message.string[0]:
                    assert all(message.string), f"{path}: {message.id[0]!r} has an empty form"
