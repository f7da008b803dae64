"""What a worker sees on their home page: their cover (stage and days left, from the ledger),
who paid for it (the sponsor's name only when that sponsor chose to show it) with the
sponsor's message, and every bundle they were given, each with its thank-you state."""

from dataclasses import dataclass
from datetime import date

from flask_babel.speaklater import LazyString
from sqlalchemy import select

from accounts.models import User
from bundles.models import Bundle
from core.dates import jakarta_today
from extensions import db
from fulfillment.models import ClaimCode
from sponsorship.checkout.models import PAID_ORDER_STATUSES, Order, OrderLine
from sponsorship.continuity import ledger
from sponsorship.notes.models import SponsorNote, ThankYou
from workers.models import Coverage, Worker

HISTORY_LIMIT = 24  # two years of monthly bundles; keeps the page light


@dataclass(frozen=True)
class GivenBundle:
    line_id: int
    bundle_name: str
    first_month: date
    months: int
    sponsor_name: str | None  # None: shown as "a sponsor"
    message: str | None
    claim_id: int | None
    is_claimed: bool
    is_thanked: bool
    cover_ends_on: date | None


@dataclass(frozen=True)
class Home:
    stage: ledger.CoverageStage
    covered_until: date | None
    days_left: int
    bundles: list[GivenBundle]

    @property
    def stage_label(self) -> LazyString:
        return self.stage.label

    @property
    def is_covered(self) -> bool:
        return self.days_left > 0

    @property
    def current(self) -> list[GivenBundle]:
        """The bundles paying for the latest covered months (co-sponsors: more than one)."""
        if self.covered_until is None:
            return []
        return [b for b in self.bundles if b.cover_ends_on == self.covered_until]

    @property
    def unclaimed(self) -> int:
        return sum(1 for b in self.bundles if b.claim_id is not None and not b.is_claimed)


def home_for(worker: Worker, today: date | None = None) -> Home:
    today = today or jakarta_today()
    until = ledger.covered_until(worker.id)
    return Home(
        stage=ledger.stage_on(until, today),
        covered_until=until,
        days_left=max(0, ledger.days_left(until, today)),
        bundles=given_bundles(worker),
    )


def given_bundles(worker: Worker, *, limit: int | None = HISTORY_LIMIT) -> list[GivenBundle]:
    """The worker's lines of paid orders, newest first, in one query."""
    query = (
        select(
            OrderLine,
            Bundle.name,
            SponsorNote.show_name,
            SponsorNote.message,
            User.display_name,
            ClaimCode.id,
            ClaimCode.claimed_at,
            ThankYou.id,
            Coverage.ends_on,
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Bundle, Bundle.id == OrderLine.bundle_id)
        .join(User, User.id == Order.sponsor_id)
        .outerjoin(SponsorNote, SponsorNote.order_id == Order.id)
        .outerjoin(ClaimCode, ClaimCode.order_line_id == OrderLine.id)
        .outerjoin(ThankYou, ThankYou.order_line_id == OrderLine.id)
        .outerjoin(Coverage, Coverage.order_line_id == OrderLine.id)
        .where(OrderLine.worker_id == worker.id, Order.status.in_(PAID_ORDER_STATUSES))
        .order_by(OrderLine.first_month.desc(), OrderLine.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        GivenBundle(
            line_id=line.id,
            bundle_name=name,
            first_month=line.first_month,
            months=line.months,
            sponsor_name=(sponsor or None) if show_name else None,
            message=message,
            claim_id=claim_id,
            is_claimed=claimed_at is not None,
            is_thanked=thanks_id is not None,
            cover_ends_on=ends_on,
        )
        for line, name, show_name, message, sponsor, claim_id, claimed_at, thanks_id, ends_on in (
            db.session.execute(query)
        )
    ]
