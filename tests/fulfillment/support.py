"""Building paid orders straight from the models, as checkout will: a ComboFit catalog, workers
the partners accept, orders priced by ``bundles.pricing``, and (optionally) a real payment at
localstripe so that refunds go through Stripe. Shared by the tests and ``bench/``.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import count
from typing import Any

from sqlalchemy import exists, insert, select

from accounts.models import Role, User
from bundles import seed
from bundles.models import (
    Bundle,
    FulfillmentMethod,
    Offer,
    Partner,
    PartnerKind,
    PartnerStatus,
)
from bundles.pricing import LinePrice, quote_bundle, worker_is_transport
from bundles.seed import combofit_bundle, combofit_offers
from extensions import db
from fulfillment import clock, sweeper
from fulfillment.models import IN_PROGRESS, NEEDS_REFUND, FulfillmentItem
from sponsorship.checkout.models import (
    Order,
    OrderLine,
    OrderLinePart,
    OrderStatus,
    Payment,
    PaymentStatus,
)
from vault import digest, encrypt
from workers.models import Worker

FIRST_MONTH = date(2026, 1, 1)
_serial = count(1)
_worker_serial = count(1)


@dataclass
class ComboFit:
    bundle: Bundle
    health: Offer
    dues: Offer
    quota: Offer
    insurer: Partner


def approved_partner(kind: PartnerKind, name: str) -> Partner:
    """An approved partner and its account (added, not committed). No password: partners never
    sign in in these tests, and hashing one costs a third of a second."""
    n = next(_serial)
    owner = User(role=Role.PARTNER, email=f"partner{n}-{kind}@example.test", display_name=name)
    partner = Partner(user=owner, name=name, kind=kind, status=PartnerStatus.APPROVED)
    db.session.add_all([owner, partner])
    return partner


def make_combofit(
    *, health_method: FulfillmentMethod = FulfillmentMethod.CODE_POOL, codes: int = 20
) -> ComboFit:
    """Fita-like premium (a code pool, or the health API), BPJS dues (remitted), Telkomsel
    data (the telco API): ComboFit Jamsostek, built by ``bundles.seed`` as the demo builds it."""
    insurer = approved_partner(PartnerKind.INSURER, "BPJS Ketenagakerjaan")
    health_partner = approved_partner(PartnerKind.HEALTH_APP, "Fita")
    telco = approved_partner(PartnerKind.TELCO, "Telkomsel")
    offers = combofit_offers(
        insurer=insurer,
        health_app=health_partner,
        telco=telco,
        health_method=health_method,
        health={
            "name_id": "Fita Premium 30 hari",
            "name_en": "Fita Premium, 30 days",
            "unit_price_idr": 25_000,
        },
        dues={"name_id": "Iuran BPJS JKK + JKM", "name_en": "BPJS dues, JKK + JKM"},
        quota={"name_id": "Kuota 5 GB", "name_en": "5 GB data", "unit_price_idr": 30_000},
    )
    health, dues, quota = offers.health, offers.dues, offers.quota
    bundle = combofit_bundle(offers, slug=f"combofit-{next(_serial)}", platform_fee_idr=2_000)
    db.session.add_all([health, dues, quota, bundle])
    db.session.flush()
    if health_method == FulfillmentMethod.CODE_POOL:
        add_pool_codes(health, codes)
    db.session.commit()
    return ComboFit(bundle=bundle, health=health, dues=dues, quota=quota, insurer=insurer)


def add_pool_codes(offer: Offer, number: int, *, expires_on: date = date(2030, 12, 31)) -> None:
    codes = [f"FITA-{offer.id}-{next(_serial):08d}" for _ in range(number)]
    seed.add_pool_codes(offer, codes, expires_on=expires_on)


def worker_fields(n: int, **overrides: Any) -> dict[str, Any]:
    """A consenting worker with a Telkomsel number and a NIK the insurer sandbox knows."""
    nik = overrides.pop("nik", f"3201{n % 90 + 1:02d}5205{90 + n % 9:02d}{n % 9999 + 1:04d}")
    consent = datetime(2025, 12, 1, tzinfo=UTC)
    fields = {
        "full_name": f"Sri Rahayu {n}",
        "occupation": "farmer",
        "province_code": "32",
        "regency": "Kab. Bogor",
        "gender": "female",
        "birth_date": date(1990 + n % 9, 5, 12),
        "phone_e164": f"+62812{n:08d}",
        "nik_encrypted": encrypt(nik),
        "nik_digest": digest(nik, purpose="nik"),
        "is_listed": True,
        "listing_consent_at": consent,
        "insurer_consent_at": consent,
        "consent_confirmed_at": consent,
    }
    fields.update(overrides)
    return fields


def make_workers(number: int, **overrides: Any) -> list[Worker]:
    workers = [Worker(**worker_fields(next(_worker_serial), **overrides)) for _ in range(number)]
    db.session.add_all(workers)
    db.session.commit()
    return workers


def make_sponsor() -> User:
    n = next(_serial)
    sponsor = User(role=Role.SPONSOR, email=f"sponsor{n}@example.test", display_name=f"Ibu {n}")
    db.session.add(sponsor)
    db.session.commit()
    return sponsor


def price(bundle: Bundle, *, is_transport: bool, months: int, first_month: date) -> LinePrice:
    return quote_bundle(
        bundle,
        months=months,
        first_month=first_month,
        payer_kind="person",
        is_transport=is_transport,
    )


def make_paid_order(
    bundle: Bundle,
    workers: Sequence[Worker],
    *,
    sponsor: User | None = None,
    months: int = 3,
    first_month: date = FIRST_MONTH,
    pay: Callable[[int, str], str] | None = None,
) -> Order:
    """An order marked paid (not committed: the caller calls start_fulfillment, then commits,
    as checkout will). Lines are priced once per kind of worker. ``pay(total_idr, reference)``
    returns the id of a real, paid PaymentIntent (refunds then go through localstripe)."""
    sponsor = sponsor or make_sponsor()
    prices: dict[bool, LinePrice] = {}
    n = next(_serial)
    order = Order(reference=f"PAY-T{n:07d}", sponsor_id=sponsor.id, total_idr=0)
    db.session.add(order)
    db.session.flush()
    total = 0
    line_rows, part_rows = [], []
    for worker in workers:
        transport = worker_is_transport(worker.occupation)
        if transport not in prices:
            prices[transport] = price(
                bundle, is_transport=transport, months=months, first_month=first_month
            )
        line_price = prices[transport]
        line_rows.append(
            {
                "order_id": order.id,
                "worker_id": worker.id,
                "bundle_id": bundle.id,
                "months": months,
                "first_month": first_month,
                "total_idr": line_price.total_idr,
            }
        )
        total += line_price.total_idr
    lines = list(db.session.scalars(insert(OrderLine).returning(OrderLine), line_rows))
    for line, worker in zip(lines, workers, strict=True):
        line_price = prices[worker_is_transport(worker.occupation)]
        for part in line_price.parts:
            part_rows.append(
                {
                    "line_id": line.id,
                    "offer_id": part.offer_id,
                    "quantity": part.quantity,
                    "amount_idr": part.amount_idr,
                    "price_snapshot": part.snapshot,
                }
            )
    for start in range(0, len(part_rows), 5_000):
        db.session.execute(insert(OrderLinePart), part_rows[start : start + 5_000])
    order.total_idr = total
    db.session.add(
        Payment(
            order_id=order.id,
            provider_payment_id=pay(total, order.reference) if pay else f"pi_test_{n}",
            amount_idr=total,
            status=PaymentStatus.SUCCEEDED,
        )
    )
    order.transition(OrderStatus.PAID)
    db.session.flush()
    return order


def run_until_settled(*, step_s: float = 60.0, max_rounds: int = 60) -> int:
    """Move fulfillment's clock forward and sweep, as beat would, until no part is in progress
    or has a refund scheduled; return how many sweeps it took."""

    for rounds in range(max_rounds):
        busy = db.session.scalar(
            select(
                exists().where(
                    FulfillmentItem.status.in_(IN_PROGRESS)
                    | (
                        FulfillmentItem.status.in_(NEEDS_REFUND)
                        & FulfillmentItem.next_attempt_at.is_not(None)
                    )
                )
            )
        )
        if not busy:
            return rounds
        clock.advance(step_s)
        sweeper.sweep()
        db.session.commit()
    raise AssertionError(f"items still unsettled after {max_rounds} sweeps")
