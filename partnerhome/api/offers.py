"""Partner API: the partner, its offers, code uploads and stock."""

from typing import Any

from flask import current_app, request
from flask_babel import lazy_gettext as _l

from bundles.codes import pools
from bundles.models import FulfillmentMethod, Offer
from bundles.offers import OfferInvalid, create_offer, own_offer, update_offer
from core.dates import jakarta_today
from extensions import db
from partnerhome.api.schemas import (
    CodeUploadSchema,
    OfferCreateSchema,
    OfferSchema,
    OfferUpdateSchema,
    PartnerSchema,
    StockSchema,
    UploadResultSchema,
)
from partnerhome.api.support import (
    ApiError,
    api_bp,
    api_key_required,
    current_api_key,
    current_partner,
    errors,
)


def _own_offer(offer_id: int) -> Offer:
    offer = own_offer(current_partner(), offer_id)
    if offer is None:
        raise ApiError(404, "offer_not_found", _l("No such offer among yours."))
    return offer


def _offer_json(offer: Offer) -> dict[str, Any]:
    computed = {"is_listed": offer.is_listed, "has_api_secret": bool(offer.api_secret_encrypted)}
    return {
        name: computed[name] if name in computed else getattr(offer, name)
        for name in OfferSchema().fields
    }


def _invalid(error: OfferInvalid) -> ApiError:
    fields = {name or "_body": list(messages) for name, messages in error.errors.items()}
    return ApiError(422, "validation_error", _l("Some fields are not valid."), fields=fields)


@api_bp.route("/partner", methods=["GET"])
@api_key_required
@api_bp.response(200, PartnerSchema)
@errors()
def partner_profile() -> Any:
    """The partner this key belongs to."""
    db.session.commit()  # last_used_at
    return current_partner()


@api_bp.route("/offers", methods=["GET"])
@api_key_required
@api_bp.response(200, OfferSchema(many=True))
@errors()
def list_offers() -> Any:
    """This partner's offers."""
    db.session.commit()
    return [_offer_json(offer) for offer in current_partner().offers]


@api_bp.route("/offers", methods=["POST"], endpoint="create_offer")
@api_key_required
@api_bp.arguments(OfferCreateSchema)
@api_bp.response(201, OfferSchema)
@errors(422)
def create_offer_view(values: dict[str, Any]) -> Any:
    """Create an offer. Terms needed depend on ``kind`` (see the offer fields)."""
    try:
        offer = create_offer(current_partner(), values)
    except OfferInvalid as invalid:
        db.session.rollback()
        raise _invalid(invalid) from None
    db.session.commit()
    return _offer_json(offer)


@api_bp.route("/offers/<int(max=2147483647):offer_id>", methods=["GET"])
@api_key_required
@api_bp.response(200, OfferSchema)
@errors(404)
def get_offer(offer_id: int) -> Any:
    offer = _own_offer(offer_id)
    db.session.commit()
    return _offer_json(offer)


@api_bp.route("/offers/<int(max=2147483647):offer_id>", methods=["PATCH"], endpoint="update_offer")
@api_key_required
@api_bp.arguments(OfferUpdateSchema)
@api_bp.response(200, OfferSchema)
@errors(404, 422)
def update_offer_view(changes: dict[str, Any], offer_id: int) -> Any:
    """Change some fields of an offer (its kind never changes)."""
    offer = _own_offer(offer_id)
    try:
        update_offer(offer, changes)
    except OfferInvalid as invalid:
        db.session.rollback()
        raise _invalid(invalid) from None
    db.session.commit()
    return _offer_json(offer)


def _refused(refused: pools.PoolUploadRefused, prefix: str) -> ApiError:
    fields: dict[str, list[Any]] = {}
    for problem in refused.shown:
        name = f"{prefix}.{problem.row}" if problem.row is not None else "_body"
        fields.setdefault(name, []).append(problem.message)
    return ApiError(
        422,
        "codes_refused",
        _l("Nothing was saved: %(count)s problem(s).", count=len(refused.problems)),
        fields=fields,
    )


