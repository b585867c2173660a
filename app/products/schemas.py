"""What the mini-program sees of a product: everything a member needs to decide, in fen and basis
points, with each ratio also as a percent string ("70%") ready to display."""

from __future__ import annotations

import marshmallow as ma

from app.common.money import percent  # 7000 -> "70%", 7050 -> "70.5%" (exact)
from app.common.schemas import StrictSchema


def _bp(description: str) -> ma.fields.Integer:
    return ma.fields.Integer(
        required=True, metadata={"description": f"{description}，基点（7000 = 70%）"}
    )


def _percent(attribute: str, description: str) -> ma.fields.Function:
    return ma.fields.Function(
        lambda obj: percent(getattr(obj, attribute)),
        required=True,
        metadata={"description": f"{description}（百分比）", "example": "70%"},
    )


class ProductWindowSchema(StrictSchema):
    opens = ma.fields.Date(required=True)
    closes = ma.fields.Date(required=True, metadata={"description": "含当日；可能已被延长"})
    open_now = ma.fields.Boolean(required=True)


class ProductCoverageSchema(StrictSchema):
    starts = ma.fields.Date(required=True)
    ends = ma.fields.Date(required=True, metadata={"description": "含当日"})
    late_enrollment_waiting_days = ma.fields.Integer(
        required=True, metadata={"description": "保障开始后投保的等待期（天）"}
    )
    cover_start_rule = ma.fields.String(
        required=True,
        metadata={
            "description": "起保规则：fixed 固定自保障开始日起（保障开始后不再销售）；"
            "payment_day 保障开始后投保的，自缴费当日起；day_after_payment 自缴费次日起"
        },
    )
    starts_if_paid_today = ma.fields.Date(
        required=True, metadata={"description": "今天缴费时的保障起始日（保费为全年保费，不折算）"}
    )
    renews = ma.fields.String(
        allow_none=True, required=True, metadata={"description": "续保来源：上一保障年度的产品代码"}
    )


class PremiumRuleSchema(StrictSchema):
    premium_fen = ma.fields.Integer(required=True)
    insurance_type = ma.fields.String(
        allow_none=True, metadata={"description": "employee | resident"}
    )
    min_age = ma.fields.Integer(allow_none=True, metadata={"description": "保障开始日的年龄，含"})
    max_age = ma.fields.Integer(allow_none=True, metadata={"description": "含"})


class ProductPremiumSchema(StrictSchema):
    default_fen = ma.fields.Integer(required=True)
    rules = ma.fields.List(
        ma.fields.Nested(PremiumRuleSchema),
        required=True,
        metadata={"description": "按顺序匹配，第一条匹配的规则生效"},
    )


class RefundRuleSchema(StrictSchema):
    within_days = ma.fields.Integer(required=True, metadata={"description": "缴费后天数，含当日"})
    requires_no_claim = ma.fields.Boolean(required=True)


class BucketTierSchema(StrictSchema):
    above_fen = ma.fields.Integer(
        required=True, metadata={"description": "年度累计符合条件的费用超过此数的部分适用本段比例"}
    )
    ratio_healthy_bp = _bp("健康人群赔付比例")
    ratio_healthy_percent = _percent("ratio_healthy_bp", "健康人群赔付比例")
    ratio_pre_existing_bp = _bp("既往症人群赔付比例")
    ratio_pre_existing_percent = _percent("ratio_pre_existing_bp", "既往症人群赔付比例")


