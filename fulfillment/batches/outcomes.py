"""What a batch call answers for each of its items, and which partners take batches.

A partner takes batches when its API is listed in ``PARTNER_BATCH_APIS`` (a capability of the
partner, so off unless configured: ``["telco", "insurer"]`` for the sandbox). A batch answer
has a result per item; an item's own error becomes that item's ``RetryLater`` (the partner
says "try again") or ``CannotIssue`` (anything else), and a failure of the whole call becomes
every item's, as for a single call. The Idempotency-Key of a batch is derived from its items'
keys, so the same items sent again replay the partner's stored answer.
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from flask import current_app

from fulfillment.issuers import AwaitingPartner, CannotIssue, IssueContext, Issued, RetryLater
from fulfillment.issuers.partner_client import PartnerRefused, PartnerUnavailable

Outcome = Issued | AwaitingPartner | RetryLater | CannotIssue
T = TypeVar("T")
TRANSIENT_ITEM_ERRORS = {"partner_unavailable", "internal_error", "rate_limited"}


def takes_batches(api: str) -> bool:
    return api in (current_app.config.get("PARTNER_BATCH_APIS") or ())


def batch_key(kind: str, contexts: Iterable[IssueContext]) -> str:
    keys = sorted(ctx.item.idempotency_key for ctx in contexts)
    return f"batch:{kind}:" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:40]


def item_failure(result: dict[str, Any]) -> RetryLater | CannotIssue | None:
    """The item's own error in a batch answer, or None when it has none."""
    error = result.get("error")
    if not isinstance(error, dict):
        return None
    code = str(error.get("code") or "item_failed")
    message = str(error.get("message") or code)
    if code in TRANSIENT_ITEM_ERRORS:
        return RetryLater(code, message)
    return CannotIssue(code, message)


def whole_call_failed(error: Exception) -> RetryLater | CannotIssue:
    if isinstance(error, PartnerRefused):
        return CannotIssue(error.code, error.message)
    assert isinstance(error, PartnerUnavailable)
    return RetryLater(error.code, error.message, retry_after=error.retry_after)


def each(
    contexts: Sequence[IssueContext], outcome: Callable[[IssueContext], T]
) -> dict[int, T | RetryLater | CannotIssue]:
    """``outcome(ctx)`` per item; what it raises (RetryLater, CannotIssue) is that item's."""
    found: dict[int, T | RetryLater | CannotIssue] = {}
    for ctx in contexts:
        try:
            found[ctx.item.id] = outcome(ctx)
        except (RetryLater, CannotIssue) as failure:
            found[ctx.item.id] = failure
    return found
