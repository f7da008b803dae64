"""Issue 13, item 12: the worker's code has one name. The field says "Kode paket", so its
errors, the SMS and every other message say "kode paket" too, never "kode klaim"."""

import re
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext

from fulfillment.claims.codes import InvalidClaimCode
from i18n import catalog_paths


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {}


@pytest.mark.parametrize("typed", ["hello", "ABCD-EFGH-IJKL-MNOP-U", "ZZZZ-ZZZZ-ZZZZ-ZZZZ-Z"])
def test_the_bundle_code_field_and_its_errors_use_one_name(client, typed):
    response = client.post("/klaim", data={"code": typed})
    assert response.status_code == 422
    error = re.search(r'class="error-message"[^>]*>([^<]*)<', response.text).group(1)
    assert "kode paket" in error.lower()
    assert "klaim" not in error.lower()
    assert "Kode paket" in response.text  # the field's label


@pytest.mark.parametrize("reason", ["length", "charset", "check"])
def test_in_english_it_is_the_bundle_code_too(app, reason):
    with app.test_request_context(), force_locale("en"):
        message = str(InvalidClaimCode(reason).message)
    assert "bundle code" in message.lower() and "claim code" not in message.lower()


def test_no_indonesian_message_calls_it_kode_klaim():
    for path in catalog_paths():
        with path.open("rb") as po_file:
            for message in read_po(po_file, locale="id"):
                texts = message.string if isinstance(message.string, tuple) else [message.string]
                for text in texts:
                    assert "kode klaim" not in (text or "").lower(), (path, message.id)


def test_the_sms_names_the_kode_paket(app):
    sms = (
        "Payung: you have received %(bundle)s. Your bundle code: %(code)s. Claim it at "
        "%(link)s. Never share this code."
    )
    with app.test_request_context(), force_locale("id"):
        body = gettext(sms, bundle="ComboFit", code="ZZZZ-ZZZZ-ZZZZ-ZZZZ-Z", link="x")
    assert "Kode paket Anda: ZZZZ-ZZZZ-ZZZZ-ZZZZ-Z" in body
