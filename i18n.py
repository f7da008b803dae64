"""Languages, money and dates as people read them: Indonesian first, English second.

Messages are written in English and translated in per-package Indonesian catalogs,
``<package>/translations/id/LC_MESSAGES/messages.po`` (``translations/`` at the top for the
shared templates); Flask-Babel merges them.

    python -m i18n compile          turn every .po into the .mo Flask-Babel loads
    python -m i18n missing          list messages without an Indonesian translation
    python -m i18n merge F.po PKG   add the entries of F.po to PKG's catalog
"""

import sys
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from flask import Flask, current_app, has_request_context, request, session
from flask.globals import _cv_app
from flask_babel import format_date, format_datetime, get_locale, get_translations
from flask_login import current_user
from flask_wtf import FlaskForm

from extensions import babel

ROOT = Path(__file__).resolve().parent


def translation_directories() -> list[Path]:
    packages = sorted(p.parent for p in ROOT.glob("*/translations/id") if ".venv" not in p.parts)
    return [*packages, ROOT / "translations"]


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # Jobs and commands have no visitor: they speak the default language unless they
        # choose one with force_locale (e.g. the recipient's).
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    user_locale = getattr(current_user, "locale", None)
    if user_locale in languages:
        return user_locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


# --- the request's language, looked up once ------------------------------------------------
#
# Flask-Babel finds the locale and the merged catalog through ``g`` and ``str(locale)`` on every
# call; a page of 24 cards made 500 such calls (14 % of its time, issue 16). These helpers keep
# the pair on the app context's ``g`` and check it by the identity of the locale object that
# Flask-Babel holds, so ``force_locale`` (which swaps that object) is always obeyed.

_NULL = NullTranslations()


def current_translations() -> Translations | NullTranslations:
    """``flask_babel.get_translations()``, looked up once per locale per request or job."""
    app_context = _cv_app.get(None)
    if app_context is None:
        return _NULL
    space = app_context.g.__dict__
    babel_state = space.get("_flask_babel")
    locale = getattr(babel_state, "babel_locale", None)
    cached = space.get("_payung_translations")
    if cached is not None and locale is not None and cached[0] is locale:
        return cached[1]
    translations = get_translations()
    locale = getattr(space.get("_flask_babel"), "babel_locale", None)
    space["_payung_translations"] = (locale, translations)
    return translations


def current_locale_name() -> str:
    """``str(get_locale())`` ("id" or "en"), computed once per locale per request or job."""
    app_context = _cv_app.get(None)
    if app_context is None:
        return "id"
    space = app_context.g.__dict__
    locale = getattr(space.get("_flask_babel"), "babel_locale", None)
    cached = space.get("_payung_locale_name")
    if cached is not None and locale is not None and cached[0] is locale:
        return str(cached[1])
    name = str(get_locale() or "id")
    space["_payung_locale_name"] = (getattr(space.get("_flask_babel"), "babel_locale", None), name)
    return name


def template_gettext(string: str) -> str:
    return str(current_translations().ugettext(string))


def template_ngettext(singular: str, plural: str, n: int) -> str:
    return str(current_translations().ungettext(singular, plural, n))


# Formatting depends only on its arguments and the locale: a page of 24 cards or a bundle's
# 49 amounts formats the same few values again and again (12 % of the bundle page, issue 16).
@lru_cache(maxsize=8192)
def _digits(value: int, locale: str) -> str:
    return str(format_decimal(value, format="#,##0", locale=locale))


@lru_cache(maxsize=4096)
def _date(value: date, style: str, locale: str) -> str:
    return str(format_date(value, format=style))


def rupiah(amount: int | None) -> str:
    """Format whole rupiah the Indonesian way: ``Rp16.800`` (``Rp16,800`` in English)."""
    if amount is None:
        return "–"
    digits = _digits(abs(int(amount)), current_locale_name())
    return f"{'−' if amount < 0 else ''}Rp{digits}"


def number(value: int | None) -> str:
    if value is None:
        return "–"
    return _digits(int(value), current_locale_name())


def local_date(value: date | datetime | None, style: str = "medium") -> str:
    if value is None:
        return "–"
    if type(value) is date:  # a datetime's rendering depends on the time zone too
        return _date(value, style, current_locale_name())
    return str(format_date(value, format=style))


def local_datetime(value: datetime | None, style: str = "medium") -> str:
    """A moment as Jakarta reads it, e.g. ``2 Des 2026 03.30.05 WIB`` (stored times are UTC)."""
    return "–" if value is None else f"{format_datetime(value, format=style)} WIB"


