"""Searching the log of outbound messages for the admin page (``admin.messages_log.views``), and
what of each message it shows.

Phone numbers are masked and every code in a body is hidden (``admin.masking``): the log shows
that a message went out and what it said, never a secret it carried. A recipient can still be
searched for by typing the whole number or address.
"""

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, select

from admin import filters
from admin.masking import mask_recipient, mask_secrets
from core.identity import InvalidPhone, normalize_phone
from extensions import db
from messaging.models import Channel, Message, MessageStatus

PER_PAGE = 50
_LONG_NUMBER = re.compile(r"\+?\d[\d\s.-]{7,}\d")  # a phone number, as a provider may echo it
CHANNELS = tuple(channel.value for channel in Channel)
STATUSES = tuple(status.value for status in MessageStatus)
CHANNEL_LABELS = {"sms": _l("SMS"), "whatsapp": _l("WhatsApp"), "email": _l("Email")}


@dataclass
class MessageSearch:
    channel: str
    status: str
    purpose: str
    recipient: str  # as stored: E.164 or a lower-case address
    typed_recipient: str
    dates: filters.DateRange
    errors: list[LazyString]

    def args(self) -> dict[str, str]:
        shown = {
            "channel": self.channel,
            "status": self.status,
            "purpose": self.purpose,
            "recipient": self.typed_recipient,
        }
        return {key: value for key, value in shown.items() if value} | self.dates.args()


def read_search(args: dict[str, str]) -> MessageSearch:
    channel, status = args.get("channel", ""), args.get("status", "")
    typed = filters.text(args, "recipient", 254)
    dates = filters.date_range(args)
    errors = list(dates.errors)
    recipient = ""
    if "@" in typed:
        recipient = typed.lower()
    elif typed:
        try:
            recipient = normalize_phone(typed)
        except InvalidPhone:
            errors.append(_l("Type the whole phone number (08… or +62…) or email address."))
    return MessageSearch(
        channel=channel if channel in CHANNELS else "",
        status=status if status in STATUSES else "",
        purpose=filters.text(args, "purpose", 40),
        recipient=recipient,
        typed_recipient=typed,
        dates=dates,
        errors=errors,
    )


def search_messages(search: MessageSearch, *, page: int) -> Pagination:
    """Newest first; two statements (count, page)."""
    conditions: list[ColumnElement[bool]] = []
    if search.channel:
        conditions.append(Message.channel == search.channel)
    if search.status:
        conditions.append(Message.status == search.status)
    if search.purpose:
        conditions.append(Message.purpose == search.purpose)
    if search.recipient:
        conditions.append(Message.recipient == search.recipient)
    conditions.extend(search.dates.within(Message.created_at))
    return db.paginate(
        select(Message).where(*conditions).order_by(Message.created_at.desc(), Message.id.desc()),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )


@dataclass(frozen=True)
class ShownMessage:
    message: Message
    recipient: str
    subject: str
    body: str
    error: str  # the provider's reason; a number it repeats is hidden, its error codes stay


def shown(messages: list[Message]) -> list[ShownMessage]:
    return [
        ShownMessage(
            message=message,
            recipient=mask_recipient(message.recipient),
            subject=mask_secrets(message.subject or ""),
            body=mask_secrets(message.body),
            error=_LONG_NUMBER.sub("••••", message.error or ""),
        )
        for message in messages
    ]
