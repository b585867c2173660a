"""Claim request and response bodies. Amounts are integer fen; dates are Asia/Shanghai dates."""

from __future__ import annotations

import marshmallow as ma

from app.claims.statuses import ClaimStatus
from app.claims.workflow import REJECT_REASONS, STATUSES, status_label
from app.common.schemas import StrictSchema, plain_text
from app.documents.types import DOCUMENT_TYPES
from app.identity.idnumber import mask_name
from app.products.definition import CARE_KINDS

MAX_ID = 2**31 - 1
MAX_FEN = 10**10  # 1 亿元: far above any bill, well inside BIGINT


def _text(max_len: int):
    return [ma.validate.Length(min=1, max=max_len), plain_text(multiline=True)]


def _fen(**kw):
    # strict: a JSON 100.5 or "100" is refused, never truncated to 100 fen
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=MAX_FEN), **kw)


AMOUNTS_DESCRIPTION = (
    "个人负担的费用，按本产品保障责任计入的费用类别填写（类别 -> 分）："
    "in_policy_self_pay 医保政策范围内个人自付（医疗救助支付之前的金额）、"
    "out_of_policy_self_pay 政策范围外自费、special_drugs 特药、proton_heavy_ion 质子重离子，"
    "以及产品自定的类别（见产品的 buckets[].counts）。本产品不保障的类别返回 422 "
    "claim_amount_kind_unknown。与同名的 *_fen 字段同时提交时以本对象为准。"
)


# The field reviewers misread: the amount BEFORE medical assistance (the engine takes medical
# assistance off it itself); typing the amount after assistance would take it off twice.
IN_POLICY_DESCRIPTION = (
    "医保政策范围内个人自付（含基本医保起付线和自付比例部分），填写医疗救助支付【之前】的金额："
    "即结算单上的政策范围内个人自付，不扣除医疗救助（医疗救助另填 maf_pay_fen，由系统扣除）。"
    "填写救助后的金额会被重复扣减；各项合计须等于医疗费用总额"
)


def _amounts(**kw):
    return ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Regexp(r"^[a-z0-9_]{1,40}$")),
        values=_fen(required=True),
        validate=ma.validate.Length(max=20),
        metadata={"description": AMOUNTS_DESCRIPTION},
        **kw,
    )


class PayeeSchema(StrictSchema):
    name = ma.fields.String(
        required=True,
        validate=_text(64),
        metadata={"description": "收款人：被保险人本人；未成年人也可为监护人"},
    )
    bank_name = ma.fields.String(required=True, validate=_text(64))
    bank_account = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=10, max=40),
        metadata={"description": "银行账号（加密保存，仅显示后四位）"},
    )


class PayeeCorrectionSchema(StrictSchema):
    payee = ma.fields.Nested(PayeeSchema, required=True)


def _diagnosis_code() -> ma.fields.String:
    return ma.fields.String(
        validate=[ma.validate.Length(min=1, max=20), ma.validate.Regexp(r"^[0-9A-Za-z.]+$")],
        metadata={
            "description": "诊断编码（ICD-10，如 N18.500）；门诊慢特病按它判断是否属于产品保障的"
            "一类门诊慢特病",
            "example": "N18.500",
        },
    )


class InvoiceSchema(StrictSchema):
    issuer = ma.fields.String(
        required=True, validate=_text(100), metadata={"description": "开票单位（医院）"}
    )
    number = ma.fields.String(
        required=True,
        validate=[ma.validate.Length(min=1, max=40), ma.validate.Regexp(r"^[0-9A-Za-z\-]+$")],
        metadata={"description": "发票号码"},
    )
    amount_fen = _fen(required=True)


