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
            "description": "paid: 已支付；processing: 扣款结果确认中；awaiting_wechat: 请调起微信支付；"
            "failed: 未支付成功，可重新支付（仅查询支付进度时）"
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


class PaymentAcceptedSchema(StrictSchema):
    """202: the outside system was called but its outcome could not be recorded yet (the
    database failed). Nothing is lost: reconciliation settles the payment; poll `poll_url`."""

    state = ma.fields.String(
        required=True,
        metadata={"description": "processing: 扣款结果确认中；awaiting_wechat: 请调起微信支付"},
    )
    order_id = ma.fields.Integer(required=True)
    payment = ma.fields.Nested(PaymentSchema, required=True)
    wechat_js_params = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        allow_none=True,
        metadata={"description": "wx.requestPayment 参数"},
    )
    poll_url = ma.fields.String(
        required=True,
        metadata={"description": "GET it for the payment's progress (also the Location header)"},
    )


class SandboxPaymentResultSchema(StrictSchema):
    outcome = ma.fields.String(required=True)
    order = ma.fields.Nested(OrderSchema, required=True)
