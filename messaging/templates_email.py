"""The catalogue's emails to partners, sponsors and admins (:mod:`messaging.templates` holds
the texts sent to phones and merges these in). Amounts are given in whole rupiah and written
here in the recipient's language; lists (refunded parts) are given as data and written here, so
no caller composes a text of its own."""

from flask_babel import gettext as _

from i18n import rupiah
from messaging.template_types import BUNDLE, LINK, NAME, Params, Template

PARTNER = "P" * 120  # Partner.name holds up to 120 characters
REASON = "R" * 500  # a status reason, as long as the admin form allows
REFERENCE = "PAY-2027-000001"
LISTED_PARTS = 20  # a refund email lists this many parts, then "… and N more."


def _renewal_what(p: Params) -> str:
    return _(
        "%(bundle)s for %(worker)s, %(months)s month(s) from %(period)s",
        bundle=p["bundle"],
        worker=p["worker"],
        months=p["months"],
        period=p["period"],
    )


def _renewal_subject(p: Params) -> str:
    return _("Automatic renewal for %(worker)s did not go through", worker=p["worker"])


def _refund_lines(p: Params) -> str:
    lines = [
        _(
            "- %(worker)s: %(offer)s, %(amount)s refunded",
            worker=line["worker"],
            offer=line["offer"],
            amount=rupiah(int(line["amount"])),
        )
        for line in p["lines"]  # type: ignore[attr-defined]
    ]
    more = int(p["count"]) - len(lines)  # type: ignore[call-overload]
    if more > 0:
        lines.append(_("… and %(count)s more.", count=more))
    return "\n".join(lines)


RENEWAL = {"bundle": BUNDLE, "worker": NAME, "months": 12, "period": "12/2027"}

EMAIL_TEMPLATES = (
    Template(
        "partner_approved",
        lambda p: _(
            "Good news: %(name)s can now list offers, upload codes and compose bundles on "
            "Payung.\n\nOpen your partner dashboard: %(link)s",
            **p,
        ),
        subject=lambda p: _("Your Payung partner account is approved"),
        worst={"name": PARTNER, "link": LINK},
    ),
    Template(
        "partner_rejected",
        lambda p: _(
            "We could not approve %(name)s yet. Reason: %(reason)s\n\nYou can correct your "
            "profile and send it again: %(link)s",
            **p,
        ),
        subject=lambda p: _("Your Payung partner application needs changes"),
        worst={"name": PARTNER, "reason": REASON, "link": LINK},
    ),
    Template(
        "partner_suspended",
        lambda p: _(
            "%(name)s is suspended: its offers are no longer sold. Reason: %(reason)s\n\n"
            "Amounts already owed to you are still settled. Reply to this email to talk "
            "to us.",
            **p,
        ),
        subject=lambda p: _("Your Payung partner account is suspended"),
        worst={"name": PARTNER, "reason": REASON},
    ),
    Template(
        "partner_low_stock",
        lambda p: _(
            "Only %(available)s codes are left for %(offer)s (your alert level is "
            "%(threshold)s). When the pool is empty, this part cannot be delivered and "
            "sponsors are refunded.\n\nUpload more codes: %(link)s",
            **p,
        ),
        subject=lambda p: _("Low stock: %(offer)s", offer=p["offer"]),
        worst={"available": 99999, "offer": "O" * 120, "threshold": 99999, "link": LINK},
    ),
    Template(
        "renewal_unprepared",
        lambda p: _(
            "We could not prepare the automatic renewal of %(what)s: %(reason)s. Please "
            "cover the worker yourself: %(link)s",
            what=_renewal_what(p),
            reason=p["reason"],
            link=p["link"],
        ),
        subject=_renewal_subject,
        worst={**RENEWAL, "reason": REASON, "link": LINK},
    ),
    Template(
        "renewal_authenticate",
        lambda p: _(
            "Your bank wants you to confirm the payment of %(amount)s for %(what)s. Please "
            "pay it here: %(link)s",
            amount=rupiah(int(p["amount"])),  # type: ignore[call-overload]
            what=_renewal_what(p),
            link=p["link"],
        ),
        subject=_renewal_subject,
        worst={**RENEWAL, "amount": 99_999_999, "link": LINK},
        inner=frozenset({"amount"}),
    ),
    Template(
        "renewal_declined_retry",
        lambda p: _(
            "The card saved for %(what)s was declined (%(reason)s). We will try again on "
            "%(date)s. You can also pay %(amount)s now: %(link)s",
            what=_renewal_what(p),
            reason=p["reason"],
            date=p["date"],
            amount=rupiah(int(p["amount"])),  # type: ignore[call-overload]
            link=p["link"],
        ),
        subject=_renewal_subject,
        worst={
            **RENEWAL,
            "reason": REASON,
            "date": "31/12/2027",
            "amount": 99_999_999,
            "link": LINK,
        },
        inner=frozenset({"amount"}),
    ),
    Template(
        "renewal_declined_final",
        lambda p: _(
            "The card saved for %(what)s was declined again (%(reason)s) and we stopped "
            "trying. To keep the worker covered, pay %(amount)s here: %(link)s",
            what=_renewal_what(p),
            reason=p["reason"],
            amount=rupiah(int(p["amount"])),  # type: ignore[call-overload]
            link=p["link"],
        ),
        subject=_renewal_subject,
        worst={**RENEWAL, "reason": REASON, "amount": 99_999_999, "link": LINK},
        inner=frozenset({"amount"}),
    ),
    Template(
        "renewal_pay_link",
        lambda p: _(
            "The cover of %(worker)s (%(bundle)s) ends soon. To renew it for %(months)s "
            "month(s) from %(period)s, pay %(amount)s by QRIS here: %(link)s — or by bank "
            "transfer (virtual account) or e-wallet: %(other)s",
            **{**p, "amount": rupiah(int(p["amount"]))},  # type: ignore[call-overload]
        ),
        subject=lambda p: _("Time to renew the cover of %(worker)s", worker=p["worker"]),
        worst={**RENEWAL, "amount": 99_999_999, "link": LINK, "other": LINK + "/bayar"},
        inner=frozenset({"amount"}),
    ),
    Template(
        "fulfillment_refund",
        lambda p: _(
            "We could not deliver these parts of order %(reference)s, so we refunded them to "
            "the card you paid with:\n\n%(parts)s\n\nTotal refunded: %(total)s. Refunds take a "
            "few days to appear on your statement. Everything else in the order is delivered "
            "as planned; you can follow every part on your dashboard: %(link)s",
            reference=p["reference"],
            parts=_refund_lines(p),
            total=rupiah(int(p["total"])),  # type: ignore[call-overload]
            link=p["link"],
        ),
        subject=lambda p: _(
            "Order %(reference)s: %(count)s part(s) could not be delivered",
            reference=p["reference"],
            count=p["count"],
        ),
        worst={
            "reference": REFERENCE,
            "count": 5000,
            "lines": [{"worker": NAME, "offer": "O" * 120, "amount": 9_999_999}] * LISTED_PARTS,
            "total": 99_999_999_999,
            "link": LINK,
        },
        inner=frozenset({"lines", "total"}),
    ),
    Template(
        "fulfillment_alert",
        lambda p: _(
            "These parts could not be issued. Their sponsors are being refunded and "
            "told.\n\nBy reason:\n%(reasons)s\n\nRetry, resend, void or substitute "
            "them here: %(link)s",
            **p,
        ),
        subject=lambda p: _("%(count)s part(s) could not be issued", count=p["count"]),
        worst={"count": 5000, "reasons": "- partner_timeout: 5000", "link": LINK},
    ),
)
