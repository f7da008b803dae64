"""Marshmallow schemas of the partner JSON API (they also write its OpenAPI document).

Input is strict: unknown fields are refused, numbers must be JSON integers (not strings, not
booleans), booleans must be ``true``/``false``.
"""

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from bundles.models import FulfillmentMethod, OfferBilling, OfferKind, Operator, PartnerKind


class WholeNumber(fields.Integer):
    """A JSON integer: ``"5"``, ``5.0`` and ``true`` are refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Schema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


def _choice(enum: Any) -> validate.OneOf:
    return validate.OneOf([str(member) for member in enum])


# --- errors -------------------------------------------------------------------------------


ErrorDetailSchema = Schema.from_dict(
    {
        "code": fields.String(required=True, metadata={"example": "validation_error"}),
        "message": fields.String(required=True),
        "fields": fields.Dict(
            keys=fields.String(),
            values=fields.List(fields.String()),
            metadata={"description": "Problems per input field (dotted path when nested)."},
        ),
    },
    name="ErrorDetail",
)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


# --- partner and offers -------------------------------------------------------------------


class PartnerSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=_choice(PartnerKind))
    status = fields.String(required=True)


def _offer_fields(*, creating: bool) -> dict[str, fields.Field]:
    def optional_int(low: int, high: int) -> WholeNumber:
        return WholeNumber(allow_none=True, validate=validate.Range(low, high))

    def text(maximum: int) -> fields.String:
        return fields.String(validate=validate.Length(max=maximum))

    return {
        "name_id": fields.String(required=creating, validate=validate.Length(2, 120)),
        "name_en": fields.String(required=creating, validate=validate.Length(2, 120)),
        "description_id": text(2000),
        "description_en": text(2000),
        "unit_price_idr": optional_int(0, 100_000_000),
        "billing": fields.String(allow_none=True, validate=_choice(OfferBilling)),
        "fulfillment_method": fields.String(required=creating, validate=_choice(FulfillmentMethod)),
        "income_idr": optional_int(1, 1_000_000_000),
        "include_jht": StrictBoolean(),
        "premium_days": optional_int(1, 1095),
        "quota_mb": optional_int(1, 1_000_000),
        "validity_days": optional_int(1, 365),
        "operator": fields.String(allow_none=True, validate=_choice(Operator)),
        "terms_id": text(2000),
        "terms_en": text(2000),
        "api_endpoint_url": fields.String(allow_none=True, validate=validate.Length(max=300)),
        "api_secret": fields.String(
            load_only=True,
            validate=validate.Length(16, 200),
            metadata={"description": "Shared HMAC signing secret; write-only."},
        ),
        "low_stock_threshold": WholeNumber(validate=validate.Range(0, 1_000_000)),
        "is_active": StrictBoolean(),
    }


OfferCreateSchema = Schema.from_dict(
    {"kind": fields.String(required=True, validate=_choice(OfferKind))}
    | _offer_fields(creating=True),
    name="OfferCreate",
)


class OfferUpdateSchema(Schema.from_dict(_offer_fields(creating=False))):  # type: ignore[misc]
    @ma.validates_schema
    def has_a_change(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError("Send at least one field to change.", "_body")


class OfferSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    name_id = fields.String(required=True)
    name_en = fields.String(required=True)
    description_id = fields.String(required=True)
    description_en = fields.String(required=True)
    unit_price_idr = fields.Integer(required=True)
    billing = fields.String(required=True)
    fulfillment_method = fields.String(required=True)
    is_active = fields.Boolean(required=True)
    is_listed = fields.Boolean(
        required=True, metadata={"description": "Active and the partner approved: for sale."}
    )
    income_idr = fields.Integer(allow_none=True)
    include_jht = fields.Boolean(required=True)
    premium_days = fields.Integer(allow_none=True)
    quota_mb = fields.Integer(allow_none=True)
    validity_days = fields.Integer(allow_none=True)
    operator = fields.String(allow_none=True)
    terms_id = fields.String(required=True)
    terms_en = fields.String(required=True)
    api_endpoint_url = fields.String(allow_none=True)
    has_api_secret = fields.Boolean(required=True)
    low_stock_threshold = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class OfferPathSchema(Schema):
    offer_id = fields.Integer(required=True)


# --- codes and stock ----------------------------------------------------------------------


class CodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(1, 200))
    expires_on = fields.Date(required=True, metadata={"example": "2027-12-31"})


class CodeUploadSchema(Schema):
    codes = fields.List(
        fields.Nested(CodeSchema),
        required=True,
        validate=validate.Length(1, 50_000),
        metadata={"description": "All or nothing: one bad code refuses the whole upload."},
    )


class UploadResultSchema(Schema):
    upload_id = fields.Integer(required=True)
    offer_id = fields.Integer(required=True)
    accepted = fields.Integer(required=True)
    earliest_expiry = fields.Date(required=True)


class StockSchema(Schema):
    offer_id = fields.Integer(required=True)
    available = fields.Integer(required=True)
    issued = fields.Integer(required=True)
    void = fields.Integer(required=True)
    expired = fields.Integer(required=True)
    expiring_soon = fields.Integer(required=True, metadata={"description": "Within 30 days."})
    low_stock_threshold = fields.Integer(required=True)
    is_low = fields.Boolean(required=True)


# --- fulfillment items and settlement -----------------------------------------------------


class PageQuerySchema(Schema):
    # Query strings carry text: "2" is the integer 2 here.
    page = fields.Integer(load_default=1, validate=validate.Range(1, 100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offer_id = fields.Integer(validate=validate.Range(1, 2**31 - 1))


class FulfillmentItemSchema(Schema):
    id = fields.Integer(required=True)
    offer_id = fields.Integer(required=True)
    method = fields.String(required=True, metadata={"example": "code_pool"})
    status = fields.String(required=True)
    code_hint = fields.String(
        required=True, metadata={"description": "Last 4 characters of the code issued."}
    )
    issued_at = fields.DateTime(required=True)
    expires_on = fields.Date(allow_none=True)


class FulfillmentItemPageSchema(Schema):
    items = fields.List(fields.Nested(FulfillmentItemSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class SettlementQuerySchema(Schema):
    period = fields.String(
        validate=validate.Regexp(r"^20[0-9]{2}-(0[1-9]|1[0-2])$"),
        metadata={"description": "Calendar month (Asia/Jakarta), e.g. 2026-11; default: now."},
    )


class StatementLineSchema(Schema):
    at = fields.DateTime(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["sale", "refund"]))
    order_reference = fields.String(required=True)
    offer_id = fields.Integer(required=True)
    units = fields.Integer(required=True)
    amount_idr = fields.Integer(required=True)


class SettlementSchema(Schema):
    period = fields.String(required=True)
    sales_idr = fields.Integer(required=True)
    refunds_idr = fields.Integer(required=True)
    owed_idr = fields.Integer(required=True)
    lines = fields.List(fields.Nested(StatementLineSchema), required=True)


# --- worker enrolment (agents) ------------------------------------------------------------


def _text(maximum: int, *, required: bool = True) -> fields.String:
    return fields.String(required=required, validate=validate.Length(max=maximum))


class WorkerRowSchema(Schema):
    """One worker, keyed like the CSV template's columns (English names)."""

    full_name = _text(120)
    nik = _text(32)
    phone = _text(24)
    birth_date = fields.Date(required=True, metadata={"example": "1990-05-12"})
    gender = _text(16)
    occupation = _text(60)
    province = _text(60)
    regency = _text(80)
    story = _text(1000, required=False)
    heir_name = _text(120)
    heir_relation = _text(30)
    heir_phone = _text(24, required=False)
    consent_listing = StrictBoolean(required=True)
    consent_insurer = StrictBoolean(required=True)


class EnrolmentSchema(Schema):
    workers = fields.List(
        fields.Nested(WorkerRowSchema), required=True, validate=validate.Length(1, 1000)
    )
    check_only = StrictBoolean(
        load_default=False,
        metadata={
            "description": "Check every row, register nobody. The rows still count against "
            "the key's budget of workers sent."
        },
    )


class EnrolmentRowResultSchema(Schema):
    row = fields.Integer(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(["imported", "checked", "skipped", "refused"]),
        metadata={
            "description": "`skipped`: you already sent this worker. A person already in "
            "Payung through someone else is answered like a new worker and asked by SMS."
        },
    )
    worker_id = fields.Integer(
        allow_none=True, metadata={"description": "Always null (kept for compatibility)."}
    )
    masked_phone = fields.String(required=True)
    messages = fields.List(fields.String(), required=True)


class EnrolmentResultSchema(Schema):
    imported = fields.Integer(required=True)
    checked = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    refused = fields.Integer(required=True)
    rows = fields.List(fields.Nested(EnrolmentRowResultSchema), required=True)
