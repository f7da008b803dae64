"""Bundle claim codes: drawn from ``secrets``, typed back by workers, stored only as a keyed hash.

A code is 16 Crockford base32 symbols carrying 80 random bits, then Crockford's check symbol (the
80-bit value mod 37). Crockford spells check values 32–36 as ``* ~ $ = U``, which a phone keypad
hides behind a symbols page and SMS can mangle, so ``generate_claim_code`` draws again whenever the
check would be one of them (5 draws in 37). Every code stays a valid standard Crockford code, the
check still catches every single-symbol typo and every swap of two neighbours (37 is prime and
divides neither 32 nor 31), and the codes keep 80 + log2(32/37) ≈ 79.8 bits. A mod-32 check would
keep all 80 bits but cannot catch every neighbour swap: any weighted sum mod an even number misses
some of them.
"""

import hashlib
import hmac
import secrets

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_BITS = 80
DATA_LENGTH = RANDOM_BITS // 5
CODE_LENGTH = DATA_LENGTH + 1
_CHECK_MODULUS = 37
_GROUP = 4

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"  # phones autocorrect "-" into these
_FORGIVING = str.maketrans(
    {
        **{c: c.upper() for c in "abcdefghjkmnpqrstvwxyz"},
        **dict.fromkeys("oO", "0"),
        **dict.fromkeys("iIlL", "1"),
        **dict.fromkeys(_DASHES),
    }
)

# Workers know it as the "bundle code" ("kode paket"): the field, the SMS and these say the same.
_MESSAGES = {
    "length": _l("A bundle code has 17 letters and digits."),
    "charset": _l("That is not a bundle code: it contains a character bundle codes never use."),
    "check": _l("That bundle code has a typo. Please check each character."),
}


class InvalidClaimCode(ValueError):
    """What a worker typed cannot be a claim code; ``code`` is "length", "charset" or "check"."""

    def __init__(self, code: str) -> None:
        super().__init__(f"invalid claim code: {code}")
        self.code = code

    @property
    def message(self) -> LazyString:
        return _MESSAGES[self.code]


def generate_claim_code() -> str:
    """A new normalised code, e.g. ``"ZZZZZZZZZZZZZZZTW"``; show it with ``format_claim_code``."""
    while True:
        value = secrets.randbits(RANDOM_BITS)
        check = value % _CHECK_MODULUS
        if check < len(ALPHABET):
            return _encode(value) + ALPHABET[check]


def format_claim_code(code: str) -> str:
    """``"ZZZZ-ZZZZ-ZZZZ-ZZZT-W"``: groups of four for reading aloud and typing."""
    normalised = normalize_claim_code(code)
    return "-".join(normalised[i : i + _GROUP] for i in range(0, CODE_LENGTH, _GROUP))


def normalize_claim_code(raw: str) -> str:
    """The canonical form of a typed code, ignoring case, spaces and dashes and reading O as 0 and
    I or L as 1. Raises ``InvalidClaimCode`` before any lookup when it cannot be a code.
    """
    compact = "".join(raw.split()).translate(_FORGIVING)
    if not set(compact) <= set(ALPHABET):
        raise InvalidClaimCode("charset")
    if len(compact) != CODE_LENGTH:
        raise InvalidClaimCode("length")
    if _decode(compact[:DATA_LENGTH]) % _CHECK_MODULUS != ALPHABET.index(compact[-1]):
        raise InvalidClaimCode("check")
    return compact


def claim_code_digest(code: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of the normalised code: the only form the database keeps."""
    if not key:
        raise ValueError("claim code digests need a secret key")
    return hmac.new(key, normalize_claim_code(code).encode("ascii"), hashlib.sha256).hexdigest()


def _encode(value: int) -> str:
    symbols = []
    for _ in range(DATA_LENGTH):
        value, digit = divmod(value, 32)
        symbols.append(ALPHABET[digit])
    return "".join(reversed(symbols))


def _decode(symbols: str) -> int:
    value = 0
    for symbol in symbols:
        value = value * 32 + ALPHABET.index(symbol)
    return value
