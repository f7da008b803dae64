"""One row of a bulk enrolment (a CSV line or a JSON object) checked into WorkerDetails.

Pure functions, no database: every problem of a row is reported at once, in the words of
the column it came from. Values may be written the way agents write them: ``P``/``L``,
``Petani`` or ``farmer``, ``Jawa Barat`` or ``32``, ``ya``/``tidak``, ``31-12-1990``.
"""

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from core.identity import (
    OCCUPATION_LABELS,
    PROVINCES,
    Gender,
    IdentityError,
    Occupation,
    age_on,
    check_nik,
    normalize_phone,
)
from workers.models import HeirRelation
from workers.registry import (
    MAX_AGE,
    MIN_AGE,
    NAME_MAX,
    REGENCY_MAX,
    STORY_MAX,
    HeirDetails,
    WorkerDetails,
)
from workers.search import fold

T = TypeVar("T")
Problem = Callable[[str, LazyString | str], None]

# Canonical keys (the JSON API uses these) and the Indonesian headers a CSV may use instead.
COLUMNS: dict[str, str] = {
    "full_name": "nama_lengkap",
    "nik": "nik",
    "phone": "no_hp",
    "birth_date": "tanggal_lahir",
    "gender": "jenis_kelamin",
    "occupation": "pekerjaan",
    "province": "provinsi",
    "regency": "kabupaten_kota",
    "story": "cerita",
    "heir_name": "nama_ahli_waris",
    "heir_relation": "hubungan_ahli_waris",
    "heir_phone": "hp_ahli_waris",
    "consent_listing": "setuju_ditampilkan",
    "consent_insurer": "setuju_data_bpjs",
}
OPTIONAL_COLUMNS = frozenset({"story", "heir_phone"})
REQUIRED_COLUMNS = tuple(key for key in COLUMNS if key not in OPTIONAL_COLUMNS)
HEADER_ALIASES = {**{key: key for key in COLUMNS}, **{alias: key for key, alias in COLUMNS.items()}}

EXTRA_CELLS = "__extra__"  # set by the CSV reader on a row longer than the header
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_PHONE = re.compile(r"\+[0-9 ]{8,20}")
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y")
_GENDERS = {
    Gender.FEMALE: ("female", "f", "p", "perempuan", "wanita"),
    Gender.MALE: ("male", "m", "l", "laki laki", "lakilaki", "pria"),
}
_RELATIONS = {
    HeirRelation.SPOUSE: ("spouse", "husband", "wife", "suami", "istri", "isteri", "pasangan"),
    HeirRelation.CHILD: ("child", "son", "daughter", "anak"),
    HeirRelation.PARENT: ("parent", "father", "mother", "orang tua", "orangtua", "ayah", "ibu"),
    HeirRelation.SIBLING: ("sibling", "brother", "sister", "saudara", "kakak", "adik"),
    HeirRelation.OTHER: ("other", "lainnya", "lain", "keluarga"),
}
_YES = frozenset({"ya", "y", "yes", "1", "true", "setuju"})
_NO = frozenset({"tidak", "t", "no", "n", "0", "false", "tidak setuju"})


def _key(text: str) -> str:
    return " ".join(fold(text))


@dataclass(frozen=True)
class Vocabulary:
    """Words accepted for coded columns, in Indonesian and English."""

    occupations: dict[str, Occupation]
    provinces: dict[str, str]
    genders: dict[str, Gender]
    relations: dict[str, HeirRelation]

    @classmethod
    def build(cls) -> "Vocabulary":
        occupations = {o.value: o for o in Occupation}
        occupations.update({_key(o.value): o for o in Occupation})
        for locale in ("id", "en"):
            with force_locale(locale):
                occupations.update({_key(str(lbl)): o for o, lbl in OCCUPATION_LABELS.items()})
        provinces = {code: code for code in PROVINCES}
        provinces.update({_key(name): code for code, name in PROVINCES.items()})
        return cls(
            occupations=occupations,
            provinces=provinces,
            genders={_key(w): g for g, words in _GENDERS.items() for w in words},
            relations={_key(w): r for r, words in _RELATIONS.items() for w in words},
        )


@dataclass
class ParsedRow:
    details: WorkerDetails | None = None
    phone_e164: str | None = field(default=None, repr=False)
    listing_consent: bool = False
    errors: list[LazyString | str] = field(default_factory=list)
    warnings: list[LazyString | str] = field(default_factory=list)


def is_formula(value: str, column: str) -> bool:
    """Spreadsheet formula cells are refused; ``+62 812…`` in a phone column is a number."""
    text = value.strip()
    if not text.startswith(FORMULA_STARTS):
        return False
    return not (column in ("phone", "heir_phone") and _PLAIN_PHONE.fullmatch(text))


