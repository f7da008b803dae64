"""NIK, mobile number, occupation and public-card rules of the worker registry."""

import dataclasses
import re
from datetime import date

import pytest
from flask_babel.speaklater import LazyString

from core.identity import (
    OCCUPATION_LABELS,
    PROVINCES,
    TELKOMSEL_PREFIXES,
    AgeBand,
    Gender,
    InvalidNik,
    InvalidPhone,
    Occupation,
    age_band,
    check_nik,
    first_name_and_initial,
    is_telkomsel,
    is_transport,
    mask_phone,
    normalize_phone,
)

TODAY = date(2025, 6, 15)


# --- Provinces and occupations -------------------------------------------------------------


def test_provinces_are_the_38_kemendagri_codes():
    assert len(PROVINCES) == 38
    assert all(re.fullmatch(r"[1-9][0-9]", code) for code in PROVINCES)
    assert PROVINCES["11"] == "Aceh"
    assert PROVINCES["32"] == "Jawa Barat"
    assert PROVINCES["65"] == "Kalimantan Utara"


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("91", "Papua"),
        ("92", "Papua Barat"),
        ("93", "Papua Selatan"),
        ("94", "Papua Tengah"),
        ("95", "Papua Pegunungan"),
        ("96", "Papua Barat Daya"),
    ],
)
def test_papua_provinces_follow_the_2025_decree_not_the_swapped_file(code, name):
    assert PROVINCES[code] == name


def test_every_occupation_has_a_lazy_english_label():
    assert set(OCCUPATION_LABELS) == set(Occupation)
    assert all(isinstance(occupation.label, LazyString) for occupation in Occupation)
    assert str(Occupation.FARMER.label) == "Farmer"
    assert str(Occupation.MOSQUE_CARETAKER.label) == "Mosque caretaker"


def test_occupation_values_are_stable_storage_keys():
    assert Occupation("ojek_online") is Occupation.OJEK_ONLINE
    assert Occupation.FARMER == "farmer"


@pytest.mark.parametrize(
    "occupation",
    [
        Occupation.OJEK_ONLINE,
        Occupation.OJEK_PANGKALAN,
        Occupation.PRIVATE_DRIVER,
        Occupation.COURIER,
        Occupation.LOGISTICS_WORKER,
    ],
)
def test_transport_workers_get_the_pp_50_2025_discount(occupation):
    assert is_transport(occupation)


@pytest.mark.parametrize(
    "occupation",
    [
        Occupation.FARMER,
        Occupation.MARKET_TRADER,
        Occupation.ONLINE_TRADER,
        Occupation.FISHER,
        Occupation.DOMESTIC_WORKER,
        Occupation.PORT_LABOURER,
        Occupation.STREET_VENDOR,
        Occupation.OTHER,
    ],
)
def test_other_workers_do_not_get_the_transport_discount(occupation):
    assert not is_transport(occupation)


def test_gender_labels():
    assert str(Gender.FEMALE.label) == "Female"
    assert str(Gender.MALE.label) == "Male"


# --- NIK: valid --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "regency_code", "district_code", "born", "gender"),
    [
        # A woman born 1990-05-12 in Kab. Bogor (3201), district 01: day 12 + 40 = 52.
        ("3201015205900001", "3201", "320101", date(1990, 5, 12), Gender.FEMALE),
        ("3201011205900001", "3201", "320101", date(1990, 5, 12), Gender.MALE),
        # Kota Jakarta Selatan (3171), born 2000-01-01.
        ("3171010101000001", "3171", "317101", date(2000, 1, 1), Gender.MALE),
        # Day 31 + 40 = 71 is the highest day a woman's NIK can hold.
        ("3578017101850123", "3578", "357801", date(1985, 1, 31), Gender.FEMALE),
        ("3578013101850123", "3578", "357801", date(1985, 1, 31), Gender.MALE),
        ("3578014101850123", "3578", "357801", date(1985, 1, 1), Gender.FEMALE),
        # Regency range ends at 69; cities run 71–99.
        ("3269991212909999", "3269", "326999", date(1990, 12, 12), Gender.MALE),
        ("3271011212900001", "3271", "327101", date(1990, 12, 12), Gender.MALE),
        ("3299011212900001", "3299", "329901", date(1990, 12, 12), Gender.MALE),
        ("9601016907880001", "9601", "960101", date(1988, 7, 29), Gender.FEMALE),
        # 2000 was a leap year.
        ("3201012902000001", "3201", "320101", date(2000, 2, 29), Gender.MALE),
    ],
)
def test_valid_nik_is_split_into_its_parts(raw, regency_code, district_code, born, gender):
    checked = check_nik(raw, today=TODAY)

    assert checked.nik == raw
    assert checked.province_code == raw[:2]
    assert checked.regency_code == regency_code
    assert checked.district_code == district_code
    assert checked.birth_date == born
    assert checked.gender == gender
    assert checked.warnings == ()


