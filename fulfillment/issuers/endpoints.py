"""Where an offer's partner API lives and the secret its requests are signed with.

The offer's own ``api_endpoint_url`` and encrypted ``api_secret_encrypted`` win. Without them,
development and tests (``PARTNER_SANDBOX_FALLBACK``) call the partner sandbox:
``PARTNER_SANDBOX_URL`` + ``PARTNER_API_PATHS[api]``, signed with ``PARTNER_SANDBOX_SECRETS``.
A missing endpoint is a configuration problem an admin can fix, so it means "later", not
"never".
"""

from flask import current_app

from bundles.models import Offer, OfferKind
from fulfillment.issuers.base import CannotIssue, RetryLater
from fulfillment.issuers.partner_client import PartnerClient
from vault import VaultError, decrypt

API_FOR_KIND = {
    OfferKind.DATA_QUOTA: "telco",
    OfferKind.HEALTH_APP: "health",
    OfferKind.INSURANCE_DUES: "insurer",
}


def api_for(offer: Offer) -> str:
    try:
        return API_FOR_KIND[OfferKind(offer.kind)]
    except (KeyError, ValueError):
        raise CannotIssue("unsupported_offer", f"no partner API for {offer.kind}") from None


def endpoint_for(offer: Offer, api: str) -> tuple[str, bytes]:
    """``(base_url, secret)`` for the offer's API; raises RetryLater when not configured."""
    config = current_app.config
    if offer.api_endpoint_url and offer.api_secret_encrypted:
        try:
            secret = decrypt(offer.api_secret_encrypted)
        except VaultError:
            raise RetryLater("not_configured", "the offer's API secret cannot be read") from None
        return offer.api_endpoint_url.rstrip("/"), secret.encode()
    if config.get("PARTNER_SANDBOX_FALLBACK"):
        secret = (config.get("PARTNER_SANDBOX_SECRETS") or {}).get(api)
        path = (config.get("PARTNER_API_PATHS") or {}).get(api)
        if secret and path is not None:
            return config["PARTNER_SANDBOX_URL"].rstrip("/") + path, secret.encode()
    raise RetryLater("not_configured", f"offer {offer.id} has no {api} API endpoint")


def client_for(offer: Offer, api: str) -> PartnerClient:
    config = current_app.config
    base_url, secret = endpoint_for(offer, api)
    return PartnerClient(
        base_url,
        secret,
        timeout_s=float(config["PARTNER_API_TIMEOUT_S"]),
        max_tries=int(config["PARTNER_API_MAX_TRIES"]),
        retry_base_s=float(config["PARTNER_API_RETRY_BASE_S"]),
    )
