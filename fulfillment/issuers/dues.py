"""``dues_remittance``: pay the worker's BPJS Ketenagakerjaan dues for the months bought.

1. the worker's membership number (KPJ): known from an earlier registration, or obtained from
   the insurer's registration API (with the worker's consent to share their data with it);
2. the dues for the months bought, as priced at checkout, remitted through the insurer's API
   and recorded as a ``Remittance`` (it goes into that day's remittance file);
3. the worker's cover extended (``workers.coverage.extend_coverage``).

Each call has its own idempotency key (``{key}:register``, ``{key}:dues``), so a retry after
a lost answer gets the insurer's stored answer instead of paying twice. And in case the insurer
forgot the key, an attempt after one whose outcome was never recorded (``ctx.reconcile``) first
asks the insurer by the item's reference whether the registration or the payment happened,
and records it instead of paying again.
"""

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from core.dates import JAKARTA, add_months
from extensions import db
from fulfillment.issuers.base import (
    CannotIssue,
    IssueContext,
    Issued,
    RetryLater,
    partner_outcomes,
)
from fulfillment.issuers.endpoints import client_for
from fulfillment.issuers.partner_api import reconciled
from fulfillment.issuers.partner_client import PartnerClient
from fulfillment.models import InsurerMembership, Remittance
from vault import VaultError, decrypt, encrypt
from workers.coverage import extend_coverage
from workers.models import Coverage

COMPULSORY = ["JKK", "JKM"]


def dues_terms(ctx: IssueContext) -> tuple[list[str], list[str], int]:
    """``(months as YYYY-MM, programmes, amount_idr)`` for the part, from the checkout snapshot
    when it lists the months, else from the line. Raises CannotIssue for terms the insurer
    could never accept."""
    snapshot: dict[str, Any] = ctx.part.price_snapshot or {}
    month_lines = snapshot.get("months")
    if isinstance(month_lines, list) and month_lines:
        months = [str(line.get("month", ""))[:7] for line in month_lines if isinstance(line, dict)]
    else:
        first = ctx.line.first_month.replace(day=1)
        months = [f"{add_months(first, n):%Y-%m}" for n in range(ctx.line.months)]
    include_jht = snapshot.get("include_jht", ctx.offer.include_jht)
    programmes = [*COMPULSORY, "JHT"] if include_jht else list(COMPULSORY)
    amount = ctx.part.amount_idr
    if not 1 <= len(months) <= 12 or not _consecutive(months) or amount <= 0:
        raise CannotIssue("bad_terms", f"cannot remit {len(months)} month(s) for Rp{amount}")
    return months, programmes, amount


def _consecutive(months: list[str]) -> bool:
    try:
        index = [int(m[:4]) * 12 + int(m[5:7]) for m in months]
    except ValueError:
        return False
    return all(len(m) == 7 for m in months) and index == list(
        range(index[0], index[0] + len(index))
    )


class DuesRemittanceIssuer:
    def issue(self, ctx: IssueContext) -> Issued:
        months, programmes, amount = dues_terms(ctx)
        client = client_for(ctx.offer, "insurer")
        kpj = self._kpj(ctx, client)
        key = ctx.item.idempotency_key
        with partner_outcomes():
            found = body = reconciled(client, ctx, "/dues")
            if body is None:
                payload = {
                    "kpj": kpj,
                    "months": months,
                    "programmes": programmes,
                    "amount_idr": amount,
                    "reference": key,
                }
                body = client.post("/dues", payload, idempotency_key=f"{key}:dues").body
        return record_dues(
            ctx, kpj, (months, programmes, amount), body, reconciled=found is not None
        )

    def _kpj(self, ctx: IssueContext, client: PartnerClient) -> str:
        membership = db.session.scalar(
            select(InsurerMembership).where(
                InsurerMembership.worker_id == ctx.worker.id,
                InsurerMembership.partner_id == ctx.offer.partner_id,
            )
        )
        if membership is not None:
            return decrypt(membership.kpj_encrypted)
        payload = registration_payload(ctx)
        with partner_outcomes():
            body = reconciled(client, ctx, "/registrations")
            if body is None:
                key = f"{ctx.item.idempotency_key}:register"
                body = client.post("/registrations", payload, idempotency_key=key).body
        return record_membership(ctx, body)


