"""Emails to partners: decisions on their application and low code stock.

Messages are written in the partner user's language and queued with ``queue_message`` (sent
after the commit). Links are absolute, built from SITE_URL, so they work from a job too.
"""

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from bundles.models import Offer, Partner, PartnerStatus
from core.links import absolute_url
from messaging.models import Channel, Message
from messaging.services import queue_message


def _locale(partner: Partner) -> str:
    return partner.user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]


def _email(partner: Partner, subject: str, body: str, purpose: str) -> Message | None:
    recipient = partner.notification_email
    if not recipient:
        return None
    return queue_message(
        channel=Channel.EMAIL, recipient=recipient, subject=subject, body=body, purpose=purpose
    )


def partner_decision(partner: Partner) -> Message | None:
    """Tell the partner it was approved, rejected (with the reason) or suspended."""
    link = absolute_url("partner.dashboard")
    with force_locale(_locale(partner)):
        if partner.status == PartnerStatus.APPROVED:
            subject = _("Your Payung partner account is approved")
            body = _(
                "Good news: %(name)s can now list offers, upload codes and compose bundles on "
                "Payung.\n\nOpen your partner dashboard: %(link)s",
                name=partner.name,
                link=link,
            )
        elif partner.status == PartnerStatus.REJECTED:
            subject = _("Your Payung partner application needs changes")
            body = _(
                "We could not approve %(name)s yet. Reason: %(reason)s\n\nYou can correct your "
                "profile and send it again: %(link)s",
                name=partner.name,
                reason=partner.status_reason or "",
                link=link,
            )
        elif partner.status == PartnerStatus.SUSPENDED:
            subject = _("Your Payung partner account is suspended")
            body = _(
                "%(name)s is suspended: its offers are no longer sold. Reason: %(reason)s\n\n"
                "Amounts already owed to you are still settled. Reply to this email to talk "
                "to us.",
                name=partner.name,
                reason=partner.status_reason or "",
            )
        else:
            return None
        return _email(partner, subject, body, "partner_status")


def low_stock(offer: Offer, available: int) -> Message | None:
    link = absolute_url("partner.offer_detail", offer_id=offer.id)
    with force_locale(_locale(offer.partner)):
        subject = _("Low stock: %(offer)s", offer=offer.name_in(_locale(offer.partner)))
        body = _(
            "Only %(available)s codes are left for %(offer)s (your alert level is "
            "%(threshold)s). When the pool is empty, this part cannot be delivered and "
            "sponsors are refunded.\n\nUpload more codes: %(link)s",
            available=available,
            offer=offer.name_in(_locale(offer.partner)),
            threshold=offer.low_stock_threshold,
            link=link,
        )
        return _email(offer.partner, subject, body, "low_stock")
