"""Schemas of the catalogue endpoints: the import form, a version, its per-row report, entries."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from app.catalogues.models import CatalogueKind, CatalogueStatus
from app.common.pagination import page_schema
from app.common.schemas import PageQuerySchema, StrictSchema, plain_text

KINDS = [k.value for k in CatalogueKind]
STATUSES = [s.value for s in CatalogueStatus]
PRODUCT_CODE = ma.validate.Regexp(r"^[a-z0-9-]{1,40}$")


class CatalogueFormSchema(StrictSchema):
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(KINDS),
        metadata={"description": "commercial（商保目录）| special_drug（特药目录）"},
    )
    product_code = ma.fields.String(
        required=True, validate=PRODUCT_CODE, metadata={"example": "ganzhou-demo-2026"}
    )
    label = ma.fields.String(
        required=True,
        validate=[ma.validate.Length(min=1, max=40), plain_text()],
        metadata={"description": "版本号，如 2026.1", "example": "2026.1"},
    )
    effective_from = ma.fields.Date(required=True, metadata={"description": "生效日期（含）"})
    effective_to = ma.fields.Date(
        load_default=None, metadata={"description": "失效日期（含）；不填或留空为长期有效"}
    )

    @ma.pre_load
    def _plain_form(self, data, **kwargs):
        """The form as a plain dict of named fields. A multipart part without a name comes as
        the key None, which the unknown-field error could not be written out with (a 500);
        it is dropped, like any part that names no field. An HTML form sends an empty
        effective_to as "": open-ended, like leaving it out."""
        form = {key: data[key] for key in data if isinstance(key, str)}
        if form.get("effective_to") == "":
            del form["effective_to"]
        return form


class CatalogueFileSchema(StrictSchema):
    file = Upload(
        required=True,
        metadata={
            "description": "目录文件：CSV（UTF-8 或 GB18030）或 XLSX。商保目录表头：医保编码、名称、"
            "类别、限价（元）、限量、备注；特药目录表头：药品名称、批准文号、适应症、年度限额（元）、"
            "指定药店、是否需要事前审核"
        },
    )


class CatalogueVersionSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"description": " | ".join(KINDS)})
    product_code = ma.fields.String(required=True)
    plan_year = ma.fields.Integer(required=True)
    label = ma.fields.String(required=True)
    effective_from = ma.fields.Date(required=True)
    effective_to = ma.fields.Date(required=True, allow_none=True)
    status = ma.fields.String(required=True, metadata={"description": " | ".join(STATUSES)})
    source_filename = ma.fields.String(required=True)
    file_format = ma.fields.String(required=True, metadata={"description": "csv | xlsx"})
    file_sha256 = ma.fields.String(required=True)
    row_count = ma.fields.Integer(required=True)
    imported_by_staff_id = ma.fields.Integer(required=True, allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    retired_at = ma.fields.DateTime(required=True, allow_none=True)
    report_url = ma.fields.Method("_report_url", required=True)
    entries_url = ma.fields.Method("_entries_url", required=True)

    def _report_url(self, version):
        return f"/staff/catalogues/{version['id']}/report.csv"

    def _entries_url(self, version):
        return f"/staff/catalogues/{version['id']}/entries"


class RowErrorSchema(StrictSchema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    column = ma.fields.String(required=True, allow_none=True)


class RowReportSchema(StrictSchema):
    row_number = ma.fields.Integer(required=True, metadata={"description": "表格中的行号"})
    ok = ma.fields.Boolean(required=True)
    code = ma.fields.String(required=True, metadata={"description": "ok 或第一个错误的代码"})
    message = ma.fields.String(required=True)
    errors = ma.fields.List(ma.fields.Nested(RowErrorSchema), required=True)


class HeaderErrorSchema(StrictSchema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)


class ImportReportSchema(StrictSchema):
    kind = ma.fields.String(required=True)
    ok = ma.fields.Boolean(required=True)
    summary = ma.fields.String(required=True)
    header_row = ma.fields.Integer(required=True, allow_none=True)
    error_count = ma.fields.Integer(required=True)
    header_errors = ma.fields.List(ma.fields.Nested(HeaderErrorSchema), required=True)
    rows = ma.fields.List(ma.fields.Nested(RowReportSchema), required=True)


class CatalogueImportSchema(StrictSchema):
    version = ma.fields.Nested(CatalogueVersionSchema, required=True)
    report = ma.fields.Nested(ImportReportSchema, required=True)


class CatalogueQuerySchema(PageQuerySchema):
    product = ma.fields.String(validate=PRODUCT_CODE, metadata={"description": "产品代码"})
    kind = ma.fields.String(validate=ma.validate.OneOf(KINDS))
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))


class CatalogueEntrySchema(StrictSchema):
    """One entry; the fields after `name` are those of its kind only."""

    row_number = ma.fields.Integer(required=True)
    code = ma.fields.String(
        required=True, metadata={"description": "医保编码（商保目录）或批准文号（特药目录）"}
    )
    name = ma.fields.String(required=True)
    category = ma.fields.String(metadata={"description": "商保目录"})
    price_limit_fen = ma.fields.Integer(allow_none=True, metadata={"description": "商保目录"})
    quantity_limit = ma.fields.String(
        allow_none=True, metadata={"description": "商保目录：限量（十进制数字文本）"}
    )
    note = ma.fields.String(metadata={"description": "商保目录"})
    indications = ma.fields.List(ma.fields.String(), metadata={"description": "特药目录"})
    annual_cap_fen = ma.fields.Integer(allow_none=True, metadata={"description": "特药目录"})
    pharmacies = ma.fields.List(ma.fields.String(), metadata={"description": "特药目录"})
    preauth_required = ma.fields.Boolean(metadata={"description": "特药目录"})


CatalogueVersionPageSchema = page_schema("CatalogueVersionPageSchema", CatalogueVersionSchema)
CatalogueEntryPageSchema = page_schema("CatalogueEntryPageSchema", CatalogueEntrySchema)


class CatalogueEntryQuerySchema(PageQuerySchema):
    pass
