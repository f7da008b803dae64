"""Keywords a worker may send by SMS or WhatsApp: "BERHENTI"/"STOP" (only essential messages
from now on) and "MULAI"/"START" (everything again). Each is confirmed by SMS, an essential
message, so the confirmation reaches a stopped number too. ``KLAIM`` is the claims package's
(``fulfillment/claims/sms_inbound.py``), which asks here first."""

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from messaging.contacts import is_start, is_stop, resume_messages, stop_messages
from messaging.models import Channel, Message
from messaging.services import queue_message

OPT_OUT_PURPOSE = "opt_out"


def keyword_reply(phone: str, text: str) -> Message | None:
    """Handle STOP or START from ``phone`` (E.164) and queue the confirmation; None for any
    other text."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        if is_stop(text):
            stop_messages(phone)
            body = _(
                "Payung: you will no longer get news from Payung. Sign-in and claim codes "
                "still come. Send MULAI to get news again."
            )
        elif is_start(text):
            resume_messages(phone)
            body = _("Payung: you will get news from Payung again. Send BERHENTI to stop.")
        else:
            return None
    return queue_message(channel=Channel.SMS, recipient=phone, body=body, purpose=OPT_OUT_PURPOSE)
