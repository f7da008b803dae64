"""``price_line``: the amounts of the domain file, per-part prices, the snapshot, refusals."""

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from bundles.dues.data import (
    add_discount_rule,
    add_rate_version,
    ensure_default_dues_data,
    load_dues_tables,
    withdraw_discount_rule,
)
from bundles.dues.models import DuesDiscountRule, DuesIncomeBand, DuesRateVersion
from bundles.dues.services import PayerKind
from bundles.models import (
    FulfillmentMethod,
    OfferBilling,
    OfferKind,
    Operator,
    PartnerKind,
    PartnerStatus,
)
from bundles.pricing import (
    PricingError,
    default_first_month,
    offer_available_for_phone,
    price_line,
)
from extensions import db

FARMER = "farmer"
DRIVER = "ojek_online"


@pytest.fixture
def sertakan(make_bundle, dues_offer):
    return make_bundle(offers=[dues_offer])


def test_minimum_band_costs_16800_a_month_and_36800_with_jht(sertakan, make_worker, dues_offer):
    worker = make_worker(occupation=FARMER)
    line = price_line(
        sertakan, worker=worker, months=1, first_month=date(2025, 6, 1), payer_kind="person"
    )
    assert line.total_idr == 16_800
    dues_offer.include_jht = True
    db.session.commit()
    line = price_line(
        sertakan, worker=worker, months=1, first_month=date(2025, 6, 1), payer_kind="person"
    )
    assert line.total_idr == 36_800


def test_transport_worker_pays_8400_under_pp_50_2025_unless_a_government_pays(
    sertakan, make_worker
):
    driver = make_worker(occupation=DRIVER)
    paid_by = {
        payer: price_line(
            sertakan, worker=driver, months=1, first_month=date(2026, 2, 1), payer_kind=payer
        ).total_idr
        for payer in PayerKind
    }
    assert paid_by == {
        PayerKind.PERSON: 8_400,
        PayerKind.COMPANY: 8_400,
        PayerKind.GOVERNMENT: 16_800,
    }


def test_checkout_payer_kind_is_accepted_as_the_same_values(sertakan, make_worker):
    line = price_line(
        sertakan,
        worker=make_worker(occupation=DRIVER),
        months=1,
        first_month=date(2026, 2, 1),
        payer_kind=PayerKind.GOVERNMENT,
    )
    assert (line.payer_kind, line.total_idr) == (PayerKind.GOVERNMENT, 16_800)


def test_twelve_months_straddling_the_end_of_the_discount(sertakan, make_worker):
    line = price_line(
        sertakan,
        worker=make_worker(occupation=DRIVER),
        months=12,
        first_month=date(2026, 10, 1),
        payer_kind="person",
    )
    assert [row.total_idr for row in line.month_rows()] == [8_400] * 6 + [16_800] * 6
    assert line.total_idr == 151_200


def test_each_part_is_priced_and_the_snapshot_is_plain_json(
    make_bundle, make_offer, dues_offer, make_worker
):
    health = make_offer(
        kind=OfferKind.HEALTH_APP,
        unit_price_idr=25_000,
        billing=OfferBilling.MONTHLY,
        premium_days=30,
    )
    sim = make_offer(
        kind=OfferKind.OTHER,
        unit_price_idr=10_000,
        billing=OfferBilling.ONCE,
        terms_id="Kartu SIM",
    )
    bundle = make_bundle(offers=[dues_offer, health, sim], platform_fee_idr=2_500)
    bundle.parts[1].quantity = 2
    db.session.commit()

    line = price_line(
        bundle,
        worker=make_worker(occupation=DRIVER),
        months=3,
        first_month=date(2025, 12, 1),
        payer_kind="company",
    )

    dues, app_part, sim_part = line.parts
    assert (dues.amount_idr, dues.units) == (16_800 + 8_400 + 8_400, 1)
    assert (app_part.amount_idr, app_part.units) == (25_000 * 2 * 3, 6)
    assert (sim_part.amount_idr, sim_part.units) == (10_000, 1)
    assert line.platform_fee_idr == 2_500
    assert line.total_idr == 33_600 + 150_000 + 10_000 + 2_500
    assert line.parts_total_idr + line.platform_fee_idr == line.total_idr

    snapshot = json.loads(json.dumps(line.snapshot))  # JSON round trip loses nothing
    assert snapshot == line.snapshot
    months = snapshot["parts"][0]["months"]
    assert [m["month"] for m in months] == ["2025-12-01", "2026-01-01", "2026-02-01"]
    assert [m["discount_name"] for m in months] == [None, "PP 50/2025", "PP 50/2025"]
    rule_id = db.session.scalar(select(DuesDiscountRule.id))
    version_id = db.session.scalar(select(DuesRateVersion.id))
    assert [m["discount_id"] for m in months] == [None, rule_id, rule_id]
    assert snapshot["parts"][0]["rate_version_ids"] == [version_id]
    assert snapshot["parts"][1]["pricing"] == "monthly"
    assert snapshot["parts"][1]["terms"] == {"billing": "monthly", "premium_days": 30}
    assert snapshot["parts"][2]["pricing"] == "once"
    assert snapshot["total_idr"] == line.total_idr


def test_new_rates_from_the_admin_apply_from_their_month_only(sertakan, make_worker):
    add_rate_version(
        effective_from=date(2027, 1, 1),
        jkk_rate_bp=150,
        jkm_flat_idr=8_000,
        jht_rate_bp=300,
        note="test",
        by_id=None,
    )
    db.session.commit()
    line = price_line(
        sertakan,
        worker=make_worker(occupation=FARMER),
        months=3,
        first_month=date(2026, 12, 1),
        payer_kind="person",
    )
    assert [row.total_idr for row in line.month_rows()] == [16_800, 23_000, 23_000]
    ids = line.parts[0].snapshot["rate_version_ids"]
    assert len(ids) == 2


