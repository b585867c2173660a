"""Schemas of the roster endpoints: the upload form, an upload's summary, the roster, entries."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from app.common.pagination import page_schema
from app.common.schemas import PageQuerySchema, StrictSchema


class RosterFileSchema(StrictSchema):
    file = Upload(
        required=True,
        metadata={
            "description": "名单文件：CSV（UTF-8 或 GB18030）或 XLSX；表头 姓名、身份证号、类别（可选）"
        },
    )


class BudgetWarningSchema(StrictSchema):
    code = ma.fields.String(required=True, metadata={"description": "roster_budget_short"})
    message = ma.fields.String(required=True)
    people_waiting = ma.fields.Integer(
        required=True, metadata={"description": "people on the roster not insured yet"}
    )
    people_covered = ma.fields.Integer(
        required=True, metadata={"description": "people the budget and quota still pay for"}
    )
    budget_left_fen = ma.fields.Integer(required=True)
    per_person_fen = ma.fields.Integer(
        required=True, metadata={"description": "the most the programme pays for one person"}
    )
    quota_left = ma.fields.Integer(required=True, allow_none=True)


class RosterUploadSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    programme_id = ma.fields.Integer(required=True)
    file_format = ma.fields.String(required=True, metadata={"description": "csv | xlsx"})
    file_bytes = ma.fields.Integer(required=True)
    file_sha256 = ma.fields.String(required=True)
    rows_total = ma.fields.Integer(required=True)
    rows_invalid = ma.fields.Integer(required=True)
    added = ma.fields.Integer(required=True, metadata={"description": "newly listed people"})
    already_listed = ma.fields.Integer(required=True)
    already_insured = ma.fields.Integer(required=True)
    budget_warning = ma.fields.Nested(
        BudgetWarningSchema,
        required=True,
        allow_none=True,
        metadata={"description": "上传时预算不足以资助名单上全部未参保人员的提示（含数字）"},
    )
    created_at = ma.fields.DateTime(required=True)
    report_url = ma.fields.Method("_report_url", required=True)

    def _report_url(self, upload):
        return f"/staff/programmes/{upload.programme_id}/roster/uploads/{upload.id}/report.csv"


class RosterSummarySchema(StrictSchema):
    programme_id = ma.fields.Integer(required=True)
    plan_year = ma.fields.Integer(required=True)
    entries = ma.fields.Integer(required=True, metadata={"description": "people on the roster"})
    insured = ma.fields.Integer(
        required=True, metadata={"description": "of them, insured this plan year"}
    )
    uploads = ma.fields.List(
        ma.fields.Nested(RosterUploadSchema),
        required=True,
        metadata={"description": "the latest 20 uploads, newest first"},
    )


class RosterEntrySchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    name_masked = ma.fields.String(required=True)
    id_number_masked = ma.fields.String(required=True)
    category = ma.fields.String(allow_none=True)
    insured = ma.fields.Boolean(required=True)
    upload_id = ma.fields.Integer(required=True)
    created_at = ma.fields.DateTime(required=True)


RosterEntryPageSchema = page_schema("RosterEntryPageSchema", RosterEntrySchema)


class RosterEntryQuerySchema(PageQuerySchema):
    pass
