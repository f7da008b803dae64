"""Stripe's webhook (signed events about PaymentIntents) and Xendit's payment callbacks (with
our callback token): the routes. Checking, de-duplicating and applying them is
``sponsorship.payments.webhook_events``; a request that fails a check changes nothing."""

import logging

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from accounts.access import public
from extensions import csrf, db
from sponsorship.payments.gateway_types import PaymentGatewayError
from sponsorship.payments.webhook_events import receive_webhook, receive_xendit_callback
from sponsorship.payments.xendit_gateway import CALLBACK_TOKEN_HEADER

log = logging.getLogger(__name__)

bp = Blueprint("stripe_webhooks", __name__)
csrf.exempt(bp)

MAX_BODY_BYTES = 512 * 1024


@bp.route("/stripe/webhook", methods=["POST"])
@public
def stripe_webhook() -> ResponseReturnValue:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return jsonify(received="too_large"), 413
    result = receive_webhook(request.get_data(), request.headers.get("Stripe-Signature"))
    db.session.commit()
    return jsonify(received=result.detail), result.status_code


@bp.route("/xendit/callback", methods=["POST"])
@public
def xendit_callback() -> ResponseReturnValue:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return jsonify(received="too_large"), 413
    try:
        result = receive_xendit_callback(
            request.get_data(), request.headers.get(CALLBACK_TOKEN_HEADER)
        )
    except PaymentGatewayError as error:  # the automatic refund was refused: try again later
        db.session.rollback()
        log.warning("xendit callback not applied: %s", error)
        return jsonify(received="retry"), 503
    if result.status_code >= 400:
        db.session.rollback()
    else:
        db.session.commit()
    return jsonify(received=result.detail), result.status_code
