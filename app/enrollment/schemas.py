from __future__ import annotations

import marshmallow as ma

from app.common.schemas import StrictSchema
from app.identity.idnumber import mask_name

MAX_INSURED = 20


class SelectionSchema(StrictSchema):
    product_code = ma.fields.String(
        validate=ma.validate.Regexp(r"^[a-z0-9-]{1,40}$"),
        metadata={"description": "默认为当前开放投保的产品"},
    )
    include_self = ma.fields.Boolean(load_default=True)
    relative_ids = ma.fields.List(
        ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1)),
        load_default=list,
        validate=ma.validate.Length(max=MAX_INSURED),
    )


class TermsAcceptanceSchema(StrictSchema):
    version = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    accepted = ma.fields.Boolean(required=True, metadata={"description": "已阅读并同意全部条款"})


class RenewalConsentTextSchema(StrictSchema):
    version = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    accepted = ma.fields.Boolean(required=True, metadata={"description": "已阅读并同意续保授权书"})


class RenewalChoiceSchema(StrictSchema):
    auto_debit = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "续保时从付款人医保个人账户扣缴下一年度保费；否则通知缴费"},
    )
    consent = ma.fields.Nested(RenewalConsentTextSchema, required=True)


# What a member may name as an order's payment_method (the sponsor pays through subsidies).
MEMBER_PAYMENT_METHODS = ("personal_account", "wechat")


class CreateOrderSchema(SelectionSchema):
    payment_method = ma.fields.String(validate=ma.validate.OneOf(MEMBER_PAYMENT_METHODS))
    terms = ma.fields.Nested(TermsAcceptanceSchema, required=True)
    renewal = ma.fields.Nested(
        RenewalChoiceSchema,
        metadata={"description": "可选：同时授权续保（续保授权书版本见 GET /renewals）"},
    )


class ReasonSchema(StrictSchema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)


class SubsidySchema(StrictSchema):
    programme_id = ma.fields.Integer(required=True)
    funder_name = ma.fields.String(required=True)
    funder_kind = ma.fields.String(required=True)
    amount_fen = ma.fields.Integer(required=True)


class QuoteLineSchema(StrictSchema):
    person_id = ma.fields.Integer(required=True)
    name_masked = ma.fields.String(required=True)
    relation = ma.fields.String(required=True)
    eligible = ma.fields.Boolean(required=True)
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema), required=True)
    premium_fen = ma.fields.Integer(required=True)
    subsidies = ma.fields.List(ma.fields.Nested(SubsidySchema), required=True)
    subsidy_fen = ma.fields.Integer(required=True)
    pay_fen = ma.fields.Integer(required=True)


class SponsoredCoverSchema(StrictSchema):
    amount_fen = ma.fields.Integer(
        required=True, metadata={"description": "资助项目承担的保费合计（分）"}
    )
    covers_all = ma.fields.Boolean(
        required=True, metadata={"description": "是否全额资助（为 true 时下单不填 payment_method）"}
    )
    how = ma.fields.String(required=True, metadata={"description": "资助如何取得"})


SPONSORED_ALL = "资助项目全额承担保费：提交订单时自动使用资助，无需选择支付方式"
SPONSORED_PART = "资助项目承担部分保费：提交订单时自动抵扣，其余保费请选择支付方式支付"


