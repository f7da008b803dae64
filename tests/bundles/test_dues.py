from dataclasses import FrozenInstanceError
from datetime import date, datetime

import pytest

from bundles.dues.services import (
    DEFAULT_DISCOUNTS,
    DEFAULT_INCOME_BANDS,
    DEFAULT_RATE_HISTORY,
    DuesDiscount,
    DuesRates,
    InvalidDuesData,
    InvalidDuesRequest,
    NoRatesInForce,
    PayerKind,
    Programme,
    due_date,
    quote_dues,
    rates_for,
)

MINIMUM_BAND = 1_000_000


def quote(**overrides):
    request = {
        "income_idr": MINIMUM_BAND,
        "first_month": date(2025, 6, 1),
        "months": 1,
        "include_jht": False,
        "is_transport": False,
        "payer_kind": PayerKind.PERSON,
        "rate_history": DEFAULT_RATE_HISTORY,
        "discounts": DEFAULT_DISCOUNTS,
        "bands": DEFAULT_INCOME_BANDS,
    }
    return quote_dues(**(request | overrides))


def totals(result):
    return [line.total for line in result.lines]


# The published amounts


def test_minimum_band_costs_16800_a_month():
    (line,) = quote().lines
    assert (line.month, line.jkk, line.jkm, line.jht, line.discount, line.total) == (
        date(2025, 6, 1),
        10_000,
        6_800,
        0,
        0,
        16_800,
    )


def test_minimum_band_with_jht_costs_36800_a_month():
    (line,) = quote(include_jht=True).lines
    assert (line.jht, line.total) == (20_000, 36_800)


def test_transport_worker_pays_8400_under_pp_50_2025():
    (line,) = quote(first_month=date(2026, 2, 1), is_transport=True).lines
    assert (line.discount, line.total, line.discount_name) == (8_400, 8_400, "PP 50/2025")


def test_jht_is_never_discounted():
    (line,) = quote(first_month=date(2026, 2, 1), is_transport=True, include_jht=True).lines
    assert (line.jht, line.discount, line.total) == (20_000, 8_400, 28_400)


def test_government_funded_dues_get_no_discount():
    result = quote(first_month=date(2026, 2, 1), is_transport=True, payer_kind=PayerKind.GOVERNMENT)
    assert (result.lines[0].discount, result.total_idr) == (0, 16_800)


def test_company_sponsor_of_a_transport_worker_gets_the_discount():
    result = quote(first_month=date(2026, 2, 1), is_transport=True, payer_kind=PayerKind.COMPANY)
    assert result.total_idr == 8_400


def test_non_transport_worker_gets_no_discount():
    assert quote(first_month=date(2026, 2, 1), is_transport=False).total_idr == 16_800


@pytest.mark.parametrize(
    ("month", "expected_total"),
    [
        (date(2025, 12, 1), 16_800),
        (date(2026, 1, 1), 8_400),
        (date(2027, 3, 1), 8_400),
        (date(2027, 4, 1), 16_800),
    ],
)
def test_discount_covers_january_2026_to_march_2027_inclusive(month, expected_total):
    assert quote(first_month=month, is_transport=True).total_idr == expected_total


def test_twelve_months_from_october_2026_straddle_the_end_of_the_discount():
    result = quote(first_month=date(2026, 10, 1), months=12, is_transport=True)
    assert [line.month for line in result.lines][::5] == [
        date(2026, 10, 1),
        date(2027, 3, 1),
        date(2027, 8, 1),
    ]
    assert totals(result) == [8_400] * 6 + [16_800] * 6
    assert result.total_idr == 151_200
    assert (result.first_month, result.last_month) == (date(2026, 10, 1), date(2027, 9, 1))


def test_purchase_from_december_2025_starts_discounting_in_january():
    result = quote(first_month=date(2025, 12, 1), months=3, is_transport=True, include_jht=True)
    assert totals(result) == [36_800, 28_400, 28_400]


