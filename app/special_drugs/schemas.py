"""Special-drug request and response bodies. Amounts are integer fen; dates Asia/Shanghai."""

from __future__ import annotations

import marshmallow as ma

from app.common.schemas import StrictSchema, plain_text
from app.special_drugs.models import ApplicationStatus
from app.special_drugs.rules import DOCUMENT_LABELS, REJECT_REASONS

MAX_ID = 2**31 - 1
MAX_FEN = 10**10


def _text(max_len: int):
    return [ma.validate.Length(min=1, max=max_len), plain_text(multiline=True)]


class SpecialDrugCatalogueQuerySchema(StrictSchema):
    policy_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_ID))


class SpecialDrugDrugSchema(StrictSchema):
    drug_code = ma.fields.String(required=True)
    drug_name = ma.fields.String(required=True)
    indications = ma.fields.List(ma.fields.String(), required=True)
    annual_cap_fen = ma.fields.Integer(allow_none=True)
    pharmacies = ma.fields.List(ma.fields.String(), required=True)
    preauth_required = ma.fields.Boolean(required=True)


class SpecialDrugCatalogueSchema(StrictSchema):
    version = ma.fields.String(allow_none=True, metadata={"description": "今天生效的特药目录版本"})
    drugs = ma.fields.List(ma.fields.Nested(SpecialDrugDrugSchema), required=True)


class SpecialDrugApplicationCreateSchema(StrictSchema):
    policy_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_ID))
    drug_code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    indication = ma.fields.String(
        required=True, validate=_text(500), metadata={"description": "目录所列适应症之一"}
    )


class SpecialDrugDocumentUploadSchema(StrictSchema):
    doc_type = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(tuple(DOCUMENT_LABELS)),
        metadata={"description": "prescription 处方 | pathology 病理报告 | gene_test 基因检测报告"},
    )


class SpecialDrugDocumentFileSchema(ma.Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class SpecialDrugDocumentSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    doc_type = ma.fields.String(required=True)
    media_type = ma.fields.String(required=True)
    uploaded_at = ma.fields.DateTime(required=True)


class SpecialDrugReasonSchema(StrictSchema):
    code = ma.fields.String(required=True)
    zh = ma.fields.String(required=True)
    en = ma.fields.String(required=True)


class SpecialDrugPurchaseSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    application_id = ma.fields.Integer(required=True)
    claim_id = ma.fields.Integer(allow_none=True, metadata={"description": "购药报销的理赔申请"})
    pharmacy = ma.fields.String(required=True)
    purchased_on = ma.fields.Date(required=True)
    quantity = ma.fields.Integer(required=True)
    amount_fen = ma.fields.Integer(required=True)
    counted_fen = ma.fields.Integer(
        required=True, metadata={"description": "计入特药费用的金额（年度限额内）"}
    )
    not_counted_fen = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    reasons = ma.fields.List(ma.fields.Nested(SpecialDrugReasonSchema), required=True)
    created_at = ma.fields.DateTime(required=True)


class SpecialDrugApplicationSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    application_no = ma.fields.String(required=True)
    policy_id = ma.fields.Integer(required=True)
    plan_year = ma.fields.Integer(required=True)
    catalogue_version = ma.fields.String(required=True)
    drug_code = ma.fields.String(required=True)
    drug_name = ma.fields.String(required=True)
    indication = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    valid_from = ma.fields.Date(allow_none=True)
    valid_to = ma.fields.Date(allow_none=True)
    pharmacies = ma.fields.List(ma.fields.String(), required=True)
    annual_cap_fen = ma.fields.Integer(allow_none=True)
    reason_code = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    missing_documents = ma.fields.List(ma.fields.String(), required=True)
    documents = ma.fields.List(ma.fields.Nested(SpecialDrugDocumentSchema), required=True)
    purchases = ma.fields.List(ma.fields.Nested(SpecialDrugPurchaseSchema), required=True)
    created_at = ma.fields.DateTime(required=True)
    submitted_at = ma.fields.DateTime(allow_none=True)
    decided_at = ma.fields.DateTime(allow_none=True)


class SpecialDrugStaffApplicationSchema(SpecialDrugApplicationSchema):
    member_id = ma.fields.Integer(required=True)


class SpecialDrugPurchaseFormSchema(StrictSchema):
    """Multipart form fields of a purchase (the invoice is the `file` part)."""

    pharmacy = ma.fields.String(
        required=True, validate=_text(100), metadata={"description": "购药机构（指定药店）"}
    )
    purchased_on = ma.fields.Date(required=True)
    quantity = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=1000))
    amount_fen = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_FEN))
    invoice_no = ma.fields.String(required=True, validate=_text(40))
    payee_name = ma.fields.String(required=True, validate=_text(64))
    payee_bank_name = ma.fields.String(required=True, validate=_text(64))
    payee_bank_account = ma.fields.String(
        required=True, validate=ma.validate.Length(min=10, max=40)
    )


class SpecialDrugQueueQuerySchema(StrictSchema):
    status = ma.fields.String(
        validate=ma.validate.OneOf(tuple(s.value for s in ApplicationStatus if s != "draft"))
    )
    before_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_ID))


class SpecialDrugApproveSchema(StrictSchema):
    reason = ma.fields.String(validate=_text(1000), load_default=None)


class SpecialDrugRejectSchema(StrictSchema):
    reason_code = ma.fields.String(required=True, validate=ma.validate.OneOf(tuple(REJECT_REASONS)))
    reason = ma.fields.String(required=True, validate=_text(1000))
