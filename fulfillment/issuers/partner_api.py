"""``partner_api``: a signed call to the partner — a data top-up at the telco, a premium
activation at the health app.

The item's idempotency key (saved when the order was paid) is sent on every try, suffixed per
kind of call. A top-up answers "pending": the item then waits for the telco's callback or
polls ``GET /topups/<id>`` until the top-up is final. When an earlier attempt may have called
the partner without recording the outcome (``ctx.reconcile``), the partner is first asked by
the item's reference (``GET …/by-reference/<key>``) and what it did is recorded instead of
calling again: a partner that forgot the key would otherwise act twice.
"""

from typing import Any

from flask import current_app

from bundles.models import Operator
from core.identity import is_telkomsel
from fulfillment.issuers.base import (
    AwaitingPartner,
    CannotIssue,
    IssueContext,
    Issued,
    RetryLater,
    partner_outcomes,
    reference_path,
)
from fulfillment.issuers.endpoints import api_for, client_for
from fulfillment.issuers.partner_client import PartnerClient
from vault import digest

MAX_VALIDITY_DAYS = 365
MAX_PREMIUM_DAYS = 1095
MAX_MONTHS = 36


def member_ref(worker_id: int) -> str:
    """The worker as partners know them: a keyed hash, never a phone number or a NIK."""
    return "w-" + digest(str(worker_id), purpose="partner_member_ref")[:30]


class PartnerApiIssuer:
    def issue(self, ctx: IssueContext) -> Issued | AwaitingPartner:
        api = api_for(ctx.offer)
        if api == "telco":
            return TelcoTopup().issue(ctx)
        if api == "health":
            return HealthActivation().issue(ctx)
        raise CannotIssue("unsupported_offer", f"{ctx.offer.kind} is not issued by partner API")


class TelcoTopup:
    def issue(self, ctx: IssueContext) -> Issued | AwaitingPartner:
        client = client_for(ctx.offer, "telco")
        if ctx.item.partner_reference:
            with partner_outcomes():
                answer = client.get(f"/topups/{ctx.item.partner_reference}")
            return topup_outcome(answer.body)
        payload = topup_payload(ctx)
        callback_base = current_app.config.get("PARTNER_CALLBACK_BASE_URL")
        if callback_base:
            payload["callback_url"] = callback_base.rstrip("/") + "/api/callbacks/telco"
        with partner_outcomes():
            found = reconciled(client, ctx, "/topups")
            if found is not None:
                return topup_outcome(found, reconciled=True)
            answer = client.post(
                "/topups", payload, idempotency_key=f"{ctx.item.idempotency_key}:topup"
            )
        return topup_outcome(answer.body)


def topup_payload(ctx: IssueContext) -> dict[str, Any]:
    """The top-up the part asks the telco for (single call or one line of a bulk call)."""
    offer, phone = ctx.offer, ctx.worker.phone_e164
    if offer.operator == Operator.TELKOMSEL and not is_telkomsel(phone):
        raise CannotIssue("operator_not_supported", "the worker's number is not Telkomsel")
    if not offer.quota_mb:
        raise CannotIssue("offer_incomplete", f"offer {offer.id} has no quota size")
    return {
        "msisdn": phone,
        "package_code": getattr(offer, "package_code", None) or f"PAYUNG-{offer.id}",
        "quota_mb": offer.quota_mb * ctx.units,
        "validity_days": min(MAX_VALIDITY_DAYS, (offer.validity_days or 30) * ctx.units),
        "reference": ctx.item.idempotency_key,
    }


def reconciled(client: PartnerClient, ctx: IssueContext, prefix: str) -> dict[str, Any] | None:
    """What the partner did for this item's reference, if an earlier attempt may have called it
    (``ctx.reconcile``) and the partner has it; None means: call it now."""
    if not ctx.reconcile:
        return None
    found = client.lookup(reference_path(prefix, ctx.item.idempotency_key))
    return found.body if found is not None else None


def topup_outcome(body: dict[str, Any], *, reconciled: bool = False) -> Issued | AwaitingPartner:
    """A top-up's JSON (answer, poll, callback or lookup) as the item's outcome."""
    topup_id = body.get("topup_id")
    if not isinstance(topup_id, str) or not topup_id:
        raise RetryLater("bad_answer", "the telco answered without a topup_id")
    status = body.get("status")
    event_data = {"reconciled": True} if reconciled else {}
    if status == "success":
        return Issued(
            partner_reference=topup_id,
            delivery={
                "serial_number": body.get("serial_number"),
                "quota_mb": body.get("quota_mb"),
                "validity_days": body.get("validity_days"),
                "completed_at": body.get("completed_at"),
            },
            event_data=event_data,
        )
    if status == "failed":
        raise CannotIssue(str(body.get("failure_code") or "topup_failed"), "the top-up failed")
    if status == "pending":
        return AwaitingPartner(partner_reference=topup_id, event_data=event_data)
    raise RetryLater("bad_answer", f"unknown top-up status {status!r}")


class HealthActivation:
    def issue(self, ctx: IssueContext) -> Issued:
        client = client_for(ctx.offer, "health")
        offer = ctx.offer
        payload: dict[str, Any] = {
            "voucher_plan": getattr(offer, "package_code", None) or f"PAYUNG-{offer.id}",
            "reference": ctx.item.idempotency_key,
            "member_ref": member_ref(ctx.worker.id),
        }
        if offer.premium_days:
            payload["premium_days"] = min(MAX_PREMIUM_DAYS, offer.premium_days * ctx.units)
        else:
            payload["months"] = min(MAX_MONTHS, ctx.line.months if offer.is_monthly else 1)
        with partner_outcomes():
            found = body = reconciled(client, ctx, "/activations")
            if body is None:
                key = f"{ctx.item.idempotency_key}:activation"
                body = client.post("/activations", payload, idempotency_key=key).body
        code, activation_id = body.get("activation_code"), body.get("activation_id")
        if body.get("status") != "active" or not code or not activation_id:
            raise RetryLater("bad_answer", "the health app answered without an activation")
        return Issued(
            partner_reference=str(activation_id),
            delivery={
                "activated_at": body.get("activated_at"),
                "expires_at": body.get("expires_at"),
            },
            secret={"activation_code": code, "activate_url": body.get("activate_url")},
            event_data={"reconciled": True} if found is not None else {},
        )
