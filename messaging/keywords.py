"""Keywords a worker may send by SMS or WhatsApp: "BERHENTI"/"STOP" (only essential messages
from now on) and "MULAI"/"START" (everything again). Each is confirmed by SMS, an essential
message, so the confirmation reaches a stopped number too. ``KLAIM`` is the claims package's
(``fulfillment/claims/sms_inbound.py``), which asks here first."""

from flask import current_app

from messaging.contacts import is_start, is_stop, resume_messages, stop_messages
from messaging.models import Channel, Message
from messaging.services import queue_template

OPT_OUT_PURPOSE = "opt_out"


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
