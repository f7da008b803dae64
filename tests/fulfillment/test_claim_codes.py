import hashlib
import hmac
import re

import pytest

from fulfillment.claims import codes as claim_codes
from fulfillment.claims.codes import (
    InvalidClaimCode,
    claim_code_digest,
    format_claim_code,
    generate_claim_code,
    normalize_claim_code,
)

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Check symbols worked out by hand: the 80-bit value of the first 16 symbols mod 37.
CODE = "10ABCDEFGHJK0M1NS"  # check 25 → S
TOP_CODE = "ZZZZZZZZZZZZZZZTW"  # 2**80 − 6 ≡ 28 (mod 37) → W
KEY = b"test-claim-code-key"


def test_generated_code_is_17_crockford_symbols_and_round_trips():
    code = generate_claim_code()
    assert re.fullmatch(f"[{CROCKFORD}]{{17}}", code)
    assert normalize_claim_code(code) == code
    assert normalize_claim_code(format_claim_code(code)) == code


def test_generated_codes_draw_80_bits_from_secrets(monkeypatch):
    requested = []

    def randbits(bits):
        requested.append(bits)
        return 2**80 - 6

    monkeypatch.setattr(claim_codes.secrets, "randbits", randbits)
    assert generate_claim_code() == TOP_CODE
    assert requested == [80]


def test_values_whose_check_is_a_symbol_are_drawn_again(monkeypatch):
    draws = iter([32, 2**80 - 1, 37])  # checks 32 "*" and 33 "~", then 0
    monkeypatch.setattr(claim_codes.secrets, "randbits", lambda bits: next(draws))
    assert generate_claim_code() == "00000000000000150"


def test_generated_codes_are_unique_and_use_the_whole_alphabet():
    codes = {generate_claim_code() for _ in range(2_000)}
    assert len(codes) == 2_000
    assert {symbol for code in codes for symbol in code[:16]} == set(CROCKFORD)
    assert {code[-1] for code in codes} <= set(CROCKFORD)


def test_format_groups_by_four():
    assert format_claim_code(CODE) == "10AB-CDEF-GHJK-0M1N-S"
    assert format_claim_code("zzzz zzzz zzzz zzzt w") == "ZZZZ-ZZZZ-ZZZZ-ZZZT-W"


@pytest.mark.parametrize(
    "typed",
    [
        "10ABCDEFGHJK0M1NS",
        "10abcdefghjk0m1ns",
        "10AB-CDEF-GHJK-0M1N-S",
        "10AB CDEF GHJK 0M1N S",
        "  10ab\tcdef\nghjk 0m1n-s ",
        "1OABCDEFGHJKoM1NS",  # letter O for zero, both cases
        "I0ABCDEFGHJK0MiNS",  # letter I for one, both cases
        "L0ABCDEFGHJK0MlNS",  # letter L for one, both cases
        "l0ab–cdef—ghjk‑0M1N‐S",  # dashes a phone keyboard substitutes
        "10AB\u00a0CDEF\u00a0GHJK\u00a00M1N\u00a0S",  # non-breaking spaces from a copied SMS
    ],
)
def test_typed_variants_normalise_to_the_same_code(typed):
    assert normalize_claim_code(typed) == CODE


@pytest.mark.parametrize("typed", ["10ABCDEFGHJK0M1N", "10ABCDEFGHJK0M1NSS", "", " - "])
def test_wrong_length_is_refused(typed):
    with pytest.raises(InvalidClaimCode) as refused:
        normalize_claim_code(typed)
    assert refused.value.code == "length"


@pytest.mark.parametrize(
    "typed",
    [
        "10ABCDEFGHJK0M1NU",  # U is not in the alphabet
        "10ABCDEFGHJK0M1N*",  # Crockford's check symbols are never issued
        "10ABCDEFGHJK0M1N~",
        "10ABCDEFGHJK0M1N$",
        "10ABCDEFGHJK0M1N=",
        "10ABCDEFGHJK0M1N#",
        "10ABCDEFGHJK0M1NÉ",
        "10AB_CDEF_GHJK_0M1N_S",
    ],
)
def test_foreign_characters_are_refused(typed):
    with pytest.raises(InvalidClaimCode) as refused:
        normalize_claim_code(typed)
    assert refused.value.code == "charset"


def test_every_single_symbol_typo_is_caught():
    caught = 0
    for position in range(len(CODE)):
        for symbol in CROCKFORD.replace(CODE[position], ""):
            typo = CODE[:position] + symbol + CODE[position + 1 :]
            with pytest.raises(InvalidClaimCode) as refused:
                normalize_claim_code(typo)
            assert refused.value.code == "check", typo
            caught += 1
    assert caught == 17 * 31


def test_every_swap_of_neighbours_is_caught():
    for position in range(len(CODE) - 1):
        swapped = CODE[:position] + CODE[position + 1] + CODE[position] + CODE[position + 2 :]
        assert swapped != CODE
        with pytest.raises(InvalidClaimCode) as refused:
            normalize_claim_code(swapped)
        assert refused.value.code == "check", swapped


def test_all_z_data_cannot_carry_a_typable_check():
    # 2**80 − 1 ≡ 33 (mod 37): its Crockford check is "~", so no alphabet symbol completes it
    for symbol in CROCKFORD:
        with pytest.raises(InvalidClaimCode):
            normalize_claim_code("ZZZZZZZZZZZZZZZZ" + symbol)


def test_refusals_are_value_errors_with_a_message():
    with pytest.raises(ValueError) as refused:
        normalize_claim_code("10ABCDEFGHJK0M1NT")
    assert str(refused.value.message)


def test_digest_is_hmac_sha256_of_the_normalised_code():
    expected = hmac.new(KEY, CODE.encode(), hashlib.sha256).hexdigest()
    assert claim_code_digest(CODE, KEY) == expected
    assert claim_code_digest("10ab-cdef-ghjk-om1n-s", KEY) == expected
    assert re.fullmatch("[0-9a-f]{64}", expected)


def test_digest_depends_on_key_and_code():
    assert claim_code_digest(CODE, KEY) != claim_code_digest(CODE, b"another key")
    assert claim_code_digest(CODE, KEY) != claim_code_digest(TOP_CODE, KEY)
    assert CODE not in claim_code_digest(CODE, KEY)


def test_digest_refuses_a_typo_and_an_empty_key():
    with pytest.raises(InvalidClaimCode):
        claim_code_digest("10ABCDEFGHJK0M1NT", KEY)
    with pytest.raises(ValueError):
        claim_code_digest(CODE, b"")
