"""Why a card was refused, in Payung's words.

Stripe's own texts ("Your card was declined.") are English and written for Stripe's merchants;
sponsors only ever see ours, chosen by Stripe's ``decline_code`` (or its error ``code`` when there
is none). A code we do not know gets the general message. Payments store the code
(``Payment.failure_message``) and pages translate it with the ``decline_text`` filter, so an
old or unknown reason still shows our text. The pay page gets the same texts for the errors
Stripe.js reports in the browser (``decline_messages``).
"""

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

GENERIC = "generic_decline"

_NOT_ENOUGH = _l("The card does not have enough funds. Use another card or try again later.")
_CANNOT_USE = _l("This card cannot be used. Please use another card.")
_BANK_SAID_NO = _l("Your bank refused this payment. Contact your bank or use another card.")
_CHECK_NUMBER = _l("The card number is not correct. Check it and try again.")
_CHECK_EXPIRY = _l("The expiry date is not correct. Check it and try again.")
_CHECK_CVC = _l("The security code (CVC) is not correct. Check it and try again.")
_TRY_AGAIN = _l("The card could not be processed just now. Please try again in a moment.")
_LIMIT = _l("This card has reached its limit. Use another card or contact your bank.")

MESSAGES: dict[str, LazyString] = {
    GENERIC: _l("The card was not accepted. Use another card or contact your bank."),
    "insufficient_funds": _NOT_ENOUGH,
    "lost_card": _CANNOT_USE,
    "stolen_card": _CANNOT_USE,
    "pickup_card": _CANNOT_USE,
    "restricted_card": _CANNOT_USE,
    "fraudulent": _CANNOT_USE,
    "merchant_blacklist": _CANNOT_USE,
    "security_violation": _CANNOT_USE,
    "expired_card": _l("The card has expired. Use another card."),
    "incorrect_cvc": _CHECK_CVC,
    "invalid_cvc": _CHECK_CVC,
    "incomplete_cvc": _CHECK_CVC,
    "incorrect_number": _CHECK_NUMBER,
    "invalid_number": _CHECK_NUMBER,
    "incomplete_number": _CHECK_NUMBER,
    "invalid_expiry_month": _CHECK_EXPIRY,
    "invalid_expiry_year": _CHECK_EXPIRY,
    "invalid_expiry_year_past": _CHECK_EXPIRY,
    "incomplete_expiry": _CHECK_EXPIRY,
    "incorrect_zip": _l("The postal code does not match the card. Check it and try again."),
    "processing_error": _TRY_AGAIN,
    "try_again_later": _TRY_AGAIN,
    "issuer_not_available": _TRY_AGAIN,
    "do_not_honor": _BANK_SAID_NO,
    "do_not_try_again": _BANK_SAID_NO,
    "card_declined": _BANK_SAID_NO,
    "call_issuer": _BANK_SAID_NO,
    "transaction_not_allowed": _BANK_SAID_NO,
    "not_permitted": _BANK_SAID_NO,
    "card_velocity_exceeded": _LIMIT,
    "withdrawal_count_limit_exceeded": _LIMIT,
    "card_not_supported": _l("This card cannot pay online in rupiah. Use another card."),
    "currency_not_supported": _l("This card cannot pay online in rupiah. Use another card."),
    "authentication_required": _l(
        "Your bank wants you to confirm this payment. Pay again and follow your bank's steps."
    ),
    "payment_intent_authentication_failure": _l(
        "Your bank could not confirm the payment (3-D Secure). Try again or use another card."
    ),
}


def decline_text(code: str | None) -> LazyString:
    """Our message for a decline code; the general one for an unknown or missing code."""
    return MESSAGES.get((code or "").strip(), MESSAGES[GENERIC])


def decline_messages() -> dict[str, str]:
    """Every message by code, in the current language, for the pay page's script."""
    return {code: str(message) for code, message in MESSAGES.items()}
