"""Each phone number's wishes: WhatsApp or SMS, and "BERHENTI"/"STOP".

A number that sent STOP gets only *essential* messages — one-time codes, claim codes and the
answers to its own KLAIM texts, without which it could not sign in or claim what was paid for.
Sponsors are unaffected: their lapse alerts go by email. One-time codes always go by SMS.
Numbers are kept as keyed digests (``vault.digest``), never in clear.
"""

import re
from collections.abc import Iterable

from sqlalchemy import select

from extensions import db, utcnow
from messaging.models import Channel, Contact
from vault import digest

ESSENTIAL_PURPOSES = frozenset(
    {"sign_in", "phone_change", "phone_changed", "claim_code", "claim_sms_reply", "opt_out"}
)
OPTED_OUT = "recipient_opted_out"
SMS_ONLY_PURPOSES = frozenset({"sign_in", "phone_change", "phone_changed"})
_STOP = re.compile(r"^\s*(BERHENTI|STOP|UNSUBSCRIBE)\s*[.!]*\s*$", re.IGNORECASE)
_START = re.compile(r"^\s*(MULAI|START)\s*[.!]*\s*$", re.IGNORECASE)


def _digest(phone: str) -> str:
    return digest(phone, purpose="message-contact")


def find_contact(phone: str) -> Contact | None:
    return db.session.scalar(select(Contact).where(Contact.phone_digest == _digest(phone)))


def _contact(phone: str) -> Contact:
    contact = find_contact(phone)
    if contact is None:
        contact = Contact(phone_digest=_digest(phone))
        db.session.add(contact)
    contact.updated_at = utcnow()
    return contact


def is_stop(text: str) -> bool:
    return bool(_STOP.match(text or ""))


def is_start(text: str) -> bool:
    return bool(_START.match(text or ""))


def stop_messages(phone: str) -> None:
    """The number sent STOP: from now on only essential messages reach it."""
    contact = _contact(phone)
    contact.stopped_at = contact.stopped_at or utcnow()
    db.session.flush()


def resume_messages(phone: str) -> None:
    _contact(phone).stopped_at = None
    db.session.flush()


def set_channel(phone: str, channel: Channel) -> None:
    """The worker's choice on their own pages: WhatsApp (then SMS when it fails) or SMS."""
    if channel not in (Channel.WHATSAPP, Channel.SMS):
        raise ValueError(channel)
    _contact(phone).channel = channel.value
    db.session.flush()


def chosen_channel(phone: str) -> Channel | None:
    contact = find_contact(phone)
    return Channel(contact.channel) if contact and contact.channel else None


def is_stopped(phone: str) -> bool:
    contact = find_contact(phone)
    return bool(contact and contact.stopped_at)


def stopped_among(phones: Iterable[str]) -> set[str]:
    """The numbers among ``phones`` that sent STOP: one query for a whole batch."""
    by_digest = {_digest(phone): phone for phone in set(phones)}
    if not by_digest:
        return set()
    rows = db.session.scalars(
        select(Contact.phone_digest).where(
            Contact.phone_digest.in_(by_digest), Contact.stopped_at.is_not(None)
        )
    )
    return {by_digest[found] for found in rows}


def contacts_among(phones: Iterable[str]) -> dict[str, Contact]:
    """The contacts of those ``phones`` that have one: one query for a whole batch."""
    by_digest = {_digest(phone): phone for phone in set(phones)}
    if not by_digest:
        return {}
    rows = db.session.scalars(select(Contact).where(Contact.phone_digest.in_(by_digest)))
    return {by_digest[contact.phone_digest]: contact for contact in rows}


def route(
    channel: Channel, recipient: str, purpose: str, *, contacts: dict[str, Contact] | None = None
) -> tuple[Channel, Channel | None, bool]:
    """``(channel, fallback, suppressed)`` for a message the caller meant for ``channel``;
    ``contacts``: the batch's contacts, when the caller looked them up (``contacts_among``)."""
    if channel == Channel.EMAIL:
        return channel, None, False
    if purpose in SMS_ONLY_PURPOSES and purpose in ESSENTIAL_PURPOSES:
        # A one-time code goes by SMS even to a number that sent STOP: nothing the number
        # asked for changes that, so it is not looked up (a statement less per code sent).
        return Channel.SMS, None, False
    contact = contacts.get(recipient) if contacts is not None else find_contact(recipient)
    suppressed = bool(contact and contact.stopped_at) and purpose not in ESSENTIAL_PURPOSES
    if purpose in SMS_ONLY_PURPOSES:
        return Channel.SMS, None, suppressed
    if contact and contact.channel:
        channel = Channel(contact.channel)
    fallback = Channel.SMS if channel == Channel.WHATSAPP else None
    return channel, fallback, suppressed
