"""Request and response bodies of the hospitals' API. Amounts are integer fen; the settlement
(setlinfo) and its itemised fees (feedetail) keep the national platform's field names, with
amounts in fen (`*_fen`); app/direct_settlement/rules.py reads them field by field."""

from __future__ import annotations

import marshmallow as ma

from app.common.schemas import StrictSchema

MAX_FEN = 10**10
_SN = ma.validate.Regexp(r"^[0-9A-Za-z_-]{1,40}$")


class TrialRequestSchema(StrictSchema):
    setlinfo = ma.fields.Dict(
        required=True, metadata={"description": "结算信息 (SettlementRecord)"}
    )
    feedetail = ma.fields.List(
        ma.fields.Dict(),
        required=True,
        validate=ma.validate.Length(max=2000),
        metadata={"description": "费用明细 (FeeDetailRecord), netted"},
    )


class DirectExplanationLineSchema(StrictSchema):
    code = ma.fields.String(required=True)
    zh = ma.fields.String(required=True)


class TrialSchema(StrictSchema):
    trial_no = ma.fields.String(required=True)
    decision = ma.fields.String(required=True)
    payable_fen = ma.fields.Integer(required=True)
    patient_pays_fen = ma.fields.Integer(required=True)
    policy_no = ma.fields.String(required=True)
    explanation = ma.fields.List(ma.fields.Nested(DirectExplanationLineSchema), required=True)


class ConfirmRequestSchema(StrictSchema):
    trial_no = ma.fields.String(required=True, validate=_SN)
    setl_sn = ma.fields.String(required=True, validate=_SN)


class SettlementNumberSchema(StrictSchema):
    setl_sn = ma.fields.String(required=True, validate=_SN)


class DirectSettlementSchema(StrictSchema):
    setl_sn = ma.fields.String(required=True)
    trial_no = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    claim_no = ma.fields.String(required=True)
    claim_status = ma.fields.String(required=True)
    amount_fen = ma.fields.Integer(required=True)
    settled_on = ma.fields.Date(required=True)
    confirmed_at = ma.fields.DateTime(required=True)
    cancelled_at = ma.fields.DateTime(allow_none=True)
    explanation = ma.fields.List(ma.fields.Nested(DirectExplanationLineSchema), required=True)


class ReconcileItemSchema(StrictSchema):
    setl_sn = ma.fields.String(required=True, validate=_SN)
    amount_fen = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(0, MAX_FEN)
    )


class ReconcileRequestSchema(StrictSchema):
    day = ma.fields.Date(required=True)
    count = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(0, 10**7))
    sum_fen = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(0, MAX_FEN))
    items = ma.fields.List(
        ma.fields.Nested(ReconcileItemSchema),
        load_default=None,
        validate=ma.validate.Length(max=20000),
    )


class MismatchSchema(StrictSchema):
    """One difference. count_differs compares numbers of settlements (ours_count /
    theirs_count); every other kind compares amounts in fen (ours_fen / theirs_fen); the fields
    a kind does not use are null."""

    setl_sn = ma.fields.String(
        allow_none=True, metadata={"description": "结算流水号（逐笔核对的差异；合计差异为空）"}
    )
    code = ma.fields.String(
        required=True,
        metadata={
            "description": "count_differs 笔数不一致、sum_differs 金额合计不一致、"
            "missing_here 医院有惠民保无（或已撤销）、missing_there 惠民保有医院无、"
            "amount_differs 单笔金额不一致"
        },
    )
    zh = ma.fields.String(required=True)
    ours_count = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "惠民保的笔数（count_differs）"}
    )
    theirs_count = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "医院的笔数（count_differs）"}
    )
    ours_fen = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "惠民保的金额（分）"}
    )
    theirs_fen = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "医院的金额（分）"}
    )


class ReconciliationSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    fixmedins_code = ma.fields.String(required=True)
    day = ma.fields.Date(required=True)
    their_count = ma.fields.Integer(required=True)
    their_sum_fen = ma.fields.Integer(required=True)
    our_count = ma.fields.Integer(required=True)
    our_sum_fen = ma.fields.Integer(required=True)
    matched = ma.fields.Boolean(required=True)
    mismatches = ma.fields.List(ma.fields.Nested(MismatchSchema), required=True)
    created_at = ma.fields.DateTime(required=True)


class ReconciliationQuerySchema(StrictSchema):
    day = ma.fields.Date(
        metadata={"description": "只看这一天（YYYY-MM-DD，医院对账的结算日，北京时间）的对账报告"}
    )
    mismatched_only = ma.fields.Boolean(load_default=False)
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, 500))