def test_each_month_uses_the_rates_in_force_that_month():
    raised = DuesRates(
        effective_from=date(2026, 7, 1), jkk_rate_bp=150, jkm_flat_idr=8_000, jht_rate_bp=300
    )
    history = (raised, *DEFAULT_RATE_HISTORY)  # order of the rows must not matter
    result = quote(first_month=date(2026, 5, 1), months=3, include_jht=True, rate_history=history)
    assert [(line.jkk, line.jkm, line.jht) for line in result.lines] == [
        (10_000, 6_800, 20_000),
        (10_000, 6_800, 20_000),
        (15_000, 8_000, 30_000),
    ]
    assert result.total_idr == 36_800 + 36_800 + 53_000


def test_higher_band_scales_jkk_and_jht_but_not_jkm():
    (line,) = quote(income_idr=5_000_000, include_jht=True).lines
    assert (line.jkk, line.jkm, line.jht, line.total) == (50_000, 6_800, 100_000, 156_800)


def test_discount_on_a_higher_band_halves_jkk_and_jkm_only():
    result = quote(
        income_idr=5_000_000, include_jht=True, is_transport=True, first_month=date(2026, 3, 1)
    )
    assert (result.lines[0].discount, result.total_idr) == (28_400, 128_400)


def test_top_default_band_reaches_the_published_maximum_jkk():
    assert quote(income_idr=max(DEFAULT_INCOME_BANDS)).lines[0].jkk == 207_000


def test_default_bands_start_at_the_minimum_and_rise():
    assert DEFAULT_INCOME_BANDS[0] == 1_000_000
    assert list(DEFAULT_INCOME_BANDS) == sorted(set(DEFAULT_INCOME_BANDS))


def test_half_rupiah_rounds_up_and_amounts_stay_integers():
    result = quote(
        income_idr=1_000_050, bands=None, is_transport=True, first_month=date(2026, 1, 1)
    )
    (line,) = result.lines
    # JKK 10,000.5 → 10,001; discount 50 % of 16,801 = 8,400.5 → 8,401
    assert (line.jkk, line.discount, line.total) == (10_001, 8_401, 8_400)
    assert all(type(value) is int for value in (line.jkk, line.jkm, line.discount, line.total))
    assert type(result.total_idr) is int


def test_discounts_do_not_stack_the_largest_applies():
    smaller = DuesDiscount(
        name="Regional top-up",
        percent=20,
        programmes=frozenset({"JKK", "JKM"}),
        first_month=date(2026, 1, 1),
        last_month=date(2026, 12, 1),
        transport_only=False,
        excludes_government_payers=False,
    )
    month = date(2026, 2, 1)
    for both in [(smaller, *DEFAULT_DISCOUNTS), (*DEFAULT_DISCOUNTS, smaller)]:
        assert quote(first_month=month, is_transport=True, discounts=both).total_idr == 8_400
        assert quote(first_month=month, is_transport=False, discounts=both).total_idr == 13_440


def test_quote_is_frozen():
    result = quote()
    with pytest.raises(FrozenInstanceError):
        result.total_idr = 0


# Refusals


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"months": 0}, "months"),
        ({"months": 2}, "months"),
        ({"months": 24}, "months"),
        ({"months": 3.0}, "months"),
        ({"months": True}, "months"),
        ({"income_idr": 0, "bands": None}, "income"),
        ({"income_idr": -1_000_000, "bands": None}, "income"),
        ({"income_idr": 1_000_000.0}, "income"),
        ({"income_idr": 1_234_567}, "income_band"),
        ({"first_month": date(2026, 1, 15)}, "first_month"),
        ({"first_month": datetime(2026, 1, 1)}, "first_month"),
        ({"first_month": "2026-01-01"}, "first_month"),
        ({"payer_kind": "goverment"}, "payer_kind"),
    ],
)
def test_refused_requests_name_the_rule(overrides, code):
    with pytest.raises(InvalidDuesRequest) as refused:
        quote(**overrides)
    assert refused.value.code == code
    assert isinstance(refused.value, ValueError)
    assert str(refused.value.message)