class _ClaimFields(StrictSchema):
    care_kind = ma.fields.String(validate=ma.validate.OneOf(CARE_KINDS))
    hospital_name = ma.fields.String(validate=_text(100))
    hospital_code = ma.fields.String(validate=_text(40))
    admitted_on = ma.fields.Date(metadata={"description": "入院（就诊）日期"})
    discharged_on = ma.fields.Date(metadata={"description": "出院日期"})
    diagnosis = ma.fields.String(validate=_text(500))
    diagnosis_code = _diagnosis_code()
    patient_name = ma.fields.String(
        validate=_text(64), metadata={"description": "票据上的患者姓名"}
    )
    pre_existing_declared = ma.fields.Boolean(metadata={"description": "是否为既往症"})
    medfee_sumamt_fen = _fen(metadata={"description": "医疗费用总额"})
    hifp_pay_fen = _fen(metadata={"description": "基本医保统筹支付"})
    hifmi_pay_fen = _fen(metadata={"description": "居民大病保险支付"})
    hifob_pay_fen = _fen(metadata={"description": "职工大额医疗补助支付"})
    maf_pay_fen = _fen(metadata={"description": "医疗救助支付"})
    in_policy_self_pay_fen = _fen(metadata={"description": IN_POLICY_DESCRIPTION})
    out_of_policy_self_pay_fen = _fen(metadata={"description": "政策范围外个人自费"})
    special_drugs_fen = _fen(metadata={"description": "特药个人负担"})
    amounts = _amounts()
    payee = ma.fields.Nested(PayeeSchema)
    invoices = ma.fields.List(ma.fields.Nested(InvoiceSchema), validate=ma.validate.Length(max=50))


class ClaimCreateSchema(_ClaimFields):
    policy_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_ID))


class ClaimUpdateSchema(_ClaimFields):
    pass


class SettlementClaimSchema(StrictSchema):
    policy_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_ID))
    setl_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    payee = ma.fields.Nested(PayeeSchema, required=True)
    pre_existing_declared = ma.fields.Boolean(load_default=False)


class EstimateSchema(StrictSchema):
    policy_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_ID))
    setl_id = ma.fields.String(
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "按医保结算记录试算；不填则按金额试算"},
    )
    care_kind = ma.fields.String(validate=ma.validate.OneOf(CARE_KINDS))
    care_date = ma.fields.Date()
    diagnosis_code = _diagnosis_code()
    pre_existing = ma.fields.Boolean(load_default=False)
    medfee_sumamt_fen = _fen()
    hifp_pay_fen = _fen()
    hifmi_pay_fen = _fen()
    hifob_pay_fen = _fen()
    maf_pay_fen = _fen()
    in_policy_self_pay_fen = _fen(metadata={"description": IN_POLICY_DESCRIPTION})
    out_of_policy_self_pay_fen = _fen()
    special_drugs_fen = _fen()
    amounts = _amounts()

    @ma.validates_schema
    def _one_way(self, data, **kwargs):
        if "setl_id" in data:
            return
        missing = [f for f in ("care_kind", "care_date", "medfee_sumamt_fen") if f not in data]
        if missing:
            raise ma.ValidationError({f: ["按金额试算时必填"] for f in missing})


class AnswerSchema(StrictSchema):
    message = ma.fields.String(required=True, validate=_text(1000))


class HumanReviewSchema(StrictSchema):
    reason = ma.fields.String(required=True, validate=_text(1000))


class RecheckRequestSchema(StrictSchema):
    reason = ma.fields.String(
        required=True, validate=_text(1000), metadata={"description": "申请复核的理由"}
    )


class ExplanationLineSchema(StrictSchema):
    code = ma.fields.String(required=True)
    zh = ma.fields.String(required=True)
    en = ma.fields.String(required=True)
    bucket = ma.fields.String(allow_none=True)


class BucketSchema(StrictSchema):
    bucket = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    counted_fen = ma.fields.Integer(required=True)
    excluded_fen = ma.fields.Integer(required=True)
    deductible_fen = ma.fields.Integer(required=True)
    after_ratio_fen = ma.fields.Integer(required=True)
    after_sub_caps_fen = ma.fields.Integer(required=True)
    payable_fen = ma.fields.Integer(required=True)


class EpisodeSchema(StrictSchema):
    """A supplement: the care was already claimed; only the difference is payable."""

    supplement_of = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "同一次就医的已结算理赔编号"}
    )
    previous_fen = ma.fields.Integer(required=True, metadata={"description": "已核准金额"})
    recomputed_fen = ma.fields.Integer(
        required=True, metadata={"description": "整次就医重新计算的应赔金额"}
    )
    payable_fen = ma.fields.Integer(required=True, metadata={"description": "本次补付差额"})


