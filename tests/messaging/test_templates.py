"""Every template, in both languages, with its worst-case parameters: it renders, has an
Indonesian translation of its own, and a text sent to phones fits the SMS parts it is sent in."""

import ast
from pathlib import Path

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


# --- every text goes through the catalogue --------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
NOT_APP_CODE = {"tests", "migrations", "bench", "devtools", "sandbox", ".venv", "node_modules"}
CATALOGUE_CALLS = {"queue_template", "render"}


def _app_modules() -> list[Path]:
    return [
        path
        for path in sorted(ROOT.rglob("*.py"))
        if not NOT_APP_CODE & set(path.relative_to(ROOT).parts)
    ]


def _called(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _findings(relative: str, source: str) -> list[str]:
    """Calls in one module that queue a text of their own or name an id not in the catalogue."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _called(node)
        if name == "queue_message" and not relative.startswith("messaging/"):
            found.append(f"{relative}:{node.lineno} queue_message")
        elif (
            name in CATALOGUE_CALLS
            and "messaging" in source
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value not in CATALOGUE
        ):
            found.append(f"{relative}:{node.lineno} {node.args[0].value!r}")
    return found


def test_no_module_outside_messaging_queues_a_text_of_its_own():
    """``queue_message`` takes a finished text: outside messaging/ only ``queue_template``
    (and ``render``) may be used, naming a catalogue id, so a new text has to be added to
    messaging/templates.py (or templates_email.py), where the length tests see it."""
    found = [
        finding
        for path in _app_modules()
        for finding in _findings(
            path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
        )
    ]
    assert found == [], "queue a catalogue template (queue_template) instead"


def test_the_check_finds_a_text_of_its_own_and_an_unknown_id():
    source = (
        "from messaging.services import queue_message, queue_template\n"
        'queue_message(channel=c, recipient=r, body="Payung: hai", purpose="x")\n'
        'queue_template("no_such_text", channel=c, recipient=r, purpose="x", locale="id")\n'
        'queue_template("klaim_help", channel=c, recipient=r, purpose="x", locale="id")\n'
    )
    assert _findings("workers/example.py", source) == [
        "workers/example.py:2 queue_message",
        "workers/example.py:3 'no_such_text'",
    ]
    assert _findings("messaging/keywords.py", source) == ["messaging/keywords.py:3 'no_such_text'"]
