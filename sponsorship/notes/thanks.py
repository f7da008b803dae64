"""A worker thanks the sponsor of one of their order lines: a preset phrase and, if they
like, a few words of their own. Once per line. The sponsor reads it on the order page and by
email; it never carries the worker's phone number or NIK.

Services flush; the view commits.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from core.errors import DomainError
from core.identity import first_name_and_initial
from extensions import db
from messaging import links
from messaging.models import Channel
from messaging.services import queue_template
from sponsorship.checkout.models import Order, OrderLine
from sponsorship.notes.models import THANKS_TEXT_MAX, ThanksPhrase, ThankYou
from sponsorship.notes.sponsor_notes import plain_text
from workers.models import Worker

# Eight or more digits, maybe split by spaces, dots or dashes: a phone number or a NIK.
_LONG_NUMBER = re.compile(r"\d(?:[\s.\-]?\d){7,}")

PHRASES: dict[ThanksPhrase, LazyString] = {
    ThanksPhrase.THANK_YOU: _l("Thank you very much for your help."),
    ThanksPhrase.BLESS_YOU: _l("May God repay your kindness."),
    ThanksPhrase.FEEL_SAFE: _l("I feel safer at work now."),
    ThanksPhrase.FAMILY: _l("My family and I thank you."),
}


class ThanksError(DomainError, ValueError):
    """A thank-you refused (``message`` for the worker); nothing was written."""


class NotThanksable(ThanksError):
    """The line is not the worker's, or not paid: the view answers 404."""

    def __init__(self) -> None:
        super().__init__(_l("This page does not exist."))


class AlreadyThanked(ThanksError):
    def __init__(self) -> None:
        super().__init__(_l("You already sent a thank-you for this bundle."))


def line_to_thank(worker: Worker, line_id: int) -> OrderLine:
    """The worker's own line of a paid order; raises NotThanksable otherwise."""
    line = db.session.get(OrderLine, line_id)
    if line is None or line.worker_id != worker.id:
        raise NotThanksable()
    order = db.session.get(Order, line.order_id)
    if order is None or not order.is_paid:
        raise NotThanksable()
    return line


def thanks_for_line(line_id: int) -> ThankYou | None:
    return db.session.scalar(select(ThankYou).where(ThankYou.order_line_id == line_id))


def send_thanks(worker: Worker, line_id: int, *, phrase: str, text: str | None) -> ThankYou:
    """Record the thank-you and queue the sponsor's email (sent after the commit).

    Raises NotThanksable, AlreadyThanked, or ThanksError (unknown phrase, text too long);
    nothing is written on a refusal."""
    line = line_to_thank(worker, line_id)
    if phrase not in set(ThanksPhrase):
        raise ThanksError(_l("Choose one of the sentences."))
    words = plain_text(text)
    if words and len(words) > THANKS_TEXT_MAX:
        raise ThanksError(
            _l("Your words can have at most %(max)s characters.", max=THANKS_TEXT_MAX)
        )
    if words and _LONG_NUMBER.search(words):  # a phone number or NIK would reach the sponsor
        raise ThanksError(_l("Please do not write phone numbers or NIK in your message."))
    if thanks_for_line(line.id) is not None:
        raise AlreadyThanked()
    thanks = ThankYou(
        order_line_id=line.id,
        order_id=line.order_id,
        worker_id=worker.id,
        phrase=ThanksPhrase(phrase),
        text=words,
    )
    try:
        with db.session.begin_nested():  # two taps at once: the unique line decides
            db.session.add(thanks)
            db.session.flush()
    except IntegrityError:
        raise AlreadyThanked() from None
    _email_sponsor(line, worker, thanks)
    return thanks


def _email_sponsor(line: OrderLine, worker: Worker, thanks: ThankYou) -> None:
    order = db.session.get(Order, line.order_id)
    sponsor = db.session.get(User, order.sponsor_id) if order else None
    if order is None or sponsor is None or not sponsor.email:
        return
    locale = sponsor.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        phrase = str(PHRASES[ThanksPhrase(thanks.phrase)])
    queue_template(
        "worker_thanks",
        channel=Channel.EMAIL,
        recipient=sponsor.email,
        purpose="worker_thanks",
        locale=locale,
        worker=first_name_and_initial(worker.full_name),
        reference=order.reference,
        phrase=phrase,
        words=f"“{thanks.text}”" if thanks.text else "",
        link=links.order(order.reference),
    )


@dataclass(frozen=True)
class ReceivedThanks:
    worker_name: str  # first name and initial, as the order page shows workers
    phrase: LazyString
    text: str | None
    created_at: datetime


def thanks_count(order: Order) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(ThankYou).where(ThankYou.order_id == order.id)
        )
        or 0
    )


def thanks_for_order(order: Order, *, limit: int = 50) -> list[ReceivedThanks]:
    """The latest thank-yous of an order (a large order lists its newest ``limit``)."""
    rows = db.session.execute(
        select(ThankYou, Worker.full_name)
        .join(Worker, Worker.id == ThankYou.worker_id)
        .where(ThankYou.order_id == order.id)
        .order_by(ThankYou.created_at.desc(), ThankYou.id.desc())
        .limit(limit)
    ).all()
    return [
        ReceivedThanks(
            first_name_and_initial(name), PHRASES[ThanksPhrase(t.phrase)], t.text, t.created_at
        )
        for t, name in rows
    ]
