"""How ``fulfillment`` plugs into the app: it receives ``order_paid`` (items are created in
the transaction that marked the order paid), tells checkout how an order's progress is read,
and serves the claim pages, claim by SMS, partner callbacks and ``flask fulfillment``."""

from typing import Any

from flask import Flask

from core.signals import order_paid
from fulfillment import services
from fulfillment.callback_views import bp as callbacks_bp
from fulfillment.claims.sms_inbound import bp as sms_inbound_bp
from fulfillment.claims.sms_replies import reply_to_whatsapp
from fulfillment.claims.views import bp as claim_bp
from fulfillment.cli import fulfillment_cli
from fulfillment.progress import order_progress
from fulfillment.progress_views import bp as progress_bp
from messaging.keywords import answer_whatsapp_with
from sponsorship.checkout import orders
from sponsorship.checkout.models import Order


def _start_fulfillment(order: Order, **_: Any) -> None:
    services.start_fulfillment(order)


def register(app: Flask) -> None:
    order_paid.connect(_start_fulfillment, weak=False)
    orders.read_progress_with(order_progress)
    for blueprint in (callbacks_bp, claim_bp, sms_inbound_bp, progress_bp):
        app.register_blueprint(blueprint)
    app.cli.add_command(fulfillment_cli)
    answer_whatsapp_with(reply_to_whatsapp)  # KLAIM over WhatsApp, like /sms/inbound
