"""BPJS dues of a chunk as one collective remittance per insurer, with a result per member.

Members without a KPJ are registered first in one collective call (once per worker). For the
parts whose earlier call was never recorded the insurer is asked once per chunk, by reference,
what it already did (``…/collective/by-references``); what it did is recorded instead of done
again. Each accepted member is then recorded (remittance, cover); the remittances and the cover
(``workers.coverage.CoverageBatch``) are written together for the whole collective.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, tuple_

from core.dates import jakarta_today
from extensions import db
from fulfillment.batches.outcomes import Outcome, batch_key, each, item_failure, whole_call_failed
from fulfillment.issuers import CannotIssue, IssueContext, RetryLater
from fulfillment.issuers.dues import (
    dues_terms,
    record_dues,
    record_membership,
    registration_payload,
)
from fulfillment.issuers.endpoints import client_for
from fulfillment.issuers.partner_client import PartnerCallError, PartnerClient
from fulfillment.models import InsurerMembership, Remittance
from vault import decrypt
from workers.coverage import CoverageBatch

Terms = tuple[list[str], list[str], int]


def issue_dues(contexts: Sequence[IssueContext]) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    by_client: dict[str, list[IssueContext]] = defaultdict(list)
    clients: dict[str, PartnerClient] = {}
    for ctx in contexts:
        try:
            client = client_for(ctx.offer, "insurer")
        except (RetryLater, CannotIssue) as failure:
            outcomes[ctx.item.id] = failure
            continue
        clients[client.base_url] = client
        by_client[client.base_url].append(ctx)
    for base_url, group in by_client.items():
        outcomes.update(_Collective(clients[base_url], group).run())
    return outcomes


class _Collective:
    def __init__(self, client: PartnerClient, contexts: list[IssueContext]) -> None:
        self.client = client
        self.outcomes: dict[int, Outcome] = {}
        terms = each(contexts, dues_terms)
        self._fail({k: v for k, v in terms.items() if not isinstance(v, tuple)})
        self.terms: dict[int, Terms] = {k: v for k, v in terms.items() if isinstance(v, tuple)}
        self.contexts = [ctx for ctx in contexts if ctx.item.id in self.terms]
        self.remittances: list[Remittance] = []
        self.cover = CoverageBatch()

    def _fail(self, failures: dict[int, Any]) -> None:
        self.outcomes.update(failures)

    def _open(self) -> list[IssueContext]:
        return [ctx for ctx in self.contexts if ctx.item.id not in self.outcomes]

    def run(self) -> dict[int, Outcome]:
        try:
            kpjs = self._kpjs()
            done = self._already_done("dues", [c for c in self._open() if c.reconcile])
            answers = done | self._remit(
                [c for c in self._open() if c.item.idempotency_key not in done], kpjs
            )
        except PartnerCallError as error:
            self._fail({ctx.item.id: whole_call_failed(error) for ctx in self._open()})
            return self.outcomes
        for ctx in self._open():
            self._record(
                ctx,
                kpjs[ctx.worker.id],
                answers.get(ctx.item.idempotency_key),
                ctx.item.idempotency_key in done,
            )
        db.session.add_all(self.remittances)  # inserted together at the next flush
        self.cover.apply()  # the members' cover: one read, one lock, rows written together
        return self.outcomes

    def _kpjs(self) -> dict[int, str]:
        """Every open part's worker's KPJ: known, or registered now in one collective call."""
        pairs = {(ctx.worker.id, ctx.offer.partner_id) for ctx in self.contexts}
        kpjs = {
            worker_id: decrypt(sealed)
            for worker_id, sealed in db.session.execute(
                select(InsurerMembership.worker_id, InsurerMembership.kpj_encrypted).where(
                    tuple_(InsurerMembership.worker_id, InsurerMembership.partner_id).in_(pairs)
                )
            )
        }
        first: dict[int, IssueContext] = {}
        for ctx in self.contexts:
            if ctx.worker.id not in kpjs:
                first.setdefault(ctx.worker.id, ctx)
        payloads = each(list(first.values()), registration_payload)
        self._fail({k: v for k, v in payloads.items() if not isinstance(v, dict)})
        unknown = [ctx for ctx in first.values() if isinstance(payloads[ctx.item.id], dict)]
        done = self._already_done("registration", [c for c in unknown if c.reconcile])
        to_send = [ctx for ctx in unknown if ctx.item.idempotency_key not in done]
        answers = dict(done)
        if to_send:
            members = [payloads[ctx.item.id] for ctx in to_send]
            answer = self.client.post(
                "/collective/registrations",
                {"members": members},
                idempotency_key=batch_key("register", to_send),
            ).body
            answers |= _by_reference(answer)
        for ctx in unknown:
            result = answers.get(ctx.item.idempotency_key)
            failure = item_failure(result) if result else RetryLater("bad_answer", "left out")
            try:
                if failure is not None:
                    raise failure
                assert result is not None
                kpjs[ctx.worker.id] = record_membership(ctx, result, flush=False)
            except (RetryLater, CannotIssue) as error:
                self._fail({ctx.item.id: error})
        for ctx in self._open():  # the worker's other parts share its first part's fate
            if ctx.worker.id not in kpjs:
                self._fail({ctx.item.id: self.outcomes[first[ctx.worker.id].item.id]})
        return kpjs

    def _already_done(self, kind: str, contexts: list[IssueContext]) -> dict[str, dict[str, Any]]:
        """What the insurer did for these references (the reconcile, once per chunk)."""
        if not contexts:
            return {}
        references = ",".join(ctx.item.idempotency_key for ctx in contexts)
        found = self.client.get(
            f"/collective/by-references?kind={kind}&references={references}"
        ).body.get("found")
        return {ref: body for ref, body in (found or {}).items() if isinstance(body, dict)}

    def _remit(
        self, contexts: list[IssueContext], kpjs: dict[int, str]
    ) -> dict[str, dict[str, Any]]:
        if not contexts:
            return {}
        members = []
        for ctx in contexts:
            months, programmes, amount = self.terms[ctx.item.id]
            members.append(
                {
                    "kpj": kpjs[ctx.worker.id],
                    "months": months,
                    "programmes": programmes,
                    "amount_idr": amount,
                    "reference": ctx.item.idempotency_key,
                }
            )
        answer = self.client.post(
            "/collective/dues",
            {"period": f"{jakarta_today():%Y-%m}", "members": members},
            idempotency_key=batch_key("dues", contexts),
        ).body
        return _by_reference(answer)

    def _record(
        self, ctx: IssueContext, kpj: str, result: dict[str, Any] | None, reconciled: bool
    ) -> None:
        try:
            if result is None:
                raise RetryLater("bad_answer", "the insurer's answer left this member out")
            failure = item_failure(result)
            if failure is not None:
                raise failure
            # No savepoint: record_dues checks the answer before it writes anything, and what
            # it writes are plain rows flushed with the chunk's. Anything else it raises (a
            # CoverageError, a bug) crashes the chunk, whose items then go on one by one and
            # reconcile first (their notes were committed), so nothing is paid twice.
            self.outcomes[ctx.item.id] = record_dues(
                ctx,
                kpj,
                self.terms[ctx.item.id],
                result,
                reconciled=reconciled,
                add=self.remittances.append,
                cover=self.cover.add,
            )
        except (RetryLater, CannotIssue) as error:
            self.outcomes[ctx.item.id] = error


def _by_reference(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    results = answer.get("results") or []
    return {r["reference"]: r for r in results if isinstance(r, dict) and r.get("reference")}