def test_nik_knows_its_province_name():
    assert check_nik("3201015205900001", today=TODAY).province_name == "Jawa Barat"


@pytest.mark.parametrize(
    "raw",
    [
        "3201 0152 0590 0001",
        "32.01.01.520590.0001",
        "32-01-01-520590-0001",
        " 3201015205900001\n",
        "3201\u00a00152\u00a00590\u00a00001",
    ],
)
def test_nik_accepts_spaces_dots_and_dashes(raw):
    assert check_nik(raw, today=TODAY).nik == "3201015205900001"


@pytest.mark.parametrize(
    ("two_digit_year", "month", "expected_year"),
    [
        ("00", "01", 2000),
        ("24", "12", 2024),
        ("25", "06", 2025),  # 2025-06-15: born today, not in the future
        ("25", "07", 1925),  # 2025-07-15 would be in the future
        ("26", "01", 1926),
        ("99", "12", 1999),
    ],
)
def test_century_is_the_latest_that_is_not_in_the_future(two_digit_year, month, expected_year):
    raw = f"32010115{month}{two_digit_year}0001"

    assert check_nik(raw, today=TODAY).birth_date == date(expected_year, int(month), 15)


def test_century_depends_on_today():
    raw = "3201011501300001"

    assert check_nik(raw, today=date(2029, 12, 31)).birth_date == date(1930, 1, 15)
    assert check_nik(raw, today=date(2030, 1, 15)).birth_date == date(2030, 1, 15)


def test_today_defaults_to_the_real_date():
    assert check_nik("3201011201990001").birth_date == date(1999, 1, 12)


def test_nik_check_is_frozen_and_keeps_the_nik_out_of_its_repr():
    checked = check_nik("3201015205900001", today=TODAY)

    with pytest.raises(dataclasses.FrozenInstanceError):
        checked.nik = "3201015205900002"  # type: ignore[misc]
    assert "3201015205900001" not in repr(checked)


# --- NIK: invalid ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "length"),
        ("320101520590001", "length"),  # 15 digits
        ("32010152059000011", "length"),  # 17 digits
        ("3201/0152/0590/0001", "length"),  # slashes are not separators
        ("32010152059O0001", "digits"),  # letter O
        ("３２０１０１５２０５９００００１", "digits"),  # full-width digits
        ("0001015205900001", "province"),
        ("1001015205900001", "province"),
        ("2001015205900001", "province"),
        ("3701015205900001", "province"),
        ("9701015205900001", "province"),
        ("3200015205900001", "regency"),
        ("3270015205900001", "regency"),
        ("3201005205900001", "district"),
        ("3201010005900001", "date"),  # day 00
        ("3201013205900001", "date"),  # day 32: neither a man's nor a woman's day
        ("3201014005900001", "date"),  # day 40
        ("3201017205900001", "date"),  # day 72 = 32 + 40
        ("3201011200900001", "date"),  # month 00
        ("3201011213900001", "date"),  # month 13
        ("3201013002900001", "date"),  # 30 February
        ("3201017002900001", "date"),  # 30 February, woman
        ("3201012902010001", "date"),  # 29 February in 2001 and in 1901
        ("3201013104900001", "date"),  # 31 April
        ("3201015205900000", "serial"),
    ],
)
def test_invalid_nik_is_refused_with_a_code(raw, code):
    with pytest.raises(InvalidNik) as raised:
        check_nik(raw, today=TODAY)

    assert raised.value.code == code