def test_a_withdrawn_discount_no_longer_applies_but_stays_in_history(sertakan, make_worker):
    rule = db.session.scalar(select(DuesDiscountRule))
    withdraw_discount_rule(rule, by_id=None)
    db.session.commit()
    line = price_line(
        sertakan,
        worker=make_worker(occupation=DRIVER),
        months=1,
        first_month=date(2026, 2, 1),
        payer_kind="person",
    )
    assert line.total_idr == 16_800
    assert db.session.scalar(select(func.count()).select_from(DuesDiscountRule)) == 1


def test_a_larger_regional_discount_wins_and_the_snapshot_names_it(sertakan, make_worker):
    add_discount_rule(
        name="Perda Contoh",
        percent=75,
        programmes=["JKK", "JKM"],
        first_month=date(2026, 1, 1),
        last_month=date(2026, 12, 1),
        transport_only=False,
        excludes_government_payers=False,
        note="",
        by_id=None,
    )
    db.session.commit()
    line = price_line(
        sertakan,
        worker=make_worker(occupation=FARMER),
        months=1,
        first_month=date(2026, 2, 1),
        payer_kind="government",
    )
    assert line.total_idr == 4_200
    assert line.parts[0].snapshot["discount_names"] == ["Perda Contoh"]


def test_defaults_are_seeded_once_and_only_into_empty_tables(app):
    assert ensure_default_dues_data() is True
    assert ensure_default_dues_data() is False
    db.session.commit()
    tables = load_dues_tables()
    assert tables.bands_for(date(2026, 1, 1))[0] == 1_000_000
    assert tables.bands_for(date(2026, 1, 1))[-1] == 20_700_000
    assert db.session.scalar(select(func.count()).select_from(DuesRateVersion)) == 1
    assert db.session.scalar(select(func.count()).select_from(DuesIncomeBand)) == len(tables.bands)


@pytest.mark.parametrize(
    ("months", "first_month", "code"),
    [
        (2, date(2026, 1, 1), "months"),
        (24, date(2026, 1, 1), "months"),
        (1, date(2026, 1, 15), "first_month"),
        (1, date(2015, 1, 1), "no_rates"),
    ],
)
def test_refused_lines_name_the_rule(app, sertakan, make_worker, months, first_month, code):
    with pytest.raises(PricingError) as refused:
        price_line(
            sertakan,
            worker=make_worker(),
            months=months,
            first_month=first_month,
            payer_kind="person",
        )
    assert refused.value.code == code
    with app.test_request_context():
        assert str(refused.value.message)


def test_an_income_that_is_not_a_band_is_refused(sertakan, make_worker, dues_offer):
    dues_offer.income_idr = 1_234_567
    db.session.commit()
    with pytest.raises(PricingError) as refused:
        price_line(
            sertakan,
            worker=make_worker(),
            months=1,
            first_month=date(2026, 1, 1),
            payer_kind="person",
        )
    assert refused.value.code == "income_band"


def test_bundles_not_for_sale_are_refused(sertakan, make_worker, dues_offer):
    worker = make_worker()
    sertakan.is_published = False
    db.session.commit()
    with pytest.raises(PricingError, match="bundle_unavailable"):
        price_line(
            sertakan, worker=worker, months=1, first_month=date(2026, 1, 1), payer_kind="person"
        )
    sertakan.is_published = True
    dues_offer.partner.status = PartnerStatus.SUSPENDED
    db.session.commit()
    with pytest.raises(PricingError, match="part_unavailable"):
        price_line(
            sertakan, worker=worker, months=1, first_month=date(2026, 1, 1), payer_kind="person"
        )


def test_telkomsel_only_quota_is_checked_against_the_workers_number(
    make_bundle, make_offer, make_partner, make_worker
):
    quota = make_offer(
        partner=make_partner(PartnerKind.TELCO),
        kind=OfferKind.DATA_QUOTA,
        quota_mb=5120,
        validity_days=30,
        operator=Operator.TELKOMSEL,
        fulfillment_method=FulfillmentMethod.PARTNER_API,
    )
    assert offer_available_for_phone(quota, "+6281234567890") is True  # 0812: Telkomsel
    assert offer_available_for_phone(quota, "+6285712345678") is False  # 0857: Indosat
    assert offer_available_for_phone(quota, "not a phone") is False
    bundle = make_bundle(offers=[quota])
    on_indosat = make_worker(phone_e164="+6285712345678")
    with pytest.raises(PricingError) as refused:
        price_line(
            bundle, worker=on_indosat, months=1, first_month=date(2026, 1, 1), payer_kind="person"
        )
    assert refused.value.code == "operator"
    on_telkomsel = make_worker(phone_e164="+6281234567890")
    line = price_line(
        bundle, worker=on_telkomsel, months=1, first_month=date(2026, 1, 1), payer_kind="person"
    )
    assert line.total_idr == 25_000


@pytest.mark.parametrize(
    ("today", "first"),
    [
        (date(2026, 11, 13), date(2026, 11, 1)),
        (date(2026, 11, 16), date(2026, 11, 1)),  # the 15th is a Sunday: due Monday the 16th
        (date(2026, 11, 17), date(2026, 12, 1)),
        (date(2026, 12, 20), date(2027, 1, 1)),
    ],
)
def test_the_default_first_month_is_the_first_one_still_payable_on_time(today, first):
    assert default_first_month(today) == first
