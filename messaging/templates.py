"""Every text Payung sends, in one place: an id, the English source (Indonesian in
``translations/id``; both are tested), the parameters it takes, and how many SMS parts it may
take when it goes to a phone. Callers give the id and the parameters; :func:`render` writes
the text in the recipient's language. Links come from :mod:`messaging.links`, never from
``url_for`` in a service. Emails to partners, sponsors and admins are in
:mod:`messaging.templates_email` (merged into ``CATALOGUE`` here); no module outside messaging/
queues a text of its own (tests/messaging/test_templates.py reads the source).

A text sent to a phone must fit its ``sms_parts`` with the worst parameters it can get
(``worst``): tests/messaging/test_templates.py renders each in both languages. Texts of one
part are kept in the GSM 7-bit alphabet (160 characters a part, 153 when split); one character
outside it (“ ” • é) makes the whole SMS UCS-2, 70 characters a part (67 when split).
"""

from flask import current_app
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _

from messaging.template_types import (
    BUNDLE,
    DATE_EN,
    DATE_ID,
    LINK,
    NAME,
    Params,
    Rendered,
    Template,
    others,
    sms_parts,
)
from messaging.templates_email import EMAIL_TEMPLATES

__all__ = [
    "CATALOGUE",
    "DATE_ID",
    "Rendered",
    "Template",
    "current_locale",
    "render",
    "sms_parts",
]

# The SMS parts a text may take, measured with the worst parameters (the tests hold them).
SMS_INVITATION = 2
SMS_ENROLMENT = 3  # a partner's name is up to 120 characters
SMS_HELD = 4  # ... and this text names the partner twice
SMS_ESSENTIALS = 4

# Why a typed bundle code is refused (the same texts as the claim page's).
KLAIM_REFUSALS = {
    "length": "A bundle code has 17 letters and digits.",
    "charset": "That is not a bundle code: it contains a character bundle codes never use.",
    "check": "That bundle code has a typo. Please check each character.",
    "unknown": "We do not know this bundle code. Check the SMS: a code that was sent again "
    "replaces the old one.",
}

WORST_PARTS = (
    {"kind": "health_app", "name": "H" * 60, "codes": ["ABCD-EFGH-JKLM-NPQR"] * 2},
    {
        "kind": "insurance_dues",
        "kpj": "12345678901",
        "programmes": "JKK+JKM+JHT",
        "date": "31-12-2027",
    },
    {"kind": "data_quota", "name": "D" * 60},
    {"kind": "preparing", "name": "X" * 60},
)


def klaim_essentials(p: Params) -> str:
    """The answer to ``KLAIM <code>``: each part of the bundle in a sentence (``parts`` are
    dicts with a ``kind``: preparing, health_app, insurance_dues or data_quota)."""
    lines = [_("Payung: %(bundle)s.", bundle=p["bundle"])]
    for part in p["parts"]:  # type: ignore[attr-defined]
        kind = part["kind"]
        if kind == "preparing":
            lines.append(_("%(part)s: still being prepared.", part=part["name"]))
        elif kind == "health_app":
            codes = ", ".join(part["codes"])
            lines.append(_("%(part)s voucher: %(codes)s.", part=part["name"], codes=codes))
        elif kind == "insurance_dues":
            lines.append(
                _(
                    "BPJS KPJ %(kpj)s, %(programmes)s, covered until %(date)s.",
                    kpj=part["kpj"],
                    programmes=part["programmes"],
                    date=part["date"],
                )
            )
        elif kind == "data_quota":
            lines.append(_("%(part)s: sent to your number.", part=part["name"]))
    return " ".join(lines)


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
                **others(p),
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
            "worker_invitation",
            lambda p: _(
                "Payung: %(sponsor)s would like to pay your BPJS Ketenagakerjaan dues. Open "
                "%(link)s to complete your details and agree. Ignore this message if you do "
                "not know them.",
                **p,
            ),
            sms_parts=SMS_INVITATION,
            worst={"sponsor": "S" * 80, "link": "https://payung.id/undangan/" + "t" * 32},
        ),
        Template(
            "enrolment_welcome",
            lambda p: _(
                "Payung: %(agent)s registered you so that sponsors can pay your BPJS "
                "Ketenagakerjaan dues. Sign in at %(link)s with this number to check your data "
                "and confirm or withdraw your consent.",
                **p,
            ),
            sms_parts=SMS_ENROLMENT,
            worst={"agent": "P" * 120, "link": "https://payung.id/saya"},
        ),
        Template(
            "enrolment_held",
            lambda p: _(
                "Payung: %(agent)s sent your details to register you, but you are already "
                "registered, so nothing changed. If you want %(agent)s to help you, tell them; "
                "otherwise you need do nothing. Your data: %(link)s",
                **p,
            ),
            sms_parts=SMS_HELD,
            worst={"agent": "P" * 120, "link": "https://payung.id/saya"},
        ),
        Template(
            "klaim_refused",
            lambda p: "Payung: " + _(KLAIM_REFUSALS[str(p["reason"])]),
            sms_parts=1,
            worst={"reason": "charset"},
            inner=frozenset({"reason"}),
        ),
        Template(
            "klaim_essentials",
            klaim_essentials,
            sms_parts=SMS_ESSENTIALS,
            worst={"bundle": BUNDLE, "parts": WORST_PARTS},
            inner=frozenset({"parts"}),
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
                **others(p),
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
        *EMAIL_TEMPLATES,
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
        # A text written from data (``inner``) goes to WhatsApp whole, as a generic notice.
        params=() if template.inner else tuple(str(value) for value in params.values()),
    )