class AdjudicationSchema(StrictSchema):
    decision = ma.fields.String(required=True)
    payable_fen = ma.fields.Integer(required=True)
    reason_codes = ma.fields.List(ma.fields.String(), required=True)
    lines = ma.fields.List(ma.fields.Nested(ExplanationLineSchema), required=True)
    buckets = ma.fields.List(ma.fields.Nested(BucketSchema), required=True)
    episode = ma.fields.Nested(EpisodeSchema, metadata={"description": "补充理赔（同一次就医）"})


class EstimateResultSchema(AdjudicationSchema):
    pass


class TransitionSchema(StrictSchema):
    action = ma.fields.String(required=True)
    from_status = ma.fields.String(required=True)
    to_status = ma.fields.String(required=True)
    actor_type = ma.fields.String(required=True)
    reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime(required=True)


class DocumentSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    doc_type = ma.fields.String(required=True)
    media_type = ma.fields.String(required=True)
    size_bytes = ma.fields.Integer(required=True)
    uploaded_at = ma.fields.DateTime(required=True)


class DocumentUploadSchema(StrictSchema):
    doc_type = ma.fields.String(required=True, validate=ma.validate.OneOf(DOCUMENT_TYPES))


class DocumentFileSchema(ma.Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class PayeeViewSchema(StrictSchema):
    name = ma.fields.String(required=True)
    bank_name = ma.fields.String(required=True)
    account_masked = ma.fields.String(required=True)


class InfoRequestSchema(StrictSchema):
    message = ma.fields.String(required=True)
    documents = ma.fields.List(ma.fields.String(), required=True)
    answer = ma.fields.String(allow_none=True)


class ClaimSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    claim_no = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
    status_label = ma.fields.Method("_label", required=True)
    policy_id = ma.fields.Integer(required=True)
    plan_year = ma.fields.Integer(required=True)
    insured_name = ma.fields.Method("_insured", required=True)
    source = ma.fields.String(required=True)
    setl_id = ma.fields.String(allow_none=True)
    care_kind = ma.fields.String(allow_none=True)
    hospital_name = ma.fields.String(allow_none=True)
    admitted_on = ma.fields.Date(allow_none=True)
    discharged_on = ma.fields.Date(allow_none=True)
    diagnosis = ma.fields.String(allow_none=True)
    diagnosis_code = ma.fields.String(allow_none=True, metadata={"description": "诊断编码 ICD-10"})
    patient_name = ma.fields.String(allow_none=True)
    pre_existing_declared = ma.fields.Boolean(required=True)
    health = ma.fields.String(required=True)
    medfee_sumamt_fen = ma.fields.Integer(required=True)
    hifp_pay_fen = ma.fields.Integer(required=True)
    hifmi_pay_fen = ma.fields.Integer(required=True)
    hifob_pay_fen = ma.fields.Integer(required=True)
    maf_pay_fen = ma.fields.Integer(required=True)
    in_policy_self_pay_fen = ma.fields.Integer(required=True)
    out_of_policy_self_pay_fen = ma.fields.Integer(required=True)
    special_drugs_fen = ma.fields.Integer(required=True)
    amounts = ma.fields.Method(
        "_amounts",
        required=True,
        metadata={
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "个人负担的费用，按费用类别（类别 -> 分），含无单独字段的类别",
        },
    )
    payee = ma.fields.Method("_payee", allow_none=True)
    invoices = ma.fields.List(ma.fields.Nested(InvoiceSchema), required=True)
    documents = ma.fields.List(ma.fields.Nested(DocumentSchema), required=True)
    required_documents = ma.fields.Method("_required", required=True)
    missing_documents = ma.fields.Method("_missing", required=True)
    adjudication = ma.fields.Nested(AdjudicationSchema, allow_none=True)
    approved_fen = ma.fields.Integer(allow_none=True)
    paid_fen = ma.fields.Integer(required=True)
    info_request = ma.fields.Method("_info", allow_none=True)
    human_review_available = ma.fields.Method("_human", required=True)
    recheck_available = ma.fields.Method(
        "_recheck",
        required=True,
        metadata={
            "type": "boolean",
            "description": "a reviewer's rejection the member may still take to 复核 (once, "
            "within CLAIM_RECHECK_DAYS of the decision)",
        },
    )
    fee_lines = ma.fields.Method(
        "_fee_lines",
        required=True,
        metadata={
            "type": "array",
            "items": {"type": "object"},
            "description": "the itemised fee lines (5204 shape) and what the catalogue match "
            "made of each: amount_kind, on_list_fen, off_list_fen, reason_codes",
        },
    )
    transitions = ma.fields.List(ma.fields.Nested(TransitionSchema), required=True)
    created_at = ma.fields.DateTime(required=True)
    submitted_at = ma.fields.DateTime(allow_none=True)
    decided_at = ma.fields.DateTime(allow_none=True)
    paid_at = ma.fields.DateTime(
        allow_none=True,
        metadata={"description": "赔付时间；医院撤销一站式结算后为空（见 reversed_at）"},
    )
    reversed_at = ma.fields.DateTime(
        allow_none=True,
        metadata={
            "description": "医院撤销一站式结算（撤销）的时间：status 为 rejected，"
            "status_label 为“医院已撤销结算”，本次赔付 0 元"
        },
    )

    def _label(self, c):
        return status_label(c.status, c.reversed_at)

    @ma.post_dump
    def _not_paid_once_reversed(self, data, **kwargs):
        # the record keeps when the counter paid; the member is not told it is paid
        if data.get("reversed_at") is not None:
            data["paid_at"] = None
        return data

    def _insured(self, c):
        from app.database import get_session
        from app.members.models import Person

        return mask_name(get_session().get(Person, c.person_id).name)

    def _amounts(self, c):
        from app.claims.rules import AMOUNT_COLUMNS

        out = {kind: getattr(c, column) for kind, column in AMOUNT_COLUMNS.items()}
        return out | dict(c.other_amounts or {})

    def _payee(self, c):
        if not c.payee_account_last4:
            return None
        return {
            "name": mask_name(c.payee_name),
            "bank_name": c.payee_bank_name,
            "account_masked": "**** **** " + c.payee_account_last4,
        }

    def _required(self, c):
        from app.claims.services import required_documents

        return required_documents(c)

    def _missing(self, c):
        from app.claims.services import missing_documents

        return missing_documents(c)

    def _info(self, c):
        if not c.info_request:
            return None
        return {
            "message": c.info_request.get("message", ""),
            "documents": c.info_request.get("documents", []),
            "answer": c.info_request.get("answer"),
        }

    def _human(self, c):
        return c.status == ClaimStatus.REJECTED and bool(c.auto_rejected)

    def _recheck(self, c):
        from app.claims.services import recheck_available

        return recheck_available(c)

    def _fee_lines(self, c):
        from app.claims.lines import view
        from app.database import get_session

        return view(get_session(), c.id)


class ClaimSummarySchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    claim_no = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    status_label = ma.fields.Method("_label", required=True)
    source = ma.fields.String(required=True)
    care_kind = ma.fields.String(allow_none=True)
    admitted_on = ma.fields.Date(allow_none=True)
    approved_fen = ma.fields.Integer(allow_none=True)
    paid_fen = ma.fields.Integer(required=True)
    reversed_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "医院撤销一站式结算的时间"}
    )
    created_at = ma.fields.DateTime(required=True)

    def _label(self, c):
        return status_label(c.status, c.reversed_at)


