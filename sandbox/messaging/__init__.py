"""The messaging providers, played over HTTP: WhatsApp Business Cloud API (``whatsapp.py``)
and an SMS provider with delivery reports (``sms.py``), with their fault switches and the
phones' view of what arrived (``control.py``). State lives in memory (``state.py``)."""

from __future__ import annotations

from flask import Flask

from sandbox.messaging import control, sms, whatsapp
from sandbox.messaging.state import MessagingState


def register(app: Flask) -> None:
    app.extensions["sandbox_messaging"] = MessagingState.from_config(app.config)
    for module in (whatsapp, sms, control):
        app.register_blueprint(module.bp)