class _BabelTranslations:
    """WTForms ships no Indonesian; its built-in messages go through our catalogs instead.

    WTForms fills the placeholders itself (``% {"max": ..., "value": ...}``), so these only
    translate: Flask-Babel's ``ngettext`` would format with ``{"num": n}`` alone and fail on
    ``%(max)d`` (a search over 100 characters answered a 500)."""

    def gettext(self, string: str) -> str:
        return str(current_translations().ugettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(current_translations().ungettext(singular, plural, n))


class Form(FlaskForm):
    """Base of every HTML form: Flask-WTF's CSRF plus translated built-in messages."""

    class Meta:
        def get_translations(self, form: object) -> _BabelTranslations:
            return _BabelTranslations()


def register_i18n(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(
        str(p) for p in translation_directories()
    )
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=template_gettext,
        ngettext=template_ngettext,
        newstyle=True,
        pgettext=lambda context, string: current_translations().upgettext(context, string),
        npgettext=lambda context, singular, plural, n: current_translations().unpgettext(
            context, singular, plural, n
        ),
    )
    app.add_template_filter(rupiah, "rupiah")
    app.add_template_filter(number, "format_number")
    app.add_template_filter(local_date, "local_date")
    app.add_template_filter(local_datetime, "local_datetime")

    @app.context_processor
    def locale_context() -> dict[str, object]:
        return {"current_locale": current_locale_name(), "request_path": request.full_path}


def compile_catalogs() -> int:
    """Compile every stale ``.po`` catalog; return how many were written."""
    written = 0
    for po_path in ROOT.glob("**/translations/*/LC_MESSAGES/messages.po"):
        if ".venv" in po_path.parts:
            continue
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        written += 1
    return written


KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
SOURCE_DIRS = (
    "core",
    "messaging",
    "accounts",
    "workers",
    "bundles",
    "sponsorship",
    "fulfillment",
    "admin",
    "workerhome",
    "partnerhome",
    "pages",
    "templates",
)
SKIP_FILES = ("demo.py",)


def used_messages() -> dict[str, str]:
    """Every msgid in our Python code and templates, with one place it is used."""
    found: dict[str, str] = {}
    method_map = [("**.py", "python"), ("**.html", "jinja2"), ("**.txt", "jinja2")]
    for folder in SOURCE_DIRS:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=method_map, keywords=KEYWORDS
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault(msgid, f"{folder}/{filename}:{lineno}")
    return found


def catalog_paths() -> list[Path]:
    return [d / "id" / "LC_MESSAGES" / "messages.po" for d in translation_directories()]


def translated_messages() -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in catalog_paths():
        if path.exists():
            with path.open("rb") as po_file:
                for message in read_po(po_file):
                    if message.id and message.string and not message.fuzzy:
                        key = message.id[0] if isinstance(message.id, tuple) else message.id
                        merged[key] = str(message.string)
    return merged


def missing_messages() -> dict[str, str]:
    translated = translated_messages()
    return {k: v for k, v in used_messages().items() if k not in translated}


def fill_plural_forms(catalog: Catalog) -> int:
    """Indonesian nouns do not change with number, so every plural form is the singular one.
    A form left empty would make gettext fall back to English whenever n != 1."""
    filled = 0
    for message in catalog:
        if message.id and isinstance(message.string, tuple) and message.string[0]:
            forms = tuple(form or message.string[0] for form in message.string)
            if forms != message.string:
                message.string = forms
                filled += 1
    return filled


def merge_into(fragment: Path, package: str) -> int:
    """Add (or update) the entries of ``fragment`` in ``package``'s Indonesian catalog."""
    base = ROOT / package / "translations" if package != "." else ROOT / "translations"
    target = base / "id" / "LC_MESSAGES" / "messages.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        with target.open("rb") as po_file:
            catalog = read_po(po_file, locale="id")
    else:
        catalog = Catalog(locale="id", project="Payung", fuzzy=False)
    with fragment.open("rb") as po_file:
        incoming = read_po(po_file, locale="id")
    added = 0
    for message in incoming:
        if message.id:
            flags = [flag for flag in message.flags if flag != "fuzzy"]
            catalog.add(message.id, message.string, flags=flags)
            added += 1
    fill_plural_forms(catalog)
    with target.open("wb") as po_file:
        write_po(po_file, catalog, sort_output=True, width=100, omit_header=False)
    return added


if __name__ == "__main__":
    command = sys.argv[1:2]
    if command == ["compile"]:
        print(f"compiled {compile_catalogs()} catalog(s)")
    elif command == ["missing"]:
        for msgid, where in sorted(missing_messages().items(), key=lambda kv: kv[1]):
            print(f"{where}\t{msgid}")
    elif command == ["merge"] and len(sys.argv) == 4:
        print(f"merged {merge_into(Path(sys.argv[2]), sys.argv[3])} message(s)")
    else:
        sys.exit(__doc__)
