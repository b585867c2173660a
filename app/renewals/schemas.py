from __future__ import annotations

import marshmallow as ma

from app.common.schemas import StrictSchema
from app.enrollment.schemas import RenewalConsentTextSchema
from app.identity.idnumber import mask_name


def _masked_name(obj) -> str | None:
    from app.database import get_session
    from app.members.models import Person

    person_id = obj["person_id"] if isinstance(obj, dict) else obj.person_id
    return mask_name(get_session().get_one(Person, person_id).name)


class RenewalConsentCreateSchema(StrictSchema):
    policy_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**31 - 1))
    auto_debit = ma.fields.Boolean(
        load_default=False, metadata={"description": "续保时从付款人医保个人账户扣缴保费"}
    )
    consent = ma.fields.Nested(RenewalConsentTextSchema, required=True)


class RenewalConsentSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    person_id = ma.fields.Integer(required=True)
    name_masked = ma.fields.Function(_masked_name, required=True)
    relation = ma.fields.String(required=True)
    auto_debit = ma.fields.Boolean(required=True)
    text_version = ma.fields.String(required=True)
    source = ma.fields.String(required=True, metadata={"description": "enrollment | member"})
    status = ma.fields.String(required=True, metadata={"description": "active | revoked"})
    consented_at = ma.fields.DateTime(required=True)
    revoked_at = ma.fields.DateTime(allow_none=True)


class RenewalOutcomeSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    run_id = ma.fields.Integer(required=True)
    person_id = ma.fields.Integer(required=True)
    name_masked = ma.fields.Function(_masked_name, required=True)
    plan_year = ma.fields.Integer(required=True)
    status = ma.fields.String(
        required=True,
        metadata={
            "description": "pending | renewed | awaiting_payment | not_eligible | "
            "already_insured | failed"
        },
    )
    status_label = ma.fields.String(required=True)
    reason_code = ma.fields.String(allow_none=True)
    message = ma.fields.String(allow_none=True)
    from_policy_id = ma.fields.Integer(required=True)
    order_id = ma.fields.Integer(allow_none=True)
    policy_id = ma.fields.Integer(allow_none=True)
    processed_at = ma.fields.DateTime(allow_none=True)


class MemberRenewalsSchema(StrictSchema):
    consent_text_version = ma.fields.String(
        required=True, metadata={"description": "当前续保授权书版本（同意时须提交）"}
    )
    consents = ma.fields.List(ma.fields.Nested(RenewalConsentSchema), required=True)
    outcomes = ma.fields.List(ma.fields.Nested(RenewalOutcomeSchema), required=True)


class RenewalRunCreateSchema(StrictSchema):
    product_code = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^[a-z0-9-]{1,40}$"),
        metadata={"description": "下一保障年度的产品（其 renews 指向上一年度产品）"},
    )


class RenewalRunSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    product_id = ma.fields.Integer(required=True)
    from_product_id = ma.fields.Integer(required=True)
    plan_year = ma.fields.Integer(required=True)
    status = ma.fields.String(
        required=True, metadata={"description": "queued | running | completed | failed"}
    )
    total = ma.fields.Integer(required=True)
    processed = ma.fields.Integer(required=True)
    runs = ma.fields.Integer(required=True, metadata={"description": "启动次数（1 + 续跑次数）"})
    error_code = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    heartbeat_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)


class RenewalRunReportSchema(RenewalRunSchema):
    outcomes = ma.fields.List(ma.fields.Nested(RenewalOutcomeSchema), required=True)
