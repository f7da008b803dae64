"""The sponsor's choice for the workers of an order: whether workers see the sponsor's name or
"a sponsor", and an optional short message. Plain text only: it is escaped wherever shown.

Services flush; the view commits.
"""

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.errors import DomainError
from extensions import db
from sponsorship.checkout.models import Order
from sponsorship.notes.models import MESSAGE_MAX, SponsorNote

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class NoteError(DomainError, ValueError):
    pass


def note_for(order: Order) -> SponsorNote | None:
    return db.session.scalar(select(SponsorNote).where(SponsorNote.order_id == order.id))


def plain_text(raw: str | None) -> str | None:
    """Trimmed plain text with line breaks kept (at most two in a row); None when empty."""
    text = _CONTROL.sub("", (raw or "").replace("\r\n", "\n")).strip()
    return re.sub(r"\n{3,}", "\n\n", text) or None


def clean_message(raw: str | None) -> str | None:
    """``plain_text``; raises NoteError when longer than MESSAGE_MAX characters."""
    text = plain_text(raw)
    if text and len(text) > MESSAGE_MAX:
        raise NoteError(_l("The message can have at most %(max)s characters.", max=MESSAGE_MAX))
    return text


def save_note(order: Order, *, show_name: bool, message: str | None) -> SponsorNote:
    """Create or replace the order's note. Checks first, so a refusal changes nothing."""
    cleaned = clean_message(message)
    note = note_for(order)
    if note is None:
        note = SponsorNote(order_id=order.id)
        db.session.add(note)
    note.show_name = show_name
    note.message = cleaned
    db.session.flush()
    return note
