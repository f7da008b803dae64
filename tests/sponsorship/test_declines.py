"""Card refusals are told in Payung's words, in Indonesian (English for English pages), for
every decline code Stripe gives and a general one for codes we do not know."""

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask_babel import force_locale

from sponsorship.payments.declines import decline_messages, decline_text

STRIPE_CODES = (
    "insufficient_funds",
    "lost_card",
    "stolen_card",
    "expired_card",
    "incorrect_cvc",
    "processing_error",
    "do_not_honor",
    "generic_decline",
    "card_declined",
    "authentication_required",
    "incorrect_number",
    "card_velocity_exceeded",
    "payment_intent_authentication_failure",
)
GENERIC_ID = "Kartu tidak diterima. Gunakan kartu lain atau hubungi bank Anda."


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {}


def shown(code: str | None, locale: str = "id") -> str:
    with force_locale(locale):
        return str(decline_text(code))


def test_each_decline_code_has_an_indonesian_message_of_ours(app):
    with app.test_request_context():
        assert shown("insufficient_funds") == (
            "Saldo kartu tidak cukup. Gunakan kartu lain atau coba lagi nanti."
        )
        assert shown("expired_card") == "Kartu sudah kedaluwarsa. Gunakan kartu lain."
        assert shown("incorrect_cvc") == "Kode keamanan (CVC) tidak benar. Periksa lalu coba lagi."
        for code in STRIPE_CODES:
            indonesian, english = shown(code), shown(code, "en")
            assert indonesian != english, code  # translated
            assert "declined" not in english.lower(), code  # never Stripe's sentence
        assert shown("lost_card") == shown("stolen_card")  # nothing hints at theft
        assert shown("insufficient_funds", "en").startswith("The card does not have enough")


@pytest.mark.parametrize("code", [None, "", "some_new_reason", "Your card was declined."])
def test_an_unknown_or_missing_code_gets_our_general_message(app, code):
    with app.test_request_context():
        assert shown(code) == GENERIC_ID


def test_the_card_pages_hand_the_messages_to_the_script(app):
    with app.test_request_context():
        messages = decline_messages()
    assert messages["generic_decline"] == GENERIC_ID
    assert set(STRIPE_CODES) <= set(messages)
    script = Path(app.static_folder or "static", "js", "checkout.js").read_text()
    assert "error.message" not in script  # Stripe.js's own text is never shown
    page = app.jinja_env.from_string(
        "<form data-decline-messages='{{ decline_messages()|tojson }}'>"
    )
    with app.test_request_context():
        attribute = re.search(r"data-decline-messages='([^']*)'", page.render()).group(1)
    assert json.loads(html.unescape(attribute)) == messages
