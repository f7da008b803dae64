"""Issuers, one per fulfillment method: ``code_pool``, ``partner_api``, ``dues_remittance``."""

from bundles.models import FulfillmentMethod
from fulfillment.issuers.base import (
    AwaitingPartner,
    CannotIssue,
    IssueContext,
    Issued,
    Issuer,
    RetryLater,
)
from fulfillment.issuers.code_pool import CodePoolIssuer
from fulfillment.issuers.dues import DuesRemittanceIssuer
from fulfillment.issuers.partner_api import PartnerApiIssuer

ISSUERS: dict[str, Issuer] = {
    FulfillmentMethod.CODE_POOL: CodePoolIssuer(),
    FulfillmentMethod.PARTNER_API: PartnerApiIssuer(),
    FulfillmentMethod.DUES_REMITTANCE: DuesRemittanceIssuer(),
}


def issuer_for(method: str) -> Issuer:
    try:
        return ISSUERS[method]
    except KeyError:
        raise CannotIssue("unknown_method", f"no issuer for {method!r}") from None


__all__ = [
    "AwaitingPartner",
    "CannotIssue",
    "IssueContext",
    "Issued",
    "Issuer",
    "RetryLater",
    "issuer_for",
]
