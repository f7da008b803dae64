"""Hiding secrets in what admins read: phone numbers, and any code inside a message body
(sign-in codes, bundle claim codes, vouchers, KPJ numbers, invitation link tokens).

The rules err on the safe side: whatever looks like a code is hidden, except order references
(``PY-XXXXXXXX``), which admins need to follow a message to its order, dates and rupiah
amounts.
"""

import re

from core.identity import InvalidPhone, mask_phone

HIDDEN = "••••"
_ORDER_REFERENCE = re.compile(r"PY-[0-9A-Z]{8}")
# Claim codes: ZZZZ-ZZZZ-ZZZZ-ZZZZ-Z.
_CLAIM_CODE = re.compile(r"\b[0-9A-Za-z]{4}(?:-[0-9A-Za-z]{4}){3}-[0-9A-Za-z*~$=]")
# A word mixing letters and digits (vouchers, tokens, KPJ with a prefix).
_MIXED = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{5,}")
# Six digits or more, maybe grouped (sign-in codes, KPJ, NIK, phone numbers).
_DIGITS = re.compile(r"(?<!Rp)(?<![\d.])\+?\d(?:[\s.-]?\d){5,}")
# What is not a secret although it has many digits: dates.
_DATE = re.compile(r"\d{1,2}-\d{1,2}-\d{4}|\d{4}-\d{2}-\d{2}")
# Long URL-safe runs (invitation and link tokens) even without a digit.
_LONG_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,}")


def _hide(match: re.Match[str]) -> str:
    text = match.group(0)
    return text if _ORDER_REFERENCE.fullmatch(text) or _DATE.fullmatch(text) else HIDDEN


def mask_secrets(body: str) -> str:
    """The body with every code-like run replaced by ``••••``."""
    body = _CLAIM_CODE.sub(HIDDEN, body)
    body = _MIXED.sub(_hide, body)
    body = _DIGITS.sub(_hide, body)
    return _LONG_TOKEN.sub(HIDDEN, body)


def mask_recipient(recipient: str) -> str:
    """A phone number as ``+62 812-••••-789``; an email address as it is."""
    if "@" in recipient:
        return recipient
    try:
        return mask_phone(recipient)
    except InvalidPhone:
        digits = re.sub(r"\D", "", recipient)
        return f"{HIDDEN}{digits[-3:]}" if len(digits) > 3 else HIDDEN
