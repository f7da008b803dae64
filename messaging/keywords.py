"""Keywords a worker may send by SMS or WhatsApp: "BERHENTI"/"STOP" (only essential messages
from now on) and "MULAI"/"START" (everything again). Each is confirmed by SMS, an essential
message, so the confirmation reaches a stopped number too. ``KLAIM`` is the claims package's
(``fulfillment/claims/sms_inbound.py``), which asks here first."""

from collections.abc import Callable

from flask import current_app

from messaging.contacts import is_start, is_stop, resume_messages, stop_messages
from messaging.models import Channel, Message
from messaging.services import queue_template

OPT_OUT_PURPOSE = "opt_out"

# Who answers a WhatsApp text that is not STOP or START: the claims package registers its
# ``KLAIM`` flow here (``fulfillment.wiring``), since messaging cannot import it.
_whatsapp_answerers: list[Callable[[str, str], Message | None]] = []


def answer_whatsapp_with(answer: Callable[[str, str], Message | None]) -> None:
    """Register ``answer(phone, text)`` for incoming WhatsApp texts (STOP/START included: the
    answerer asks :func:`keyword_reply` first, as the SMS flow does)."""
    if answer not in _whatsapp_answerers:
        _whatsapp_answerers.append(answer)


def whatsapp_reply(phone: str, text: str) -> Message | None:
    """Answer a text a worker sent on WhatsApp: the registered flow, else STOP/START only."""
    if _whatsapp_answerers:
        return _whatsapp_answerers[-1](phone, text)
    return keyword_reply(phone, text)


def keyword_reply(phone: str, text: str) -> Message | None:
    """Handle STOP or START from ``phone`` (E.164) and queue the confirmation; None for any
    other text."""
    if is_stop(text):
        stop_messages(phone)
        template = "opt_out_stop"
    elif is_start(text):
        resume_messages(phone)
        template = "opt_out_start"
    else:
        return None
    return queue_template(
        template,
        channel=Channel.SMS,
        recipient=phone,
        purpose=OPT_OUT_PURPOSE,
        locale=current_app.config["BABEL_DEFAULT_LOCALE"],
    )
