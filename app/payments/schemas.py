from __future__ import annotations

import marshmallow as ma

from app.common.schemas import StrictSchema
from app.enrollment.schemas import OrderSchema


class StartPaymentSchema(StrictSchema):
    method = ma.fields.String(
        required=True, validate=ma.validate.OneOf(("personal_account", "wechat"))
    )


class PaymentSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    method = ma.fields.String(required=True)
    amount_fen = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    failure_code = ma.fields.String(allow_none=True)


class PaymentStartResultSchema(StrictSchema):
    state = ma.fields.String(
        required=True,
        metadata={
            "description": "paid: 已支付；processing: 扣款结果确认中；awaiting_wechat: 请调起微信支付"
        },
    )
    order = ma.fields.Nested(OrderSchema, required=True)
    payment = ma.fields.Nested(PaymentSchema, allow_none=True)
    wechat_js_params = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        allow_none=True,
        metadata={"description": "wx.requestPayment 参数"},
    )


class SandboxPaymentResultSchema(StrictSchema):
    outcome = ma.fields.String(required=True)
    order = ma.fields.Nested(OrderSchema, required=True)
