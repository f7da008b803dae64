"""``code_pool``: hand the worker voucher codes the partner uploaded, one per unit.

``bundles.codes.pools.issue_pool_code`` claims a code with a single ``UPDATE … RETURNING`` (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL), so parallel issuers never get the same one; the unique
``issued_codes.pool_code_id`` is the last line of defence. Codes held for the item's order
(reserved when it was placed) are drawn first. An empty pool may be refilled (the
partner was alerted), so it means "later" until the attempts run out.
"""

from bundles.codes.pools import issue_pool_code
from extensions import db
from fulfillment.issuers.base import IssueContext, Issued, RetryLater
from fulfillment.models import IssuedCode


class CodePoolIssuer:
    def issue(self, ctx: IssueContext) -> Issued:
        codes = []
        for _ in range(ctx.units):
            code = issue_pool_code(ctx.offer, order_id=ctx.line.order_id)
            if code is None:
                # The savepoint around the issuer puts back any code taken for earlier units.
                raise RetryLater("out_of_stock", f"offer {ctx.offer.id} has no code left")
            codes.append(code)
        for code in codes:
            db.session.add(IssuedCode(item_id=ctx.item.id, pool_code_id=code.id))
        expiries = sorted(c.expires_on.isoformat() for c in codes if c.expires_on)
        return Issued(
            partner_reference=None,
            delivery={"codes": len(codes), "expires_on": expiries[0] if expiries else None},
            event_data={"pool_code_ids": [c.id for c in codes]},
        )