def test_invalid_nik_is_a_value_error_with_a_lazy_readable_message():
    with pytest.raises(ValueError, match="16 digits") as raised:
        check_nik("3201", today=TODAY)

    assert isinstance(raised.value.message, LazyString)
    assert str(raised.value) == "A NIK has exactly 16 digits."


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("9901015205900001", "province"),
        ("3270015205900001", "regency"),
        ("3201005205900001", "district"),
        ("3201013205900001", "date"),
        ("3201015205900000", "serial"),
    ],
)
def test_invalid_nik_messages_never_repeat_the_nik(raw, code):
    with pytest.raises(InvalidNik) as raised:
        check_nik(raw, today=TODAY)

    assert raised.value.code == code
    assert raw not in str(raised.value)
    assert raw not in repr(raised.value)


# --- NIK: warnings -----------------------------------------------------------------------


def test_nik_matching_what_was_entered_has_no_warnings():
    checked = check_nik(
        "3201015205900001", birth_date=date(1990, 5, 12), gender=Gender.FEMALE, today=TODAY
    )

    assert checked.warnings == ()


def test_birth_date_mismatch_is_a_warning_and_the_nik_date_is_kept():
    checked = check_nik("3201015205900001", birth_date=date(1990, 5, 13), today=TODAY)

    assert checked.birth_date == date(1990, 5, 12)
    assert [str(warning) for warning in checked.warnings] == [
        "The birth date in the NIK differs from the one entered. Please check both."
    ]


def test_gender_mismatch_is_refused():  # issue 13: it was a warning, and the wrong gender stayed
    with pytest.raises(InvalidNik) as refused:
        check_nik("3201015205900001", gender=Gender.MALE, today=TODAY)

    assert refused.value.code == "gender"


def test_warnings_are_lazy():
    checked = check_nik(
        "3201011205900001", birth_date=date(1991, 5, 12), gender=Gender.MALE, today=TODAY
    )

    assert len(checked.warnings) == 1
    assert all(isinstance(warning, LazyString) for warning in checked.warnings)


# --- Mobile numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("081234567890", "+6281234567890"),
        ("0812 3456 7890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("0812.3456.7890", "+6281234567890"),
        ("(0812) 3456 7890", "+6281234567890"),
        (" 0812 3456 7890 ", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("62 812 3456 7890", "+6281234567890"),
        ("+6281234567890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("+62 0812 3456 7890", "+6281234567890"),
        ("81234567890", "+6281234567890"),
        ("0812 3456 789", "+628123456789"),  # shortest: 8 + 9 digits
        ("0812 3456 7890 12", "+628123456789012"),  # longest: 8 + 12 digits
        ("0899 1234 5678", "+6289912345678"),
    ],
)
def test_normalize_phone_accepts_the_shapes_people_type(raw, e164):
    assert normalize_phone(raw) == e164


def test_normalize_phone_is_idempotent():
    e164 = normalize_phone("0812 3456 7890")

    assert normalize_phone(e164) == e164


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("021 5551234", "mobile"),  # Jakarta landline
        ("+62 21 5551234", "mobile"),
        ("0274 512345", "mobile"),  # Yogyakarta landline
        ("0812 3456 78", "length"),  # 8 + 8 digits
        ("62812345678", "length"),
        ("0812 3456 7890 123", "length"),  # 8 + 13 digits
        ("0812 3456 7890 1234 5678", "length"),
        ("+65 8123 4567", "country"),  # Singapore
        ("+1 415 555 0100", "country"),
        ("+60 12 345 6789", "country"),  # Malaysia
        ("", "format"),
        ("   ", "format"),
        ("0812-CALL-ME", "format"),
        ("0812 3456 7890 ext 12", "format"),
        ("0812/3456/7890", "format"),
        ("++6281234567890", "format"),
    ],
)
def test_normalize_phone_refuses_what_is_not_an_indonesian_mobile(raw, code):
    with pytest.raises(InvalidPhone) as raised:
        normalize_phone(raw)

    assert raised.value.code == code
    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value.message, LazyString)