def test_any_positive_income_is_accepted_without_a_band_list():
    assert quote(income_idr=1_234_500, bands=None).lines[0].jkk == 12_345


def test_month_before_any_rates_is_refused():
    with pytest.raises(NoRatesInForce) as missing:
        quote(first_month=date(2015, 6, 1))
    assert missing.value.month == date(2015, 6, 1)


# Rate history


def test_rates_for_picks_the_latest_version_already_in_force():
    old = DuesRates(date(2015, 7, 1), 100, 6_800, 200)
    new = DuesRates(date(2026, 7, 15), 150, 8_000, 300)
    for history in ([new, old], [old, new]):
        assert rates_for(date(2026, 7, 1), history) is old
        assert rates_for(date(2026, 8, 1), history) is new  # a mid-month change starts next month


def test_rates_for_refuses_a_month_before_every_version():
    with pytest.raises(NoRatesInForce):
        rates_for(date(2014, 1, 1), DEFAULT_RATE_HISTORY)
    with pytest.raises(NoRatesInForce):
        rates_for(date(2026, 1, 1), [])


def test_rates_for_refuses_two_versions_from_the_same_day():
    history = [
        DuesRates(date(2026, 1, 1), 100, 6_800, 200),
        DuesRates(date(2026, 1, 1), 100, 7_000, 200),
    ]
    with pytest.raises(InvalidDuesData):
        rates_for(date(2026, 2, 1), history)


@pytest.mark.parametrize(
    "fields",
    [
        {"jkk_rate_bp": 1.0},
        {"jkm_flat_idr": 6_800.0},
        {"jht_rate_bp": -200},
    ],
)
def test_rates_must_be_whole_non_negative_numbers(fields):
    with pytest.raises(InvalidDuesData):
        DuesRates(
            **(
                {
                    "effective_from": date(2026, 1, 1),
                    "jkk_rate_bp": 100,
                    "jkm_flat_idr": 6_800,
                    "jht_rate_bp": 200,
                }
                | fields
            )
        )


@pytest.mark.parametrize(
    "fields",
    [
        {"percent": 150},
        {"percent": 50.0},
        {"programmes": frozenset({"JP"})},
        {"programmes": frozenset()},
        {"first_month": date(2026, 1, 2)},
        {"first_month": date(2027, 4, 1)},
    ],
)
def test_discounts_must_be_consistent(fields):
    rule = {
        "name": "test",
        "percent": 50,
        "programmes": frozenset({"JKK", "JKM"}),
        "first_month": date(2026, 1, 1),
        "last_month": date(2027, 3, 1),
        "transport_only": True,
        "excludes_government_payers": True,
    }
    with pytest.raises(InvalidDuesData):
        DuesDiscount(**(rule | fields))


def test_discount_programmes_given_as_strings_become_programmes():
    (rule,) = DEFAULT_DISCOUNTS
    assert rule.programmes == {Programme.JKK, Programme.JKM}
    assert Programme.JHT not in rule.programmes


# Due dates


@pytest.mark.parametrize(
    ("month", "due"),
    [
        (date(2026, 1, 1), date(2026, 1, 15)),  # Thursday
        (date(2026, 8, 1), date(2026, 8, 17)),  # Saturday → Monday
        (date(2026, 2, 1), date(2026, 2, 16)),  # Sunday → Monday
        (date(2027, 5, 1), date(2027, 5, 17)),  # Saturday → Monday
        (date(2026, 5, 1), date(2026, 5, 15)),  # Friday
    ],
)
def test_dues_are_due_on_the_15th_or_the_monday_after(month, due):
    assert due_date(month) == due
