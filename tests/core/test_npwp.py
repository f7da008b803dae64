"""The NPWP rule: 15 or 16 digits, common punctuation taken out, a clear reason otherwise."""

import pytest
from flask_babel import force_locale

from core.identity import IdentityError
from core.npwp import InvalidNpwp, format_npwp, normalize_npwp


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("01.234.567.8-901.000", "012345678901000"),  # the usual way of writing the old form
        ("012345678901000", "012345678901000"),
        (" 01 234 567 8 901 000 ", "012345678901000"),
        ("01-234-567-8-901-000", "012345678901000"),
        ("0012345678901000", "0012345678901000"),  # the 16-digit form of the same number
        ("0012 3456 7890 1000", "0012345678901000"),
        ("3201015205900001", "3201015205900001"),  # a NIK used as NPWP
        ("01.234.567.8/901.000", "012345678901000"),
    ],
)
def test_a_well_formed_npwp_is_kept_as_its_digits(typed, digits):
    assert normalize_npwp(typed) == digits


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "empty"),
        ("  .-  ", "empty"),
        ("01.234.567.8-901.00", "length"),  # 14 digits
        ("01.234.567.8-901.00000", "length"),  # 17 digits
        ("012345678901000123", "length"),
        ("1234567", "length"),
        ("01.234.567.8-901.OOO", "characters"),  # letter O for zero
        ("NPWP 012345678901000", "characters"),
        ("٠١٢٣٤٥٦٧٨٩٠١٠٠٠٠", "characters"),  # Arabic-Indic digits are not ASCII digits
        ("00.000.000.0-000.000", "zeros"),
        ("0000000000000000", "zeros"),
    ],
)
def test_a_bad_npwp_is_refused_with_a_stable_code(typed, code):
    with pytest.raises(InvalidNpwp) as refused:
        normalize_npwp(typed)
    assert refused.value.code == code
    assert isinstance(refused.value, IdentityError)


def test_the_messages_are_indonesian_by_default_and_english_on_request(app):
    with pytest.raises(InvalidNpwp) as refused:
        normalize_npwp("01.234.567.8-901.00")
    with app.test_request_context(), force_locale("id"):
        assert str(refused.value.message) == (
            "NPWP terdiri dari 15 angka (01.234.567.8-901.000) atau 16 angka; yang ini 14 angka."
        )
    with app.test_request_context(), force_locale("en"):
        assert "this one has 14" in str(refused.value.message)


def test_an_npwp_is_printed_in_its_usual_groups():
    assert format_npwp("012345678901000") == "01.234.567.8-901.000"
    assert format_npwp("0012345678901000") == "0012 3456 7890 1000"
