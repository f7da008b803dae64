"""The platform in a few numbers, for the admin console's front page: two statements.

Cover stages come from ``sponsorship.continuity.ledger`` (the one place that knows them):

- *covered now*: workers whose stage is active or lapsing (their membership stands and their
  cover has not lapsed into unpaid months);
- *lapse rate*: of the workers ever covered, the share whose dues are now unpaid (arrears or
  ended).
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from bundles.models import Partner, PartnerStatus
from core.dates import jakarta_today
from extensions import db
from fulfillment.models import FulfillmentItem, ItemStatus
from sponsorship.checkout.models import Payment, PaymentStatus, Refund
from sponsorship.continuity.ledger import CoverageStage, stage_counts
from workers.models import Coverage


@dataclass(frozen=True)
class PlatformFigures:
    covered_now: int
    lapsing: int
    lapsed: int  # arrears or ended
    ever_covered: int
    months_funded: int
    paid_idr: int
    refunded_idr: int
    failed_items: int
    pending_partners: int

    @property
    def lapse_rate(self) -> float | None:
        """A fraction; None while nobody was ever covered (a rate of nothing is not 0 %)."""
        if not self.ever_covered:
            return None
        return self.lapsed / self.ever_covered


def platform_figures(today: date | None = None) -> PlatformFigures:
    stages = stage_counts(today or jakarta_today())
    row = db.session.execute(
        select(
            select(func.coalesce(func.sum(Coverage.months), 0))
            .where(Coverage.order_line_id.is_not(None))
            .scalar_subquery(),
            select(func.coalesce(func.sum(Payment.amount_idr), 0))
            .where(Payment.status == PaymentStatus.SUCCEEDED)
            .scalar_subquery(),
            select(func.coalesce(func.sum(Refund.amount_idr), 0)).scalar_subquery(),
            select(func.count())
            .select_from(FulfillmentItem)
            .where(FulfillmentItem.status == ItemStatus.FAILED)
            .scalar_subquery(),
            select(func.count())
            .select_from(Partner)
            .where(Partner.status == PartnerStatus.PENDING)
            .scalar_subquery(),
        )
    ).one()
    months, paid, refunded, failed, pending = (int(value or 0) for value in row)
    lapsed = stages[CoverageStage.ARREARS] + stages[CoverageStage.ENDED]
    return PlatformFigures(
        covered_now=stages[CoverageStage.ACTIVE] + stages[CoverageStage.LAPSING],
        lapsing=stages[CoverageStage.LAPSING],
        lapsed=lapsed,
        ever_covered=sum(stages.values()) - stages[CoverageStage.NEVER],
        months_funded=months,
        paid_idr=paid,
        refunded_idr=refunded,
        failed_items=failed,
        pending_partners=pending,
    )
