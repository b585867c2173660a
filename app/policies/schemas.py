from __future__ import annotations

import marshmallow as ma

from app.common.schemas import StrictSchema
from app.identity.idnumber import mask_name
from app.policies.services import REFUND_STATUS_LABELS, STATUS_LABELS, refund_status, refunds_of


class PolicyQuerySchema(StrictSchema):
    plan_year = ma.fields.Integer(validate=ma.validate.Range(min=2000, max=2100))


class RefundSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    method = ma.fields.String(required=True)
    amount_fen = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    settled_at = ma.fields.DateTime(allow_none=True)


class PolicySchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    policy_no = ma.fields.String(required=True)
    plan_year = ma.fields.Integer(required=True)
    status = ma.fields.String(
        required=True, metadata={"description": "active | surrendered | void"}
    )
    status_label = ma.fields.Method("_status_label", required=True)
    insured_person_id = ma.fields.Integer(required=True, attribute="person_id")
    insured_name_masked = ma.fields.Method("_name", required=True)
    coverage_start = ma.fields.Date(required=True)
    coverage_end = ma.fields.Date(required=True)
    premium_fen = ma.fields.Integer(required=True)
    paid_on = ma.fields.Date(required=True)
    issued_at = ma.fields.DateTime(required=True)
    surrendered_at = ma.fields.DateTime(allow_none=True)
    voided_at = ma.fields.DateTime(allow_none=True)
    refund = ma.fields.Method(
        "_refund",
        required=True,
        metadata={
            "description": "退保退款：status none | pending | succeeded | failed（多笔时取最未完成的一笔），"
            "label 中文说明，amount_fen 退回付款人（医保个人账户、微信）的合计（分），"
            "sponsor_fen 退回资助项目的合计（分；不退给个人）"
        },
    )

    def _status_label(self, policy) -> str:
        return STATUS_LABELS[policy.status]

    def _refund(self, policy) -> dict:
        refunds = refunds_of(policy)
        status = refund_status(refunds)
        # what goes back to whoever paid (account, WeChat) apart from what goes back to a
        # sponsor's programme: a fully sponsored policy refunds nobody's own money
        sponsor = sum(r.amount_fen for r in refunds if r.method == "sponsor")
        return {
            "status": status,
            "label": REFUND_STATUS_LABELS[status],
            "amount_fen": sum(r.amount_fen for r in refunds) - sponsor,
            "sponsor_fen": sponsor,
        }

    def _name(self, policy) -> str:
        return mask_name(policy.person.name)


class SurrenderResultSchema(StrictSchema):
    policy = ma.fields.Nested(PolicySchema, required=True)
    refunds = ma.fields.List(ma.fields.Nested(RefundSchema), required=True)


class CertificateSchema(StrictSchema):
    policy = ma.fields.Nested(PolicySchema, required=True)
    product_name = ma.fields.String(required=True)
    insured_id_number_masked = ma.fields.String(required=True)
    relation = ma.fields.String(required=True)
    verify_url = ma.fields.String(required=True)
    png_url = ma.fields.String(required=True)


TOKEN_MAX = 200


class VerifyQuerySchema(StrictSchema):
    # Its shape (1-200 characters) is checked by the view, so that a phone that scanned a
    # damaged code gets the "cannot verify" page, not a JSON error.
    token = ma.fields.String(
        metadata={
            "description": "the token of the QR code's link; a browser sent none or a malformed "
            "one gets the cannot-verify page, a program a 422",
            "minLength": 1,
            "maxLength": TOKEN_MAX,
        },
    )


class PublicCertificateSchema(StrictSchema):
    valid = ma.fields.Boolean(
        required=True,
        metadata={"description": "true only while the policy gives cover today (verdict in_force)"},
    )
    verdict = ma.fields.String(
        required=True,
        metadata={"description": "in_force | not_yet_effective | expired | terminated"},
    )
    verdict_label = ma.fields.String(
        required=True, metadata={"description": "有效 | 未生效 | 已过期 | 已终止"}
    )
    checked_on = ma.fields.Date(
        required=True, metadata={"description": "the Asia/Shanghai date the verdict is for"}
    )
    policy_no = ma.fields.String(required=True)
    insured_name_masked = ma.fields.String(required=True)
    product_name = ma.fields.String(required=True)
    plan_year = ma.fields.Integer(required=True)
    coverage_start = ma.fields.Date(required=True)
    coverage_end = ma.fields.Date(required=True)
    status = ma.fields.String(required=True)
    status_label = ma.fields.String(required=True)