class FlagSchema(StrictSchema):
    code = ma.fields.String(required=True)
    zh = ma.fields.String(required=True)


class StaffClaimSchema(ClaimSchema):
    person_id = ma.fields.Integer(required=True)
    member_id = ma.fields.Integer(required=True)
    assigned_staff_id = ma.fields.Integer(allow_none=True)
    flags = ma.fields.List(ma.fields.Nested(FlagSchema), required=True)
    decision = ma.fields.String(allow_none=True)
    payable_fen = ma.fields.Integer(allow_none=True)
    health_set_by = ma.fields.String(required=True)
    human_review_requested_at = ma.fields.DateTime(allow_none=True)
    recheck_requested_at = ma.fields.DateTime(allow_none=True)
    rejected_by_staff_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "in 复核: the reviewer who may not decide it"}
    )


class StaffClaimSummarySchema(ClaimSummarySchema):
    assigned_staff_id = ma.fields.Integer(allow_none=True)
    flags = ma.fields.List(ma.fields.Nested(FlagSchema), required=True)
    payable_fen = ma.fields.Integer(allow_none=True)
    human_review_requested_at = ma.fields.DateTime(allow_none=True)
    recheck_requested_at = ma.fields.DateTime(allow_none=True)
    rejected_by_staff_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "in 复核: the reviewer who may not decide it"}
    )