def registration_payload(ctx: IssueContext) -> dict[str, str]:
    """What the insurer needs to register the worker; raises when the worker cannot be."""
    worker = ctx.worker
    if worker.insurer_consent_at is None:
        raise CannotIssue(
            "no_insurer_consent", "the worker has not agreed to share data with the insurer"
        )
    if not worker.nik_encrypted:
        raise CannotIssue("no_nik", "the worker has no NIK on file")
    try:
        nik = decrypt(worker.nik_encrypted)
    except VaultError:
        raise RetryLater("not_configured", "the worker's NIK cannot be decrypted") from None
    return {
        "nik": nik,
        "full_name": worker.full_name,
        "birth_date": worker.birth_date.isoformat(),
        "reference": ctx.item.idempotency_key,
    }


def record_membership(ctx: IssueContext, body: dict[str, Any], *, flush: bool = True) -> str:
    """The KPJ the insurer answered, saved as the worker's membership (a chunk flushes all
    its memberships together: ``flush=False``)."""
    kpj = body.get("kpj")
    if not isinstance(kpj, str) or not kpj:
        raise RetryLater("bad_answer", "the insurer answered without a KPJ")
    warnings = body.get("warnings")
    db.session.add(
        InsurerMembership(
            worker_id=ctx.worker.id,
            partner_id=ctx.offer.partner_id,
            kpj_encrypted=encrypt(kpj),
            registered_at=ctx.now,
            warnings=[str(w) for w in warnings] if isinstance(warnings, list) else [],
        )
    )
    if flush:
        db.session.flush()
    return kpj


def record_dues(
    ctx: IssueContext,
    kpj: str,
    terms: tuple[list[str], list[str], int],
    body: dict[str, Any],
    *,
    reconciled: bool = False,
    add: Callable[[Remittance], None] | None = None,
    cover: Callable[..., Coverage] = extend_coverage,
) -> Issued:
    """The insurer's acceptance of the part's dues, recorded: the remittance and the cover
    (``add`` collects the remittance and ``cover`` the cover instead, for a chunk that writes
    them all at once: ``workers.coverage.CoverageBatch``)."""
    months, programmes, amount = terms
    key = ctx.item.idempotency_key
    remittance_id = body.get("remittance_id")
    try:
        covered_until = date.fromisoformat(str(body.get("covered_until")))
    except ValueError:
        covered_until = None
    if body.get("status") != "accepted" or not remittance_id or covered_until is None:
        raise RetryLater("bad_answer", "the insurer answered without accepting the dues")
    accepted_at = _parse_time(body.get("accepted_at")) or ctx.now
    (add or db.session.add)(
        Remittance(
            item_id=ctx.item.id,
            partner_id=ctx.offer.partner_id,
            worker_id=ctx.worker.id,
            order_line_id=ctx.line.id,
            reference=key,
            partner_remittance_id=str(remittance_id),
            kpj_encrypted=encrypt(kpj),
            months=months,
            programmes=programmes,
            amount_idr=amount,
            covered_until=covered_until,
            accepted_at=accepted_at,
            business_date=accepted_at.astimezone(JAKARTA).date(),
        )
    )
    coverage = cover(
        ctx.worker,
        months=len(months),
        first_month=date.fromisoformat(f"{months[0]}-01"),
        order_line_id=ctx.line.id,
        programmes=programmes,
    )
    return Issued(
        partner_reference=str(remittance_id),
        delivery={
            "programmes": programmes,
            "months": months,
            "covered_until": coverage.ends_on.isoformat(),
        },
        secret={"kpj": kpj},
        event_data={
            "amount_idr": amount,
            "months": months,
            **({"reconciled": True} if reconciled else {}),
        },
    )


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
