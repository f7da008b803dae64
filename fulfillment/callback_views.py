"""Endpoints partners call back, under ``/api/`` with the other machine-to-machine routes:
signed like our requests to them; no session, no CSRF token."""

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from accounts.access import public
from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from extensions import csrf, db
from fulfillment.batches.callbacks import accept_topup_batch_callback
from fulfillment.partners.callbacks import CallbackRefused, accept_telco_callback
from fulfillment.tasks import complete_order

bp = Blueprint("fulfillment_callbacks", __name__, url_prefix="/api/callbacks")


@bp.route("/telco", methods=["POST"])
@csrf.exempt
@public
def telco() -> tuple[Response, int]:
    try:
        result = accept_telco_callback(
            request.get_data(cache=False),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
        )
    except CallbackRefused as refused:
        return _refused(refused)
    db.session.commit()
    if result is not None and result.is_settled:
        complete_order(result.order_id)
    return jsonify({"status": "ok"}), 200


@bp.route("/telco/batch", methods=["POST"])
@csrf.exempt
@public
def telco_batch() -> tuple[Response, int]:
    """One bulk top-up's results (fulfillment.batches.callbacks)."""
    try:
        result = accept_topup_batch_callback(
            request.get_data(cache=False),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
        )
    except CallbackRefused as refused:
        return _refused(refused)
    db.session.commit()
    for order_id in sorted(result.settled_orders):
        complete_order(order_id)
    return jsonify({"status": "ok", "settled": result.settled}), 200


def _refused(refused: CallbackRefused) -> tuple[Response, int]:
    db.session.rollback()
    error = {"code": refused.code} | ({"message": refused.detail} if refused.detail else {})
    return jsonify({"error": error}), refused.status