class QueueQuerySchema(StrictSchema):
    status = ma.fields.String(
        validate=ma.validate.OneOf(
            (
                ClaimStatus.PENDING_REVIEW,
                ClaimStatus.RECHECK,
                ClaimStatus.MORE_INFO_REQUESTED,
                ClaimStatus.APPROVED,
                ClaimStatus.REJECTED,
                ClaimStatus.PAID,
                ClaimStatus.CLOSED,
                ClaimStatus.SUBMITTED,
            )
        )
    )
    assigned = ma.fields.String(validate=ma.validate.OneOf(("me", "unassigned")))
    flag = ma.fields.String(validate=ma.validate.Length(min=1, max=40))
    care_kind = ma.fields.String(validate=ma.validate.OneOf(CARE_KINDS))
    claim_no = ma.fields.String(
        validate=[ma.validate.Length(min=1, max=32), plain_text()],
        metadata={"description": "理赔编号（或其开头）"},
    )
    insured = ma.fields.String(
        validate=[ma.validate.Length(min=1, max=32), plain_text()],
        metadata={"description": "被保险人姓名（按脱敏后的形式匹配，如 *伟）"},
    )
    min_age_days = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=3650),
        metadata={"description": "只看提交已满这么多天的理赔"},
    )
    before_id = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=MAX_ID),
        metadata={"description": "keyset cursor: claims with a smaller id"},
    )
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))


class AssignSchema(StrictSchema):
    staff_id = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=MAX_ID),
        metadata={"description": "operator only; a reviewer assigns to self"},
    )


class ClaimReasonSchema(StrictSchema):
    reason = ma.fields.String(required=True, validate=_text(1000))


class ClaimApproveSchema(ClaimReasonSchema):
    expected_payable_fen = _fen(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "the payable figure (fen) the reviewer saw and approves (the claim's "
            "payable_fen, or errors.payable.current_fen of a 409 claim_payable_changed). When "
            "given and approval, re-run against the accumulators as they are now, would pay "
            "another amount: 409 claim_payable_changed and nothing changes. Omitted: approval "
            "pays whatever the re-run gives"
        },
    )


class RejectSchema(StrictSchema):
    reason_code = ma.fields.String(required=True, validate=ma.validate.OneOf(REJECT_REASONS))
    reason = ma.fields.String(required=True, validate=_text(1000))


class InfoRequestCreateSchema(StrictSchema):
    message = ma.fields.String(required=True, validate=_text(1000))
    documents = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(DOCUMENT_TYPES)),
        load_default=list,
        validate=ma.validate.Length(max=6),
    )


class RedetermineSchema(StrictSchema):
    health = ma.fields.String(
        required=True, validate=ma.validate.OneOf(("healthy", "pre_existing"))
    )
    reason = ma.fields.String(required=True, validate=_text(1000))


class SettlementRecordSchema(StrictSchema):
    setl_id = ma.fields.String(required=True)
    hospital_name = ma.fields.String(required=True)
    care_kind = ma.fields.String(required=True)
    admitted_on = ma.fields.Date(required=True)
    discharged_on = ma.fields.Date(required=True)
    diagnosis = ma.fields.String(allow_none=True)
    medfee_sumamt_fen = ma.fields.Integer(required=True)
    hifp_pay_fen = ma.fields.Integer(required=True)
    hifmi_pay_fen = ma.fields.Integer(required=True)
    hifob_pay_fen = ma.fields.Integer(required=True)
    maf_pay_fen = ma.fields.Integer(required=True)
    member_paid_fen = ma.fields.Integer(
        required=True, metadata={"description": "个人负担 psn_part_amt"}
    )
    claimable = ma.fields.Boolean(required=True)
    claim_id = ma.fields.Integer(allow_none=True)
    not_claimable_reason = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "不能理赔的原因（已冲销、不属保障范围的医疗类别、该次就医已申请理赔）"
        },
    )
