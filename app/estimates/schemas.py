"""Wire schemas of the value estimate."""

from __future__ import annotations

import marshmallow as ma

from app.common.schemas import ConsentSchema, StrictSchema


class EstimateConsentSchema(StrictSchema):
    consent = ma.fields.Nested(
        ConsentSchema,
        required=True,
        metadata={"description": "单独同意向医保部门查询本人及家属去年的结算记录"},
    )


class EstimateConsentStatusSchema(StrictSchema):
    granted = ma.fields.Boolean(required=True)
    text_version = ma.fields.String(allow_none=True)
    recorded_at = ma.fields.DateTime(allow_none=True)
    current_text_version = ma.fields.String(required=True)


class EstimateBucketSchema(StrictSchema):
    bucket = ma.fields.String(required=True)
    payable_fen = ma.fields.Integer(required=True)


class EstimateLineSchema(StrictSchema):
    code = ma.fields.String(required=True)
    zh = ma.fields.String(required=True)
    en = ma.fields.String(required=True)
    bucket = ma.fields.String(allow_none=True)


class RecordEstimateSchema(StrictSchema):
    setl_id = ma.fields.String(required=True)
    care_kind = ma.fields.String(allow_none=True)
    care_start = ma.fields.Date(required=True)
    care_end = ma.fields.Date(allow_none=True)
    hospital_name = ma.fields.String(allow_none=True)
    diagnosis = ma.fields.String(allow_none=True)
    medfee_sumamt_fen = ma.fields.Integer(required=True)
    decision = ma.fields.String(allow_none=True)
    payable_fen = ma.fields.Integer(required=True)
    by_bucket = ma.fields.List(ma.fields.Nested(EstimateBucketSchema), required=True)
    skipped_reason = ma.fields.String(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(EstimateLineSchema), required=True)


class PersonEstimateSchema(StrictSchema):
    person_id = ma.fields.Integer(required=True)
    relation = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    included = ma.fields.Boolean(required=True)
    excluded_reason = ma.fields.String(allow_none=True)
    premium_fen = ma.fields.Integer(required=True)
    payable_fen = ma.fields.Integer(required=True)
    by_bucket = ma.fields.List(ma.fields.Nested(EstimateBucketSchema), required=True)
    records = ma.fields.List(ma.fields.Nested(RecordEstimateSchema), required=True)
    why_nothing = ma.fields.String(
        allow_none=True, metadata={"description": "为什么不会有赔付（有赔付时为空）"}
    )


class EstimatePeriodSchema(StrictSchema):
    plan_year = ma.fields.Integer(required=True)
    start = ma.fields.Date(required=True)
    end = ma.fields.Date(required=True)
    to_date = ma.fields.Boolean(required=True)


class EstimateTotalSchema(StrictSchema):
    payable_fen = ma.fields.Integer(required=True)
    premium_fen = ma.fields.Integer(required=True)
    by_bucket = ma.fields.List(ma.fields.Nested(EstimateBucketSchema), required=True)


class ValueEstimateSchema(StrictSchema):
    product_code = ma.fields.String(required=True)
    product_name = ma.fields.String(required=True)
    plan_year = ma.fields.Integer(required=True)
    period = ma.fields.Nested(EstimatePeriodSchema, allow_none=True)
    people = ma.fields.List(ma.fields.Nested(PersonEstimateSchema), required=True)
    total = ma.fields.Nested(EstimateTotalSchema, required=True)
    notice = ma.fields.String(required=True, metadata={"description": "重新计算，不是承诺"})
    computed_at = ma.fields.DateTime(required=True)
