"""NPWP, the Indonesian taxpayer number an organisation sponsor prints on its invoices.

Next to the NIK rules (``core.identity``) and built the same way: a pure function that raises
an ``IdentityError`` with a stable ``code`` and a lazy, translatable message.

Two shapes are in use. The old one has 15 digits, usually written ``01.234.567.8-901.000``
(taxpayer kind and serial, a check digit, the tax office, the branch). Since PMK 112/2022 the
number has 16 digits: a person's NIK, or for a company or an agency ``0`` followed by the old
15 digits. Both are accepted; what is stored is the digits alone. The old check digit is not
verified: the tax office issued numbers whose ninth digit does not follow any published rule,
and refusing a real NPWP would block an invoice for nothing.
"""

import re

from flask_babel import lazy_gettext as _l

from core.identity import IdentityError

# What people type between the groups: dots, hyphens, spaces, slashes.
_NPWP_PUNCTUATION = re.compile(r"[\s.\-/]")
NPWP_LENGTHS = (15, 16)


class InvalidNpwp(IdentityError):
    """Codes: ``empty``, ``characters`` (letters or other signs), ``length``, ``zeros``."""


def normalize_npwp(raw: str) -> str:
    """The NPWP's digits (15 or 16), punctuation taken out; raises `InvalidNpwp`."""
    digits = _NPWP_PUNCTUATION.sub("", raw or "")
    if not digits:
        raise InvalidNpwp(_l("Enter the organisation's NPWP."), code="empty")
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidNpwp(
            _l("An NPWP has only digits, with dots or hyphens between them if you like."),
            code="characters",
        )
    if len(digits) not in NPWP_LENGTHS:
        raise InvalidNpwp(
            _l(
                "An NPWP has 15 digits (01.234.567.8-901.000) or 16 digits; this one has "
                "%(count)s.",
                count=len(digits),
            ),
            code="length",
        )
    if not digits.strip("0"):
        raise InvalidNpwp(
            _l("An NPWP of only zeros is not a real NPWP. Enter the organisation's own."),
            code="zeros",
        )
    return digits


def format_npwp(digits: str) -> str:
    """How an NPWP is printed: ``01.234.567.8-901.000`` for 15 digits, the 16-digit form as
    four groups of four (``0012 3456 7890 1000``)."""
    if len(digits) == 15:
        return f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}.{digits[8]}-{digits[9:12]}.{digits[12:]}"
    if len(digits) == 16:
        return " ".join(digits[i : i + 4] for i in range(0, 16, 4))
    return digits
