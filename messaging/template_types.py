"""The shapes of the catalogue (:mod:`messaging.templates`): a template, a rendered text, and
how many SMS parts a text takes. Kept apart so the catalogue can live in more than one module
(phone texts in ``templates``, emails in ``templates_email``) under the module size limit."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Params = Mapping[str, object]

_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€")  # two septets each


def sms_parts(text: str) -> int:
    """How many SMS ``text`` takes (concatenated parts carry a 7-byte header)."""
    if all(c in _GSM7 or c in _GSM7_EXTENDED for c in text):
        length = sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
        single, part = 160, 153
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if length <= single else -(-length // part)


def others(params: Params) -> dict[str, object]:
    """ngettext fills in ``num`` itself."""
    return {key: value for key, value in params.items() if key != "num"}


@dataclass(frozen=True)
class Template:
    id: str
    body: Callable[[Params], str]
    subject: Callable[[Params], str] | None = None
    sms_parts: int | None = None  # None: email only
    worst: dict[str, object] = field(default_factory=dict)
    # Parameters not printed as given (a choice, a list the text is written from): the tests
    # do not look for their values in the text, and WhatsApp gets the whole text instead.
    inner: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Rendered:
    template: str
    subject: str | None
    body: str
    params: tuple[str, ...]  # in the template's order, for WhatsApp template messages


LINK = "https://payung.id/saya/perpanjang/9999999"  # worst-case links in the length tests
DATE_ID, DATE_EN = "30 September 2027", "September 30, 2027"
BUNDLE = "B" * 120  # Bundle.name holds up to 120 characters
NAME = "Christophorus W."  # first name and initial