class QuoteSchema(StrictSchema):
    product_code = ma.fields.String(required=True)
    plan_year = ma.fields.Integer(required=True, metadata={"description": "所购保障年度"})
    coverage_start = ma.fields.Date(
        required=True, metadata={"description": "今天缴费时的保障起始日（保费为全年保费，不折算）"}
    )
    coverage_end = ma.fields.Date(required=True, metadata={"description": "保障结束日（含当日）"})
    lines = ma.fields.List(ma.fields.Nested(QuoteLineSchema), required=True)
    total_premium_fen = ma.fields.Integer(required=True)
    total_subsidy_fen = ma.fields.Integer(required=True)
    total_pay_fen = ma.fields.Integer(required=True)
    payment_methods = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(MEMBER_PAYMENT_METHODS)),
        required=True,
        metadata={
            "description": "POST /orders 的 payment_method 可选值；无需付款（全额资助）时为空，"
            "下单不填 payment_method"
        },
    )
    sponsored_cover = ma.fields.Nested(
        SponsoredCoverSchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "资助项目（见各行 subsidies）承担的保费：POST /orders 下单时自动抵扣并"
            "预留资助额度，不是一种支付方式；没有资助时为 null。邀请链接的资助经 "
            "POST /me/campaign-redemptions 领取，名单资助由资助方批量参保"
        },
    )
    unavailable_methods = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(ReasonSchema),
        required=True,
        metadata={"description": "不能支付的方式及原因（如个人账户余额不足），下单前即可看到"},
    )
    personal_account_balance_fen = ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "付款人医保个人账户余额（分，医保系统实时查询，短时缓存）；无个人账户或暂不可查为 null"
        },
    )


def _sponsored_cover(quote) -> dict | None:
    if quote.total_subsidy_fen == 0:
        return None
    covers_all = quote.total_pay_fen == 0
    return {
        "amount_fen": quote.total_subsidy_fen,
        "covers_all": covers_all,
        "how": SPONSORED_ALL if covers_all else SPONSORED_PART,
    }


def quote_view(quote, names: dict[int, str]) -> dict:
    """The quote as QuoteSchema shows it; `names`: person id -> name (masked here)."""
    return {
        "product_code": quote.product_code,
        "plan_year": quote.plan_year,
        "coverage_start": quote.coverage_start,
        "coverage_end": quote.coverage_end,
        "lines": [
            {
                "person_id": line.person_id,
                "name_masked": mask_name(names[line.person_id]),
                "relation": line.relation,
                "eligible": line.eligible,
                "reasons": [r.__dict__ for r in line.reasons],
                "premium_fen": line.premium_fen,
                "subsidies": [s.__dict__ for s in line.subsidies],
                "subsidy_fen": line.subsidy_fen,
                "pay_fen": line.pay_fen,
            }
            for line in quote.lines
        ],
        "total_premium_fen": quote.total_premium_fen,
        "total_subsidy_fen": quote.total_subsidy_fen,
        "total_pay_fen": quote.total_pay_fen,
        "payment_methods": list(quote.payment_methods),
        "sponsored_cover": _sponsored_cover(quote),
        "unavailable_methods": {k: v.__dict__ for k, v in quote.unavailable_methods.items()},
        "personal_account_balance_fen": quote.account_balance_fen,
    }


class OrderItemSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    person_id = ma.fields.Integer(required=True)
    name_masked = ma.fields.Method("_name", required=True)
    relation = ma.fields.String(required=True)
    premium_fen = ma.fields.Integer(required=True)
    subsidy_fen = ma.fields.Integer(required=True)
    pay_fen = ma.fields.Integer(required=True)
    subsidies = ma.fields.List(ma.fields.Nested(SubsidySchema), required=True)

    def _name(self, item) -> str | None:
        return mask_name(item.person.name)


class OrderSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    order_no = ma.fields.String(required=True)
    status = ma.fields.String(
        required=True, metadata={"description": "pending_payment | paying | paid | closed"}
    )
    plan_year = ma.fields.Integer(required=True)
    payment_method = ma.fields.String(allow_none=True)
    total_premium_fen = ma.fields.Integer(required=True)
    total_subsidy_fen = ma.fields.Integer(required=True)
    total_pay_fen = ma.fields.Integer(required=True)
    terms_version = ma.fields.String(required=True)
    terms_agreed_at = ma.fields.DateTime(required=True)
    created_at = ma.fields.DateTime(required=True)
    expires_at = ma.fields.DateTime(required=True)
    paid_at = ma.fields.DateTime(allow_none=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    close_reason = ma.fields.String(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(OrderItemSchema), required=True)
