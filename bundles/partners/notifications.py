"""Emails to partners: decisions on their application and low code stock.

Messages come from the catalogue (``messaging/templates_email.py``), written in the partner
user's language and queued with ``queue_template`` (sent after the
commit). Links are absolute, built from SITE_URL, so they work from a job too.
"""

from flask import current_app

from bundles.models import Offer, Partner, PartnerStatus
from core.links import absolute_url
from messaging.models import Channel, Message
from messaging.services import queue_template


def _locale(partner: Partner) -> str:
    return partner.user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]


def _email(partner: Partner, template: str, purpose: str, **params: object) -> Message | None:
    recipient = partner.notification_email
    if not recipient:
        return None
    return queue_template(
        template,
        channel=Channel.EMAIL,
        recipient=recipient,
        purpose=purpose,
        locale=_locale(partner),
        **params,
    )


def partner_decision(partner: Partner) -> Message | None:
    """Tell the partner it was approved, rejected (with the reason) or suspended."""
    link = absolute_url("partner.dashboard")
    reason = partner.status_reason or ""
    if partner.status == PartnerStatus.APPROVED:
        return _email(partner, "partner_approved", "partner_status", name=partner.name, link=link)
    if partner.status == PartnerStatus.REJECTED:
        return _email(
            partner,
            "partner_rejected",
            "partner_status",
            name=partner.name,
            reason=reason,
            link=link,
        )
    if partner.status == PartnerStatus.SUSPENDED:
        return _email(
            partner, "partner_suspended", "partner_status", name=partner.name, reason=reason
        )
    return None


def low_stock(offer: Offer, available: int) -> Message | None:
    locale = _locale(offer.partner)
    return _email(
        offer.partner,
        "partner_low_stock",
        "low_stock",
        available=available,
        offer=offer.name_in(locale),
        threshold=offer.low_stock_threshold,
        link=absolute_url("partner.offer_detail", offer_id=offer.id),
    )