def _upload(offer: Offer, rows: list[pools.CodeRow]) -> dict[str, Any]:
    upload = pools.upload_pool_codes(offer, rows, filename="api", api_key=current_api_key())
    return {
        "upload_id": upload.id,
        "offer_id": offer.id,
        "accepted": upload.code_count,
        "earliest_expiry": upload.earliest_expiry,
    }


@api_bp.route(
    "/offers/<int(max=2147483647):offer_id>/codes", methods=["POST"], endpoint="upload_codes"
)
@api_key_required
@api_bp.arguments(CodeUploadSchema)
@api_bp.response(201, UploadResultSchema)
@errors(404, 422)
def upload_codes(body: dict[str, Any], offer_id: int) -> Any:
    """Add codes to the offer's pool, all or nothing (``codes.<n>`` names a refused item,
    counted from 1)."""
    offer = _own_offer(offer_id)
    cells = [
        (index, item["code"], item["expires_on"].isoformat())
        for index, item in enumerate(body["codes"], start=1)
    ]
    try:
        rows = pools.check_code_rows(cells, today=jakarta_today())
        result = _upload(offer, rows)
    except pools.PoolUploadRefused as refused:
        db.session.rollback()
        raise _refused(refused, "codes") from None
    db.session.commit()
    return result


@api_bp.route(
    "/offers/<int(max=2147483647):offer_id>/codes.csv",
    methods=["POST"],
    endpoint="upload_codes_csv",
)
@api_key_required
@api_bp.doc(
    requestBody={
        "required": True,
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "code,expires_on\nFITA-0001,2027-12-31\n",
            }
        },
    }
)
@api_bp.response(201, UploadResultSchema)
@errors(404, 415, 422)
def upload_codes_csv(offer_id: int) -> Any:
    """The same upload as a CSV body (``code,expires_on`` header), as on the dashboard;
    ``line.<n>`` names a refused line."""
    offer = _own_offer(offer_id)
    if request.mimetype != "text/csv":
        raise ApiError(415, "unsupported_media_type", _l("Send the codes as text/csv."))
    data = request.stream.read(current_app.config["POOL_UPLOAD_MAX_BYTES"] + 1)
    try:
        cells = pools.parse_pool_csv(data)
        rows = pools.check_code_rows(cells, today=jakarta_today())
        result = _upload(offer, rows)
    except pools.PoolUploadRefused as refused:
        db.session.rollback()
        raise _refused(refused, "line") from None
    db.session.commit()
    return result


def _stock_json(offer: Offer, stock: pools.Stock) -> dict[str, Any]:
    return {
        "offer_id": offer.id,
        "available": stock.available,
        "issued": stock.issued,
        "void": stock.void,
        "expired": stock.expired,
        "expiring_soon": stock.expiring_soon,
        "low_stock_threshold": offer.low_stock_threshold,
        "is_low": stock.available < offer.low_stock_threshold,
    }


@api_bp.route("/stock", methods=["GET"])
@api_key_required
@api_bp.response(200, StockSchema(many=True))
@errors()
def stock() -> Any:
    """Stock of every code-pool offer of this partner."""
    offers = [
        o for o in current_partner().offers if o.fulfillment_method == FulfillmentMethod.CODE_POOL
    ]
    levels = pools.stock_for(o.id for o in offers)
    db.session.commit()
    return [_stock_json(offer, levels[offer.id]) for offer in offers]


@api_bp.route("/offers/<int(max=2147483647):offer_id>/stock", methods=["GET"])
@api_key_required
@api_bp.response(200, StockSchema)
@errors(404)
def offer_stock(offer_id: int) -> Any:
    offer = _own_offer(offer_id)
    db.session.commit()
    return _stock_json(offer, pools.stock_for([offer.id])[offer.id])
