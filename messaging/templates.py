"""Every text Payung sends, in one place: an id, the English source (Indonesian in
``translations/id``; both are tested), the parameters it takes, and how many SMS parts it may
take when it goes to a phone. Callers give the id and the parameters; :func:`render` writes
the text in the recipient's language. Links come from :mod:`messaging.links`, never from
``url_for`` in a service.

A text sent to a phone must fit its ``sms_parts`` with the worst parameters it can get
(``worst``): tests/messaging/test_templates.py renders each in both languages. Texts of one
part are kept in the GSM 7-bit alphabet (160 characters a part, 153 when split); one character
outside it (“ ” • é) makes the whole SMS UCS-2, 70 characters a part (67 when split).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _

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


def _others(params: Params) -> dict[str, object]:
    """ngettext fills in ``num`` itself."""
    return {key: value for key, value in params.items() if key != "num"}


@dataclass(frozen=True)
class Template:
    id: str
    body: Callable[[Params], str]
    subject: Callable[[Params], str] | None = None
    sms_parts: int | None = None  # None: email only
    worst: dict[str, object] = field(default_factory=dict)


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

CATALOGUE: dict[str, Template] = {
    t.id: t
    for t in (
        Template(
            "sign_in",
            lambda p: _(
                "Payung: your sign-in code is %(code)s. Valid for %(minutes)s minutes. "
                "Never share it with anyone.",
                **p,
            ),
            sms_parts=1,
            worst={"code": "999999", "minutes": 60},
        ),
        Template(
            "phone_change",
            lambda p: _(
                "Payung: your code to use this number in Payung is %(code)s. Valid for "
                "%(minutes)s minutes. Never share it with anyone.",
                **p,
            ),
            sms_parts=1,
            worst={"code": "999999", "minutes": 60},
        ),
        Template(
            "phone_changed",
            lambda p: _(
                "Payung: the number of your Payung account was changed to %(phone)s. If you did "
                "not do this, contact Payung at once.",
                **p,
            ),
            sms_parts=2,  # the masked number carries "•", so this SMS is UCS-2
            worst={"phone": "+62 812-••••-789"},
        ),
        Template(
            "claim_code",
            lambda p: _(
                "Payung: you have received %(bundle)s. Your bundle code: %(code)s. Claim it at "
                "%(link)s. Never share this code.",
                **p,
            ),
            sms_parts=2,
            worst={"bundle": BUNDLE, "code": "ABCD-EFGH-JKLM-NPQR-S", "link": LINK},
        ),
        Template(
            "lapse_worker",
            lambda p: ngettext(
                "Payung: your BPJS Ketenagakerjaan cover ends on %(date)s, in %(num)d day. "
                "Dues for the next month are due by %(due)s. Ask your sponsor to renew, or "
                "check at %(link)s",
                "Payung: your BPJS Ketenagakerjaan cover ends on %(date)s, in %(num)d days. "
                "Dues for the next month are due by %(due)s. Ask your sponsor to renew, or "
                "check at %(link)s",
                int(p["num"]),  # type: ignore[call-overload]
                **_others(p),
            ),
            sms_parts=2,
            worst={"date": DATE_EN, "num": 14, "due": DATE_EN, "link": LINK},
        ),
        Template(
            "lapse_worker_renewing",
            lambda p: _(
                "Payung: your BPJS Ketenagakerjaan cover runs until %(date)s. Your sponsor "
                "renews it automatically; we will tell you when it is done. Check at %(link)s",
                **p,
            ),
            sms_parts=2,
            worst={"date": DATE_EN, "link": LINK},
        ),
        Template(
            "opt_out_stop",
            lambda p: _(
                "Payung: you will no longer get news from Payung. Sign-in and claim codes "
                "still come. Send MULAI to get news again."
            ),
            sms_parts=1,
        ),
        Template(
            "opt_out_start",
            lambda p: _("Payung: you will get news from Payung again. Send BERHENTI to stop."),
            sms_parts=1,
        ),
        Template(
            "klaim_help",
            lambda p: _("Payung: to claim a bundle, send KLAIM followed by the code."),
            sms_parts=1,
        ),
        Template(
            "lapse_sponsor",
            lambda p: _(
                "The BPJS Ketenagakerjaan cover you paid for %(name)s ends on %(date)s. Dues "
                "for the next month are due by %(due)s; after more than 3 unpaid months the "
                "membership ends and the protection is lost.\n\nRenew in one tap (the same "
                "bundle and months go into your cart, you check them before paying): %(link)s",
                **p,
            ),
            subject=lambda p: ngettext(
                "Cover for %(name)s ends in %(num)d day",
                "Cover for %(name)s ends in %(num)d days",
                int(p["num"]),  # type: ignore[call-overload]
                **_others(p),
            ),
            worst={"name": NAME, "date": DATE_EN, "due": DATE_EN, "num": 14, "link": LINK},
        ),
        Template(
            "lapse_sponsor_auto",
            lambda p: _(
                "The BPJS Ketenagakerjaan cover you paid for %(name)s ends on %(date)s. "
                "Automatic renewal is on: your saved card will be charged on %(charge)s, and we "
                "will email you the receipt. Nothing to do.\n\nTo change or stop it: %(link)s",
                **p,
            ),
            subject=lambda p: _(
                "Automatic renewal for %(name)s on %(date)s", name=p["name"], date=p["charge"]
            ),
            worst={"name": NAME, "date": DATE_EN, "charge": DATE_EN, "link": LINK},
        ),
        Template(
            "worker_thanks",
            lambda p: _(
                "%(worker)s, whom you protected with order %(reference)s, sent you a thank-you:"
                "\n\n%(phrase)s\n%(words)s\n\nSee all thank-yous on your order page: %(link)s",
                **p,
            ),
            subject=lambda p: _("A thank-you from a worker you protected"),
            worst={
                "worker": NAME,
                "reference": "PAY-2027-000001",
                "phrase": "x" * 60,
                "words": "“" + "x" * 280 + "”",
                "link": LINK,
            },
        ),
    )
}


def current_locale() -> str:
    """The language of the page being answered (the sign-in page's, say), else the default."""
    locale = get_locale()
    return str(locale) if locale else str(current_app.config["BABEL_DEFAULT_LOCALE"])


def render(template_id: str, locale: str, **params: object) -> Rendered:
    """The template's subject and text in ``locale``, with ``params`` filled in."""
    template = CATALOGUE[template_id]
    with force_locale(locale):
        body = template.body(params)
        subject = template.subject(params) if template.subject else None
    return Rendered(
        template=template_id,
        subject=subject,
        body=body,
        params=tuple(str(value) for value in params.values()),
    )
