"""What an issuer is given, what it answers, and how it says "later" or "never".

An issuer runs inside the item's locked transaction (in a savepoint: if it raises, whatever it
wrote is undone). It returns ``Issued`` or ``AwaitingPartner``, or raises ``RetryLater`` (may
work next time; counts an attempt) or ``CannotIssue`` (will never work: the part fails and is
refunded).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from bundles.models import Offer
from fulfillment.issuers.partner_client import PartnerRefused, PartnerUnavailable
from fulfillment.models import FulfillmentItem
from sponsorship.checkout.models import OrderLine, OrderLinePart
from workers.models import Worker


class RetryLater(Exception):
    def __init__(self, code: str, reason: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason or code
        self.retry_after = retry_after


class CannotIssue(Exception):
    def __init__(self, code: str, reason: str = "") -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason or code


@dataclass(frozen=True)
class Issued:
    partner_reference: str | None
    delivery: dict[str, Any] = field(default_factory=dict)  # shown to the worker as is
    secret: dict[str, Any] | None = None  # stored encrypted (activation code, KPJ)
    event_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AwaitingPartner:
    partner_reference: str
    event_data: dict[str, Any] = field(default_factory=dict)
    # The partner's batch that holds the part (its callback names it), and how long to wait
    # for that callback before asking (None: poll at FULFILLMENT_POLL_INTERVAL_S).
    batch_id: str | None = None
    poll_after_s: float | None = None


@dataclass(frozen=True)
class IssueContext:
    item: FulfillmentItem
    part: OrderLinePart
    line: OrderLine
    offer: Offer
    worker: Worker
    now: datetime
    # An earlier attempt may have called the partner without its outcome being recorded (the
    # worker died, the answer was lost): ask the partner by reference before calling again.
    reconcile: bool = False

    @property
    def units(self) -> int:
        """How many units the partner delivers (quantity × months for a monthly part), as
        priced at checkout; the part's quantity when the snapshot does not say."""
        units = (self.part.price_snapshot or {}).get("units")
        if isinstance(units, int) and not isinstance(units, bool) and units > 0:
            return units
        return max(1, self.part.quantity or 1)


def reference_path(prefix: str, reference: str) -> str:
    """``{prefix}/by-reference/{reference}``: where a partner answers "did this happen?"."""
    return f"{prefix}/by-reference/{quote(reference, safe='')}"


class Issuer(Protocol):
    def issue(self, ctx: IssueContext) -> Issued | AwaitingPartner: ...


@contextmanager
def partner_outcomes() -> Iterator[None]:
    """Turn a partner call's failure into the item's: refused → never, unavailable → later."""
    try:
        yield
    except PartnerRefused as error:
        raise CannotIssue(error.code, error.message) from None
    except PartnerUnavailable as error:
        raise RetryLater(error.code, error.message, retry_after=error.retry_after) from None