def parse_row(
    raw: Mapping[str, object], *, vocabulary: Vocabulary, today: date, headers: dict[str, str]
) -> ParsedRow:
    """Check one row; ``headers`` maps canonical keys to the column names the file used."""
    row = ParsedRow()

    def problem(column: str, message: LazyString | str) -> None:
        row.errors.append(
            _l("%(column)s: %(message)s", column=headers.get(column, column), message=message)
        )

    if raw.get(EXTRA_CELLS):
        row.errors.append(
            _l("This row has more cells than the header has columns (a stray comma?).")
        )
    cells = {key: _cell(raw.get(key)) for key in COLUMNS}
    formulas = [key for key, value in cells.items() if value and is_formula(value, key)]
    for key in formulas:
        problem(
            key, _l("cells starting with =, +, - or @ are not accepted (spreadsheet formulas).")
        )
        cells[key] = ""
    for key in REQUIRED_COLUMNS:
        if not cells[key] and key not in formulas:
            problem(key, _l("this column is required."))

    name = cells["full_name"]
    if name and not (2 <= len(name) <= NAME_MAX and any(ch.isalpha() for ch in name)):
        problem("full_name", _l("write the full name as on the KTP (2 to 120 letters)."))
    born = _parse_date(cells["birth_date"], problem)
    gender = _lookup(
        cells["gender"],
        vocabulary.genders,
        "gender",
        problem,
        _l("write P (perempuan) or L (laki-laki)."),
    )
    occupation = _lookup(
        cells["occupation"],
        vocabulary.occupations,
        "occupation",
        problem,
        _l("not a work listed in the template instructions."),
    )
    province = _lookup(
        cells["province"],
        vocabulary.provinces,
        "province",
        problem,
        _l("write the province name or its two-digit code."),
    )
    regency = cells["regency"]
    if regency and not 3 <= len(regency) <= REGENCY_MAX:
        problem("regency", _l("write the regency or city (3 to 80 letters)."))
    if len(cells["story"]) > STORY_MAX:
        problem("story", _l("at most 400 letters."))
    relation = _lookup(
        cells["heir_relation"],
        vocabulary.relations,
        "heir_relation",
        problem,
        _l("write suami/istri, anak, orang tua, saudara or lainnya."),
    )
    if cells["heir_name"] and len(cells["heir_name"]) > NAME_MAX:
        problem("heir_name", _l("at most 120 letters."))
    row.phone_e164 = _phone(cells["phone"], "phone", problem)
    heir_phone = _phone(cells["heir_phone"], "heir_phone", problem)
    listing = _yes_no(cells["consent_listing"], "consent_listing", problem)
    insurer = _yes_no(cells["consent_insurer"], "consent_insurer", problem)
    if insurer is False:
        problem("consent_insurer", _l("without this consent no sponsor can pay the dues."))

    nik = None
    if cells["nik"]:
        try:
            checked = check_nik(cells["nik"], birth_date=born, gender=gender, today=today)
        except IdentityError as exc:
            problem("nik", exc.message)
        else:
            nik = checked.nik
            row.warnings.extend(
                _l("%(column)s: %(message)s", column=headers.get("nik", "nik"), message=w)
                for w in checked.warnings
            )
    if born is not None and not (born <= today and MIN_AGE <= age_on(born, today) <= MAX_AGE):
        problem("birth_date", _l("workers must be 15 to 100 years old."))

    if row.errors:
        return row
    assert nik and born and gender and occupation and province and relation
    row.listing_consent = bool(listing)
    row.details = WorkerDetails(
        full_name=name,
        nik=nik,
        birth_date=born,
        gender=gender,
        occupation=occupation,
        province_code=province,
        regency=regency,
        story=cells["story"] or None,
        heirs=(
            HeirDetails(full_name=cells["heir_name"], relation=relation, phone_e164=heir_phone),
        ),
    )
    return row


def _cell(value: object) -> str:
    """JSON rows may carry numbers or booleans; CSV rows carry strings."""
    return "" if value is None else str(value).strip()


def _parse_date(text: str, problem: Problem) -> date | None:
    if not text:
        return None
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    problem("birth_date", _l("write the date as 31-12-1990 or 1990-12-31."))
    return None


def _lookup(
    text: str, table: Mapping[str, T], column: str, problem: Problem, message: LazyString
) -> T | None:
    if not text:
        return None
    found = table.get(_key(text)) or table.get(text)
    if found is None:
        problem(column, message)
    return found


def _phone(text: str, column: str, problem: Problem) -> str | None:
    if not text:
        return None
    try:
        return normalize_phone(text)
    except IdentityError as exc:
        problem(column, exc.message)
        return None


def _yes_no(text: str, column: str, problem: Problem) -> bool | None:
    if not text:
        return None
    answer = text.strip().lower()
    if answer in _YES:
        return True
    if answer in _NO:
        return False
    problem(column, _l("write ya or tidak."))
    return None


def duplicate_keys(rows: Iterable[tuple[int, Mapping[str, object]]]) -> dict[str, list[int]]:
    """NIKs and phones that appear on more than one row, with those rows' numbers.

    Lenient on purpose: keys are made from whatever can be normalised, so a NIK typed with
    dots on one row and without on another still counts as the same.
    """
    seen: dict[str, list[int]] = {}
    for number, raw in rows:
        for key in row_keys(raw):
            seen.setdefault(key, []).append(number)
    return {key: numbers for key, numbers in seen.items() if len(numbers) > 1}


def row_keys(raw: Mapping[str, object]) -> list[str]:
    keys = []
    nik = re.sub(r"[\s.\-]", "", _cell(raw.get("nik")))
    if nik:
        keys.append(f"nik:{nik}")
    phone = _normalized_phone(_cell(raw.get("phone")))
    if phone:
        keys.append(f"phone:{phone}")
    return keys


@functools.lru_cache(maxsize=65_536)
def _normalized_phone(text: str) -> str | None:
    """Rows are keyed more than once per import; parsing a number is the costly part.
    ``forget_keys`` empties the cache when an import ends."""
    try:
        return normalize_phone(text)
    except IdentityError:
        return None


def forget_keys() -> None:
    _normalized_phone.cache_clear()
