"""Partner API: delivered units, settlement, and worker enrolment for agents."""

from dataclasses import asdict
from typing import Any

import marshmallow as ma
from flask_babel import force_locale

from bundles.models import FulfillmentMethod
from extensions import db
from partnerhome import stats as partner_stats
from partnerhome.api.schemas import (
    EnrolmentResultSchema,
    EnrolmentSchema,
    FulfillmentItemPageSchema,
    PageQuerySchema,
    SettlementQuerySchema,
    SettlementSchema,
)
from partnerhome.api.support import (
    ApiError,
    api_bp,
    api_key_required,
    api_locale,
    current_partner,
    errors,
    spend_identity_budget,
)
from partnerhome.filters import code_hint
from workers.enrolment import bulk as enrolment
from workers.models import EnrolmentSource


@api_bp.route("/fulfillment-items", methods=["GET"])
@api_key_required
@api_bp.arguments(PageQuerySchema, location="query", unknown=ma.RAISE)
@api_bp.response(200, FulfillmentItemPageSchema)
@errors(422)
def fulfillment_items(query: dict[str, Any]) -> Any:
    """Units delivered from this partner's offers, newest first (issued pool codes for now)."""
    page = partner_stats.issued_codes(
        current_partner(),
        page=query["page"],
        per_page=query["per_page"],
        offer_id=query.get("offer_id"),
    )
    items = [
        {
            "id": code.id,
            "offer_id": code.offer_id,
            "method": str(FulfillmentMethod.CODE_POOL),
            "status": str(code.status),
            "code_hint": code_hint(code.code_encrypted),
            "issued_at": code.issued_at,
            "expires_on": code.expires_on,
        }
        for code in page.items
    ]
    db.session.commit()
    return {"items": items, "page": page.page, "per_page": page.per_page, "total": page.total}


@api_bp.route("/settlement", methods=["GET"])
@api_key_required
@api_bp.arguments(SettlementQuerySchema, location="query", unknown=ma.RAISE)
@api_bp.response(200, SettlementSchema)
@errors(422)
def settlement(query: dict[str, Any]) -> Any:
    """What Payung owes this partner for one month: sales less refunds."""
    period = partner_stats.Period.parse(query.get("period"))
    statement = partner_stats.settlement_statement(current_partner(), period, locale="en")
    db.session.commit()
    return {
        "period": period.key,
        "sales_idr": statement.sales_idr,
        "refunds_idr": statement.refunds_idr,
        "owed_idr": statement.owed_idr,
        "lines": [asdict(line) for line in statement.lines],
    }


@api_bp.route("/workers", methods=["POST"], endpoint="enrol_workers")
@api_key_required
@api_bp.arguments(EnrolmentSchema)
@api_bp.response(200, EnrolmentResultSchema)
@errors(422)
def enrol_workers_view(body: dict[str, Any]) -> Any:
    """Agents and cooperatives register workers with the consent they collected (the same
    rules as the CSV import: each row is judged alone; a worker you already sent is skipped).
    Only approved agent partners may call it.

    The answer tells you only about your own file and the workers you sent: a row for a
    person already in Payung through someone else is answered like any new worker (that
    person is asked by SMS instead), so `worker_id` is always null. Every row counts
    against the key's budget of rows per period (`429 identity_limit`, with `Retry-After`),
    `check_only` rows too."""
    spend_identity_budget(len(body["workers"]))
    rows = [
        {
            name: ("ya" if value else "tidak") if isinstance(value, bool) else str(value)
            for name, value in row.items()
        }
        for row in body["workers"]
    ]
    try:
        outcomes = enrolment.enrol_workers(
            rows,
            agent_partner=current_partner(),
            source=EnrolmentSource.AGENT_API,
            check_only=body["check_only"],
        )
    except enrolment.NotAnApprovedAgent as refused:
        raise ApiError(403, "not_an_agent", refused.message) from None
    except enrolment.TooManyRows as refused:
        raise ApiError(422, "too_many_rows", refused.message) from None
    db.session.commit()
    with force_locale(api_locale()):
        results = [
            {
                "row": outcome.row_number,
                "status": str(outcome.status),
                "worker_id": None,  # never: it would tell a new worker from a known one
                "masked_phone": outcome.masked_phone,
                "messages": [str(message) for message in outcome.messages],
            }
            for outcome in outcomes
        ]
    counts = {status: 0 for status in ("imported", "checked", "skipped", "refused")}
    for result in results:
        counts[result["status"]] += 1
    return counts | {"rows": results}
