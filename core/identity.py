"""Who a worker is, checked without a database: NIK, mobile number, province, occupation, age.

Pure functions over the rules in ``shared/domain/bpjs-bpu.md``. User-facing messages are
``lazy_gettext`` strings: they render in the request's locale, and as the English msgid outside
an app context, so errors can be raised at import time, in jobs and in tests alike. Errors carry
a short machine ``code`` so callers branch without parsing text.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import phonenumbers
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from core.errors import DomainError

# Kemendagri codes (Kepmendagri 300.2.2-2138/2025). Proper names: not translated.
PROVINCES: dict[str, str] = {
    "11": "Aceh",
    "12": "Sumatera Utara",
    "13": "Sumatera Barat",
    "14": "Riau",
    "15": "Jambi",
    "16": "Sumatera Selatan",
    "17": "Bengkulu",
    "18": "Lampung",
    "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau",
    "31": "DKI Jakarta",
    "32": "Jawa Barat",
    "33": "Jawa Tengah",
    "34": "DI Yogyakarta",
    "35": "Jawa Timur",
    "36": "Banten",
    "51": "Bali",
    "52": "Nusa Tenggara Barat",
    "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah",
    "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur",
    "65": "Kalimantan Utara",
    "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan",
    "74": "Sulawesi Tenggara",
    "75": "Gorontalo",
    "76": "Sulawesi Barat",
    "81": "Maluku",
    "82": "Maluku Utara",
    "91": "Papua",
    "92": "Papua Barat",
    "93": "Papua Selatan",
    "94": "Papua Tengah",
    "95": "Papua Pegunungan",
    "96": "Papua Barat Daya",
}


class IdentityError(DomainError, ValueError):
    """A user-facing problem with identity data; ``code`` is stable, ``message`` is lazy."""

    def __init__(self, message: LazyString, *, code: str) -> None:
        super().__init__(message, code=code)


class InvalidNik(IdentityError):
    """Codes: ``length``, ``digits``, ``province``, ``regency``, ``district``, ``date``,
    ``serial``, ``gender`` (coded for the other gender than the one entered)."""


class InvalidPhone(IdentityError):
    """Codes: ``format``, ``country``, ``mobile``, ``length``."""


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"

    @property
    def label(self) -> LazyString:
        return _GENDER_LABELS[self]


_GENDER_LABELS = {Gender.FEMALE: _l("Female"), Gender.MALE: _l("Male")}


class Occupation(StrEnum):
    FARMER = "farmer"
    WARUNG_TRADER = "warung_trader"
    MARKET_TRADER = "market_trader"
    ONLINE_TRADER = "online_trader"
    OJEK_ONLINE = "ojek_online"
    OJEK_PANGKALAN = "ojek_pangkalan"
    PRIVATE_DRIVER = "private_driver"
    COURIER = "courier"
    LOGISTICS_WORKER = "logistics_worker"
    FISHER = "fisher"
    DOMESTIC_WORKER = "domestic_worker"
    GARDENER = "gardener"
    STREET_VENDOR = "street_vendor"
    PARKING_ATTENDANT = "parking_attendant"
    CONSTRUCTION_LABOURER = "construction_labourer"
    PORT_LABOURER = "port_labourer"
    MOSQUE_CARETAKER = "mosque_caretaker"
    QURAN_TEACHER = "quran_teacher"
    SCAVENGER = "scavenger"
    OTHER = "other"

    @property
    def label(self) -> LazyString:
        return OCCUPATION_LABELS[self]


OCCUPATION_LABELS: dict[Occupation, LazyString] = {
    Occupation.FARMER: _l("Farmer"),
    Occupation.WARUNG_TRADER: _l("Shopkeeper (warung)"),
    Occupation.MARKET_TRADER: _l("Market trader"),
    Occupation.ONLINE_TRADER: _l("Online seller"),
    Occupation.OJEK_ONLINE: _l("Online motorcycle-taxi driver"),
    Occupation.OJEK_PANGKALAN: _l("Motorcycle-taxi driver at a base"),
    Occupation.PRIVATE_DRIVER: _l("Private driver"),
    Occupation.COURIER: _l("Courier"),
    Occupation.LOGISTICS_WORKER: _l("Logistics worker"),
    Occupation.FISHER: _l("Fisher"),
    Occupation.DOMESTIC_WORKER: _l("Domestic worker"),
    Occupation.GARDENER: _l("Gardener"),
    Occupation.STREET_VENDOR: _l("Street vendor"),
    Occupation.PARKING_ATTENDANT: _l("Parking attendant"),
    Occupation.CONSTRUCTION_LABOURER: _l("Construction labourer"),
    Occupation.PORT_LABOURER: _l("Port labourer"),
    Occupation.MOSQUE_CARETAKER: _l("Mosque caretaker"),
    Occupation.QURAN_TEACHER: _l("Quran teacher"),
    Occupation.SCAVENGER: _l("Scavenger"),
    Occupation.OTHER: _l("Other"),
}

# PP 50/2025 discount: online and base motorcycle-taxi drivers, drivers, couriers, logistics.
TRANSPORT_OCCUPATIONS = frozenset(
    {
        Occupation.OJEK_ONLINE,
        Occupation.OJEK_PANGKALAN,
        Occupation.PRIVATE_DRIVER,
        Occupation.COURIER,
        Occupation.LOGISTICS_WORKER,
    }
)


def is_transport(occupation: Occupation) -> bool:
    return occupation in TRANSPORT_OCCUPATIONS


# --- NIK: PP RR DD dd mm yy SSSS ---------------------------------------------------------

_NIK_SEPARATORS = re.compile(r"[\s.\-]")
_FEMALE_DAY_OFFSET = 40
_NIK_GENDER_MESSAGES = {
    Gender.FEMALE: _l(
        "This NIK is a woman's (digits 7–8 are the day of birth plus 40), but the gender chosen "
        "is male. Please check the NIK and the gender."
    ),
    Gender.MALE: _l(
        "This NIK is a man's (a woman's has the day of birth plus 40 in digits 7–8), but the "
        "gender chosen is female. Please check the NIK and the gender."
    ),
}


@dataclass(frozen=True, slots=True)
class NikCheck:
    """A well-formed NIK, split into Kemendagri codes (``32``, ``3201``, ``320101``).

    Well-formed is not the same as real: a NIK has no check digit.
    """

    nik: str = field(repr=False)  # never in logs
    province_code: str
    regency_code: str
    district_code: str
    birth_date: date
    gender: Gender
    warnings: tuple[LazyString, ...] = ()

    @property
    def province_name(self) -> str:
        return PROVINCES[self.province_code]


def check_nik(
    raw: str,
    *,
    birth_date: date | None = None,
    gender: Gender | None = None,
    today: date | None = None,
) -> NikCheck:
    """Check a NIK's shape and codes; raise `InvalidNik` for what cannot be right.

    A NIK whose date differs from the entered ``birth_date`` is kept with a warning: Dukcapil
    issues such NIKs legitimately. A NIK coded for the other ``gender`` (a woman's adds 40 to
    the day of birth) is refused: BPJS matches the NIK's gender, so one of the two is a typo.
    """
    nik = _NIK_SEPARATORS.sub("", raw)
    _check_nik_codes(nik)
    nik_birth_date, nik_gender = _birth_date_and_gender(nik, today or date.today())
    if gender is not None and gender != nik_gender:
        raise InvalidNik(_NIK_GENDER_MESSAGES[nik_gender], code="gender")
    warnings: list[LazyString] = []
    if birth_date is not None and birth_date != nik_birth_date:
        warnings.append(
            _l("The birth date in the NIK differs from the one entered. Please check both.")
        )
    return NikCheck(
        nik=nik,
        province_code=nik[:2],
        regency_code=nik[:4],
        district_code=nik[:6],
        birth_date=nik_birth_date,
        gender=nik_gender,
        warnings=tuple(warnings),
    )


def _check_nik_codes(nik: str) -> None:
    if len(nik) != 16:
        raise InvalidNik(_l("A NIK has exactly 16 digits."), code="length")
    if not (nik.isascii() and nik.isdigit()):
        raise InvalidNik(_l("A NIK contains only digits."), code="digits")
    if nik[:2] not in PROVINCES:
        raise InvalidNik(
            _l("The first two digits of the NIK are not a province code."), code="province"
        )
    # 01–69 are regencies (kabupaten), 71–99 cities (kota); 00 and 70 are unused.
    if nik[2:4] in ("00", "70"):
        raise InvalidNik(
            _l("Digits 3–4 of the NIK are not a regency or city code."), code="regency"
        )
    if nik[4:6] == "00":
        raise InvalidNik(_l("Digits 5–6 of the NIK are not a district code."), code="district")
    if nik[12:] == "0000":
        raise InvalidNik(_l("The last four digits of the NIK cannot be 0000."), code="serial")


def _birth_date_and_gender(nik: str, today: date) -> tuple[date, Gender]:
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    gender = Gender.MALE
    if day > _FEMALE_DAY_OFFSET:
        gender, day = Gender.FEMALE, day - _FEMALE_DAY_OFFSET
    # The latest century that does not put the birth in the future.
    for century in (2000, 1900):
        try:
            born = date(century + year, month, day)
        except ValueError:
            continue
        if born <= today:
            return born, gender
    raise InvalidNik(_l("Digits 7–12 of the NIK are not a birth date."), code="date")


# --- Mobile numbers: +62 8 followed by 9–12 digits ----------------------------------------

# Digits and the separators people type; letters would be read as a keypad by phonenumbers.
_PHONE_SHAPE = re.compile(r"\+?[0-9\s().\-]+")
_PHONE_LENGTH_ERRORS = frozenset(
    {
        phonenumbers.NumberParseException.TOO_LONG,
        phonenumbers.NumberParseException.TOO_SHORT_NSN,
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD,
    }
)
_PHONE_MESSAGES = {
    "format": _l("Enter the mobile number in digits, e.g. 0812 3456 7890."),
    "country": _l("Enter an Indonesian mobile number (+62)."),
    "mobile": _l("Enter a mobile number starting with 08; landlines cannot receive codes."),
    "length": _l("An Indonesian mobile number has 11 to 14 digits, starting with 08."),
    "too_short": _l(
        "This number is too short: an Indonesian mobile number has 11 to 14 digits, e.g. "
        "0812 3456 7890."
    ),
    "too_long": _l(
        "This number is too long: an Indonesian mobile number has 11 to 14 digits, e.g. "
        "0812 3456 7890."
    ),
}
TELKOMSEL_PREFIXES = frozenset(
    {"0811", "0812", "0813", "0821", "0822", "0823", "0851", "0852", "0853"}
)


def _phone_error(code: str, message: str | None = None) -> InvalidPhone:
    return InvalidPhone(_PHONE_MESSAGES[message or code], code=code)


def _length_error(national: str) -> InvalidPhone:
    """Code ``length``; the message says whether digits are missing or too many."""
    return _phone_error("length", "too_short" if len(national) < 10 else "too_long")


def normalize_phone(raw: str) -> str:
    """Return an Indonesian mobile number as E.164 (``+628…``); raise `InvalidPhone`."""
    national = _indonesian_national_number(raw.strip())
    if not national.startswith("8"):
        raise _phone_error("mobile")
    if not 10 <= len(national) <= 13:
        raise _length_error(national)
    return f"+62{national}"


def _indonesian_national_number(text: str) -> str:
    if not _PHONE_SHAPE.fullmatch(text):
        raise _phone_error("format")
    if text.startswith("62"):  # typed without "+"; no Indonesian mobile starts with 62
        text = f"+{text}"
    try:
        number = phonenumbers.parse(text, "ID")
    except phonenumbers.NumberParseException as error:
        if error.error_type not in _PHONE_LENGTH_ERRORS:
            raise _phone_error("format") from None
        too_long = error.error_type == phonenumbers.NumberParseException.TOO_LONG
        raise _phone_error("length", "too_long" if too_long else "too_short") from None
    if number.country_code != 62:
        raise _phone_error("country")
    # phonenumbers keeps the 0 of a number too short to be valid ("0812 77" → leading zero +
    # 81277). That 0 is the trunk prefix people type: the number is too short, not a landline.
    return str(number.national_number)


def mask_phone(e164: str) -> str:
    """``+62 812-••••-789``: operator prefix and last three digits; the length stays hidden."""
    national = normalize_phone(e164).removeprefix("+62")
    return f"+62 {national[:3]}-••••-{national[-3:]}"


def is_telkomsel(e164: str) -> bool:
    """By prefix only: numbers move between operators, so confirm with a one-time code."""
    return f"0{normalize_phone(e164)[3:6]}" in TELKOMSEL_PREFIXES


# --- Public cards and directory filters ---------------------------------------------------


class AgeBand(StrEnum):
    UNDER_18 = "<18"
    FROM_18_TO_24 = "18–24"
    FROM_25_TO_34 = "25–34"
    FROM_35_TO_44 = "35–44"
    FROM_45_TO_54 = "45–54"
    FROM_55 = "55+"


_AGE_BAND_FLOORS = (
    (55, AgeBand.FROM_55),
    (45, AgeBand.FROM_45_TO_54),
    (35, AgeBand.FROM_35_TO_44),
    (25, AgeBand.FROM_25_TO_34),
    (18, AgeBand.FROM_18_TO_24),
)


def age_on(birth_date: date, today: date) -> int:
    if birth_date > today:
        raise ValueError("birth_date is in the future")
    had_birthday = (today.month, today.day) >= (birth_date.month, birth_date.day)
    return today.year - birth_date.year - (0 if had_birthday else 1)


def age_band(birth_date: date, today: date | None = None) -> AgeBand:
    age = age_on(birth_date, today or date.today())
    return next((band for floor, band in _AGE_BAND_FLOORS if age >= floor), AgeBand.UNDER_18)


def first_name_and_initial(full_name: str) -> str:
    """``Siti Nurhaliza Putri`` → ``Siti N.``; a single name stays whole.

    KTP names are in capitals, so an all-capital first name is shown capitalised.
    """
    names = full_name.split()
    if not names:
        raise ValueError("full_name is empty")
    first, *rest = names
    if first.isupper():
        first = first.capitalize()
    initial = next((name[0].upper() for name in rest if name[0].isalpha()), None)
    return f"{first} {initial}." if initial else first
