"""One base for the errors a person can act on (issue 14, item 5): every package's refusal
subclasses ``core.errors.DomainError`` under its old name, and keeps what it carried —
``message`` for people, ``field`` and ``code`` where it had them, and the same ``str()``
(a fixed text where the message must not reach logs)."""

import pytest
from flask_babel import lazy_gettext as _l

from bundles.catalog import BundleError
from bundles.dues.data import DuesDataError
from bundles.partners.onboarding import PartnerError
from bundles.pricing import PricingError
from core.errors import DomainError
from core.identity import IdentityError
from core.signing import SignatureError
from fulfillment.issuers.partner_client import PartnerCallError
from fulfillment.operations.actions import ActionRefused
from partnerhome.api.keys import ApiKeyError
from sponsorship.checkout.cart import CartError
from sponsorship.checkout.services import CheckoutError
from sponsorship.continuity.renewals.services import RenewalError
from sponsorship.notes.sponsor_notes import NoteError
from sponsorship.payments.gateway_types import PaymentDeclined
from sponsorship.payments.services import PaymentError
from workerhome.self_service import SelfServiceError
from workers.photos import InvalidPhoto
from workers.registry import NikTaken, RegistryError

SIMPLE = [CartError, CheckoutError, InvalidPhoto, NoteError, PaymentError, RenewalError]
SIMPLE += [RegistryError, SelfServiceError]


@pytest.mark.parametrize("error_class", SIMPLE, ids=lambda cls: cls.__name__)
def test_a_plain_refusal_carries_its_message_and_no_field(app, error_class):
    message = _l("Choose at least one worker.")
    error = error_class(message)
    assert isinstance(error, DomainError)
    assert error.message is message
    assert error.args == (message,)
    assert (error.field, error.code) == (None, None)


def test_the_errors_that_were_value_errors_still_are(app):
    for error_class in (IdentityError, InvalidPhoto, NoteError, SelfServiceError):
        with pytest.raises(ValueError):
            raise error_class(
                _l("No."), **({"code": "nik"} if error_class is IdentityError else {})
            )


def test_a_subclass_keeps_the_field_it_names(app):
    error = NikTaken(_l("This NIK is already registered."))
    assert isinstance(error, RegistryError)
    assert error.field == "nik"


def test_logs_get_a_fixed_text_where_the_message_stayed_out_of_them(app):
    message = _l("Only PDF files.")
    assert str(PartnerError(message)) == "partner refused"
    assert str(ApiKeyError(message)) == "api key refused"
    assert str(BundleError(message)) == "bundle refused"
    assert str(BundleError(message, field="name")) == "name"
    assert BundleError(message, field="name").field == "name"
    assert str(DuesDataError(message, field="percent")) == "percent"
    assert str(DuesDataError(message)) == "dues data refused"
    assert str(ActionRefused(message)) == "Only PDF files."
    for error in (PartnerError(message), DuesDataError(message), ActionRefused(message)):
        assert error.message is message


def test_the_coded_errors_keep_their_code(app):
    priced = PricingError("operator", _l("Telkomsel only."))
    assert (str(priced), priced.code, str(priced.message)) == (
        "operator",
        "operator",
        "Telkomsel only.",
    )
    identity = IdentityError(_l("Wrong NIK."), code="nik_length")
    assert (identity.code, str(identity)) == ("nik_length", "Wrong NIK.")
    signature = SignatureError("stale", "too old")
    assert (signature.code, signature.message, str(signature)) == ("stale", "too old", "too old")
    call = PartnerCallError("busy", "try later", status=503, retry_after=2.0)
    assert (str(call), call.code, call.message, call.status) == (
        "busy: try later",
        "busy",
        "try later",
        503,
    )
    declined = PaymentDeclined("Card declined", "insufficient_funds", "pi_1")
    assert (declined.message, declined.decline_code, str(declined)) == (
        "Card declined",
        "insufficient_funds",
        "Card declined",
    )
