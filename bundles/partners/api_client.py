"""The "test connection" call to a partner's API: a signed ``GET {endpoint}/ping``.

The request is signed exactly as the fulfillment issuers sign theirs (``core.signing``:
``X-Payung-Timestamp`` and ``X-Payung-Signature: v1=HMAC-SHA256(secret, "{ts}.{body}")`` over an
empty body), so a green check means the address, the network path and the shared secret all work.
"""

from dataclasses import dataclass

import requests
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from bundles.models import FulfillmentMethod, Offer
from bundles.offers import endpoint_problem
from core.signing import signed_headers
from extensions import db, utcnow
from vault import VaultError, decrypt

PING_PATH = "/ping"


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    code: str  # ok, not_configured, refused_address, unreachable, timeout, signature, http_error
    message: LazyString
    status: int | None = None


def ping_url(endpoint_url: str) -> str:
    return endpoint_url.rstrip("/") + PING_PATH


def _outcome(response: requests.Response) -> ConnectionCheck:
    status = response.status_code
    if 200 <= status < 300:
        return ConnectionCheck(
            True, "ok", _l("Connected: your API answered and accepted our signature."), status
        )
    if status in (401, 403):
        return ConnectionCheck(
            False,
            "signature",
            _l("Your API answered but refused our signature: check the signing secret."),
            status,
        )
    if status == 404:
        return ConnectionCheck(
            False,
            "http_error",
            _l("Your server answered, but has no ping endpoint at %(url)s.", url=response.url),
            status,
        )
    return ConnectionCheck(
        False, "http_error", _l("Your API answered with HTTP %(status)s.", status=status), status
    )


def check_partner_api(offer: Offer) -> ConnectionCheck:
    """Call the offer's ping endpoint and record the outcome on the offer (flushes)."""
    if (
        offer.fulfillment_method != FulfillmentMethod.PARTNER_API
        or not offer.api_endpoint_url
        or not offer.api_secret_encrypted
    ):
        return ConnectionCheck(
            False, "not_configured", _l("Save the API address and signing secret first.")
        )
    problem = endpoint_problem(offer.api_endpoint_url)
    if problem is not None:
        result = ConnectionCheck(False, "refused_address", problem)
    else:
        try:
            secret = decrypt(offer.api_secret_encrypted).encode()
        except VaultError:
            return ConnectionCheck(
                False, "not_configured", _l("The saved secret cannot be read: enter it again.")
            )
        result = _call(ping_url(offer.api_endpoint_url), secret)
    offer.api_checked_at = utcnow()
    offer.api_check_ok = result.ok
    db.session.flush()
    return result


def _call(url: str, secret: bytes) -> ConnectionCheck:
    headers = signed_headers(secret, b"")
    try:
        response = requests.get(
            url,
            headers=headers,
            timeout=current_app.config["PARTNER_API_TIMEOUT_S"],
            allow_redirects=False,  # a redirect could point anywhere
        )
    except requests.Timeout:
        return ConnectionCheck(False, "timeout", _l("Your API did not answer in time."))
    except requests.RequestException:
        return ConnectionCheck(
            False, "unreachable", _l("Could not reach your API at %(url)s.", url=url)
        )
    return _outcome(response)
