"""What each bundle would cost for a directory selection, shown where the sponsor picks the
bundle and the months: the price per worker per month and the total for the whole selection
for 1, 3, 6 and 12 months.

The figures come from ``bundles.pricing.quote_bundle`` (the cart prices each line the same
way), in whole rupiah, from the first month a purchase today can pay, for the payer kind of
the sponsor's cart. Transport workers get the PP 50/2025 discount, so a selection is priced
per kind of worker. The cart still shows the exact price of every line (a covered worker's
months start after the cover) before anything is paid. Three statements per page."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from accounts.models import User
from bundles.dues.data import load_dues_tables
from bundles.dues.services import PAYABLE_MONTHS
from bundles.models import Bundle
from bundles.pricing import PricingError, default_first_month, quote_bundle, worker_is_transport
from extensions import db
from sponsorship.checkout.cart import existing_cart, payer_kind_for
from workers.models import Worker, WorkerSelection, WorkerSelectionItem


@dataclass(frozen=True, slots=True)
class BundlePrice:
    """One bundle for one selection. ``per_month_idr``: one worker, one month (a worker who
    is not in transport; ``transport_per_month_idr`` when the selection has transport workers
    and their price differs). ``totals``: months → the whole selection."""

    bundle_id: int
    per_month_idr: int
    transport_per_month_idr: int | None = None
    totals: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SelectionPrices:
    workers: int  # those who can still be covered (listed)
    by_bundle: dict[int, BundlePrice]
    months: tuple[int, ...] = tuple(sorted(PAYABLE_MONTHS))


def _workers_by_kind(selection: WorkerSelection) -> Counter[bool]:
    """How many listed workers of the selection are (True) or are not in transport."""
    rows = db.session.execute(
        select(Worker.occupation, func.count())
        .join(WorkerSelectionItem, WorkerSelectionItem.worker_id == Worker.id)
        .where(WorkerSelectionItem.selection_id == selection.id, Worker.is_listed.is_(True))
        .group_by(Worker.occupation)
    )
    kinds: Counter[bool] = Counter()
    for occupation, number in rows:
        kinds[worker_is_transport(occupation)] += int(number)
    return kinds


def selection_prices(
    sponsor: User, selection: WorkerSelection, bundles: list[Bundle], *, today: date
) -> SelectionPrices:
    cart = existing_cart(sponsor)
    payer = payer_kind_for(sponsor, cart.payer_kind if cart else None)
    kinds = _workers_by_kind(selection)
    first_month = default_first_month(today)
    tables = load_dues_tables()
    prices: dict[int, BundlePrice] = {}
    for bundle in bundles:
        try:
            quotes = {
                (transport, months): quote_bundle(
                    bundle,
                    months=months,
                    first_month=first_month,
                    payer_kind=payer,
                    is_transport=transport,
                    tables=tables,
                ).total_idr
                for transport in (False, True)
                for months in PAYABLE_MONTHS
            }
        except PricingError:
            continue  # not for sale after all: the page shows no price for it
        other, transport = quotes[(False, 1)], quotes[(True, 1)]
        prices[bundle.id] = BundlePrice(
            bundle_id=bundle.id,
            per_month_idr=other if kinds[False] or not kinds[True] else transport,
            transport_per_month_idr=(
                transport if kinds[True] and kinds[False] and transport != other else None
            ),
            totals={
                months: kinds[False] * quotes[(False, months)]
                + kinds[True] * quotes[(True, months)]
                for months in PAYABLE_MONTHS
            },
        )
    return SelectionPrices(workers=kinds.total(), by_bundle=prices)