def test_landline_refusal_says_why():
    with pytest.raises(InvalidPhone, match="landlines"):
        normalize_phone("021 5551234")


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+628123456789", "+62 812-••••-789"),
        ("+6281234567890", "+62 812-••••-890"),
        ("+628571234567012", "+62 857-••••-012"),
    ],
)
def test_mask_phone_shows_only_the_prefix_and_last_three_digits(e164, masked):
    assert mask_phone(e164) == masked


@pytest.mark.parametrize(
    "e164", ["+628123456789", "+6281298765432", "+628119876543210", "+6289912345678"]
)
def test_mask_phone_never_leaks_middle_digits_or_length(e164):
    national = e164.removeprefix("+62")
    masked = mask_phone(e164)

    assert re.sub(r"\D", "", masked) == "62" + national[:3] + national[-3:]
    assert len(masked) == len("+62 812-••••-789")


def test_mask_phone_refuses_a_landline():
    with pytest.raises(InvalidPhone):
        mask_phone("+62215551234")


@pytest.mark.parametrize(
    "prefix", ["0811", "0812", "0813", "0821", "0822", "0823", "0851", "0852", "0853"]
)
def test_telkomsel_prefixes(prefix):
    assert prefix in TELKOMSEL_PREFIXES
    assert is_telkomsel(normalize_phone(f"{prefix}12345678"))


@pytest.mark.parametrize(
    "prefix", ["0814", "0815", "0817", "0831", "0838", "0855", "0857", "0881", "0895", "0899"]
)
def test_other_operators_are_not_telkomsel(prefix):
    assert not is_telkomsel(normalize_phone(f"{prefix}12345678"))


def test_is_telkomsel_accepts_any_accepted_shape():
    assert is_telkomsel("0812 3456 7890")
    assert is_telkomsel("+62 852-1234-5678")


# --- Public cards and directory filters ---------------------------------------------------


@pytest.mark.parametrize(
    ("born", "band"),
    [
        (date(2007, 6, 16), AgeBand.UNDER_18),  # turns 18 tomorrow
        (date(2007, 6, 15), AgeBand.FROM_18_TO_24),  # 18 today
        (date(2000, 6, 16), AgeBand.FROM_18_TO_24),
        (date(2000, 6, 15), AgeBand.FROM_25_TO_34),
        (date(1990, 6, 16), AgeBand.FROM_25_TO_34),
        (date(1990, 6, 15), AgeBand.FROM_35_TO_44),
        (date(1980, 6, 15), AgeBand.FROM_45_TO_54),
        (date(1970, 6, 16), AgeBand.FROM_45_TO_54),
        (date(1970, 6, 15), AgeBand.FROM_55),
        (date(1935, 1, 1), AgeBand.FROM_55),
    ],
)
def test_age_band(born, band):
    assert age_band(born, TODAY) == band


def test_age_band_values_are_what_the_directory_filter_shows():
    assert [band.value for band in AgeBand] == ["<18", "18–24", "25–34", "35–44", "45–54", "55+"]


def test_leap_day_birthday_counts_from_the_first_of_march():
    born = date(2004, 2, 29)

    assert age_band(born, date(2022, 2, 28)) == AgeBand.UNDER_18
    assert age_band(born, date(2022, 3, 1)) == AgeBand.FROM_18_TO_24


def test_age_band_refuses_a_birth_date_in_the_future():
    with pytest.raises(ValueError):
        age_band(date(2025, 6, 16), TODAY)


@pytest.mark.parametrize(
    ("full_name", "card_name"),
    [
        ("Siti Nurhaliza Putri", "Siti N."),
        ("Sukarno", "Sukarno"),
        ("  Budi   santoso ", "Budi S."),
        ("SITI NURHALIZA PUTRI", "Siti N."),
        ("Muhammad Rizki Pratama", "Muhammad R."),
        ("Nur'aini Lestari", "Nur'aini L."),
    ],
)
def test_first_name_and_initial(full_name, card_name):
    assert first_name_and_initial(full_name) == card_name


def test_public_card_name_hides_the_rest_of_the_name():
    assert "Nurhaliza" not in first_name_and_initial("Siti Nurhaliza Putri")


@pytest.mark.parametrize("full_name", ["", "   "])
def test_first_name_and_initial_refuses_an_empty_name(full_name):
    with pytest.raises(ValueError):
        first_name_and_initial(full_name)
