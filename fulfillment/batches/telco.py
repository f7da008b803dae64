"""Data top-ups of a chunk through the telco's bulk endpoints.

Polls first: the chunk's top-ups already at the telco are polled in one ``GET
/topups/batch-status``. Then, for the parts whose earlier call was never recorded, one ``GET
/topups/by-references`` (the reconcile, once per chunk): what the telco already made is taken
as the answer. The rest go in one ``POST /topups/batch`` with a result per number.

With ``PARTNER_CALLBACK_BASE_URL`` set, the bulk call names our callback
(``/api/callbacks/telco/batch``): the telco posts the whole batch's results once it is done
(``fulfillment.partners.batch_callbacks``), and the parts are polled, as one batch, only if that
callback has not come within ``FULFILLMENT_CALLBACK_WAIT_S``.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from flask import current_app

from fulfillment.batches.outcomes import Outcome, batch_key, each, item_failure, whole_call_failed
from fulfillment.issuers import AwaitingPartner, CannotIssue, IssueContext, RetryLater
from fulfillment.issuers.endpoints import client_for
from fulfillment.issuers.partner_api import topup_outcome, topup_payload
from fulfillment.issuers.partner_client import PartnerCallError, PartnerClient


def issue_topups(contexts: Sequence[IssueContext]) -> dict[int, Outcome]:
    by_client: dict[str, list[IssueContext]] = defaultdict(list)
    clients: dict[str, PartnerClient] = {}
    outcomes: dict[int, Outcome] = {}
    for ctx in contexts:
        try:
            client = client_for(ctx.offer, "telco")
        except (RetryLater, CannotIssue) as failure:
            outcomes[ctx.item.id] = failure
            continue
        identity = client.base_url  # one partner, one batch
        clients[identity] = client
        by_client[identity].append(ctx)
    for identity, group in by_client.items():
        outcomes.update(_issue(clients[identity], group))
    return outcomes


def _issue(client: PartnerClient, contexts: list[IssueContext]) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    polls = [ctx for ctx in contexts if ctx.item.partner_reference]
    fresh = [ctx for ctx in contexts if not ctx.item.partner_reference]
    if polls:
        outcomes.update(_poll(client, polls))
    if any(ctx.reconcile for ctx in fresh):
        try:
            found = _already_made(client, [ctx for ctx in fresh if ctx.reconcile])
        except PartnerCallError as error:
            return outcomes | {ctx.item.id: whole_call_failed(error) for ctx in fresh}
        made = [ctx for ctx in fresh if ctx.item.idempotency_key in found]
        outcomes.update(
            each(made, lambda ctx: _made(found[ctx.item.idempotency_key], reconciled=True))
        )
        fresh = [ctx for ctx in fresh if ctx.item.idempotency_key not in found]
    payloads = each(fresh, topup_payload)
    ready = [ctx for ctx in fresh if isinstance(payloads[ctx.item.id], dict)]
    outcomes.update({k: v for k, v in payloads.items() if not isinstance(v, dict)})
    if ready:
        outcomes.update(_send(client, ready, [payloads[ctx.item.id] for ctx in ready]))
    return outcomes


def _poll(client: PartnerClient, polls: list[IssueContext]) -> dict[int, Outcome]:
    ids = ",".join(str(ctx.item.partner_reference) for ctx in polls)
    try:
        results = client.get(f"/topups/batch-status?ids={ids}").body.get("results") or []
    except PartnerCallError as error:
        return {ctx.item.id: whole_call_failed(error) for ctx in polls}
    by_id = {r.get("topup_id"): r for r in results if isinstance(r, dict)}
    return each(polls, lambda ctx: _result(by_id.get(ctx.item.partner_reference)))


def _already_made(client: PartnerClient, contexts: list[IssueContext]) -> dict[str, Any]:
    references = ",".join(ctx.item.idempotency_key for ctx in contexts)
    found = client.get(f"/topups/by-references?references={references}").body.get("found")
    return {ref: body for ref, body in (found or {}).items() if isinstance(body, dict)}


def _send(
    client: PartnerClient, contexts: list[IssueContext], payloads: list[Any]
) -> dict[int, Outcome]:
    body: dict[str, Any] = {"topups": payloads}
    callback_url = batch_callback_url()
    if callback_url:
        body["callback_url"] = callback_url
    try:
        answer = client.post("/topups/batch", body, idempotency_key=batch_key("topup", contexts))
    except PartnerCallError as error:
        return {ctx.item.id: whole_call_failed(error) for ctx in contexts}
    results = answer.body.get("results") or []
    batch_id = answer.body.get("batch_id")
    by_reference = {
        r.get("reference"): r | {"batch_id": batch_id} for r in results if isinstance(r, dict)
    }
    return each(contexts, lambda ctx: _result(by_reference.get(ctx.item.idempotency_key)))


def batch_callback_url() -> str | None:
    base = current_app.config.get("PARTNER_CALLBACK_BASE_URL")
    return base.rstrip("/") + "/api/callbacks/telco/batch" if base else None


def _result(result: dict[str, Any] | None) -> Outcome:
    if result is None:
        raise RetryLater("bad_answer", "the telco's batch answer left this item out")
    failure = item_failure(result)
    if failure is not None:
        raise failure
    return _made(result)


def _made(body: dict[str, Any], *, reconciled: bool = False) -> Outcome:
    """A top-up the telco made: pending ones wait for their batch's callback (when we asked
    for one) and are polled only if it does not come in time."""
    outcome = topup_outcome(body, reconciled=reconciled)
    batch_id = body.get("batch_id")
    if not isinstance(outcome, AwaitingPartner) or not isinstance(batch_id, str) or not batch_id:
        return outcome
    wait = float(current_app.config["FULFILLMENT_CALLBACK_WAIT_S"])
    return replace(outcome, batch_id=batch_id, poll_after_s=wait if batch_callback_url() else None)