class BucketSubCapSchema(StrictSchema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    cap_fen = ma.fields.Integer(required=True)
    per = ma.fields.String(required=True, metadata={"description": "year | admission | item"})


class ProductBucketSchema(StrictSchema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    counts = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={
            "description": "计入的费用：in_policy_self_pay | out_of_policy_self_pay | special_drugs"
            " | proton_heavy_ion"
        },
    )
    deductible_fen = ma.fields.Integer(required=True, metadata={"description": "年度累计起付线"})
    deductible_pre_existing_fen = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "既往症人群的起付线；为空时与 deductible_fen 相同"},
    )
    deductible_group = ma.fields.String(
        allow_none=True, metadata={"description": "同组责任共用一条年度累计起付线"}
    )
    renewal_deductible_step_fen = ma.fields.Integer(
        required=True, metadata={"description": "每次连续健康续保起付线降低的金额"}
    )
    renewal_deductible_floor_fen = ma.fields.Integer(required=True)
    ratio_healthy_bp = _bp("健康人群赔付比例")
    ratio_healthy_percent = _percent("ratio_healthy_bp", "健康人群赔付比例")
    ratio_pre_existing_bp = _bp("既往症人群赔付比例")
    ratio_pre_existing_percent = _percent("ratio_pre_existing_bp", "既往症人群赔付比例")
    cap_fen = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "年度封顶线；null 为不设封顶"}
    )
    tiers = ma.fields.List(ma.fields.Nested(BucketTierSchema), required=True)
    tiers_from = ma.fields.String(
        required=True,
        metadata={
            "description": "分段起点的计算口径：first_yuan 年度累计符合条件的费用（含起付线内）"
            "| above_deductible 超过起付线后的年度累计费用"
        },
    )
    sub_caps = ma.fields.List(ma.fields.Nested(BucketSubCapSchema), required=True)
    commercial_list_required = ma.fields.Boolean(
        required=True, metadata={"description": "仅限商保目录内的项目"}
    )


class ChronicConditionSchema(StrictSchema):
    code = ma.fields.String(
        required=True, metadata={"description": "ICD-10 编码前缀（如 N18.5）", "example": "N18.5"}
    )
    name = ma.fields.String(required=True, metadata={"example": "尿毒症透析（慢性肾脏病5期）"})


class ProductBoundsSchema(StrictSchema):
    premium_max_fen = ma.fields.Integer(allow_none=True)
    deductible_max_fen = ma.fields.Integer(allow_none=True)
    cap_min_fen = ma.fields.Integer(allow_none=True)
    loss_ratio_floor_bp = ma.fields.Integer(allow_none=True)


class ProductSchema(StrictSchema):
    code = ma.fields.String(required=True, metadata={"example": "ganzhou-demo-2026"})
    name = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "published | retired"})
    plan_year = ma.fields.Integer(required=True)
    region_prefix = ma.fields.String(required=True, metadata={"description": "医保区划代码前缀"})
    window = ma.fields.Nested(ProductWindowSchema, required=True)
    coverage = ma.fields.Nested(ProductCoverageSchema, required=True)
    premium = ma.fields.Nested(ProductPremiumSchema, required=True)
    insured_relations = ma.fields.List(ma.fields.String(), required=True)
    payment_methods = ma.fields.List(ma.fields.String(), required=True)
    family_pool_relations = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "医保个人账户可为哪些关系缴费（家庭共济）"},
    )
    refund = ma.fields.Nested(RefundRuleSchema, required=True)
    terms_version = ma.fields.String(required=True)
    terms_title = ma.fields.String(required=True)
    buckets = ma.fields.List(ma.fields.Nested(ProductBucketSchema), required=True)
    required_documents = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        required=True,
        metadata={"description": "理赔材料：就医类型 -> 材料类型"},
    )
    class_one_chronic_conditions = ma.fields.List(
        ma.fields.Nested(ChronicConditionSchema),
        required=True,
        allow_none=True,
        metadata={
            "description": "保障的一类门诊慢特病（门诊慢特病仅保障诊断编码以其中一项开头的就诊）；"
            "空列表为不保障门诊慢特病；null 为产品未列明（由人工审核）"
        },
    )
    bounds = ma.fields.Nested(
        ProductBoundsSchema,
        allow_none=True,
        metadata={"description": "城市规定的产品边界（如赣州首年）；没有时为 null"},
    )


class ProductTermsSchema(StrictSchema):
    product_code = ma.fields.String(required=True)
    version = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    text = ma.fields.String(required=True, metadata={"description": "Markdown"})
    sha256 = ma.fields.String(required=True, metadata={"description": "条款正文的 SHA-256"})
    published_at = ma.fields.DateTime(required=True)
