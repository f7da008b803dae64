"""Endpoints partners call back, under ``/api/`` with the other machine-to-machine routes:
signed like our requests to them; no session, no CSRF token."""

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from accounts.access import public
from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from extensions import csrf, db
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
        db.session.rollback()
        return jsonify({"error": {"code": refused.code}}), refused.status
    db.session.commit()
    if result is not None and result.is_settled:
        complete_order(result.order_id)
    return jsonify({"status": "ok"}), 200
