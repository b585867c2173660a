"""Schemas of the job endpoints."""

from __future__ import annotations

import marshmallow as ma

from app.common.pagination import page_schema
from app.common.schemas import PageQuerySchema, StrictSchema
from app.jobs.models import ROW_STATUSES


class TermsAgreementSchema(StrictSchema):
    version = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    accepted = ma.fields.Boolean(required=True)


class JobCreateSchema(StrictSchema):
    terms = ma.fields.Nested(
        TermsAgreementSchema,
        required=True,
        metadata={"description": "机构经办人代被保险人阅读并同意的保险条款版本"},
    )


class JobSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    programme_id = ma.fields.Integer(required=True)
    product_id = ma.fields.Integer(required=True)
    plan_year = ma.fields.Integer(required=True)
    status = ma.fields.String(
        required=True,
        metadata={
            "description": "queued | running | succeeded (every row enrolled) | "
            "completed_with_errors (every row processed, some failed: see the rows) | failed "
            "(the job could not go on) | cancelled"
        },
    )
    total = ma.fields.Integer(required=True)
    done = ma.fields.Integer(required=True, metadata={"description": "rows enrolled"})
    failed = ma.fields.Integer(required=True, metadata={"description": "rows not enrolled"})
    processed = ma.fields.Integer(required=True)
    percent = ma.fields.Float(required=True)
    eta_seconds = ma.fields.Integer(
        allow_none=True, metadata={"description": "estimated time left while running"}
    )
    error_code = ma.fields.String(allow_none=True)
    runs = ma.fields.Integer(required=True, metadata={"description": "1 + times resumed"})
    created_at = ma.fields.DateTime(required=True)
    started_at = ma.fields.DateTime(allow_none=True)
    heartbeat_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)


class JobRowSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    roster_entry_id = ma.fields.Integer(required=True)
    name_masked = ma.fields.String(required=True)
    id_number_masked = ma.fields.String(required=True)
    status = ma.fields.String(
        required=True, metadata={"description": "pending | succeeded | failed"}
    )
    code = ma.fields.String(allow_none=True)
    message = ma.fields.String(allow_none=True)
    policy_id = ma.fields.Integer(allow_none=True)
    policy_no = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "保单号（HMB...），参保人和经办人看到的编号；未投保时为空"},
    )
    processed_at = ma.fields.DateTime(allow_none=True)
    upload_id = ma.fields.Integer(
        required=True, metadata={"description": "the roster upload that first listed the person"}
    )
    line = ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "名单文件中的行号（表头为第 1 行），便于在自己的文件中找到该行"},
    )
    uploaded_name_masked = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "上传文件中所写的姓名（脱敏）"},
    )


JobRowPageSchema = page_schema("JobRowPageSchema", JobRowSchema)


class JobRowQuerySchema(PageQuerySchema):
    status = ma.fields.String(validate=ma.validate.OneOf(ROW_STATUSES))
