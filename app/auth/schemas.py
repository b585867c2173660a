from __future__ import annotations

import marshmallow as ma

from app.common.schemas import StrictSchema


class WeChatLoginSchema(StrictSchema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=128),
        metadata={"description": "wx.login() 返回的一次性 code"},
    )


class RefreshSchema(StrictSchema):
    refresh_token = ma.fields.String(required=True, validate=ma.validate.Length(min=16, max=128))


class StaffLoginSchema(StrictSchema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(
        required=True, load_only=True, validate=ma.validate.Length(min=1, max=256)
    )


class TokenPairSchema(StrictSchema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(required=True, metadata={"description": "seconds"})
    refresh_token = ma.fields.String(required=True)


class MemberLoginSchema(TokenPairSchema):
    member_id = ma.fields.Integer(required=True)
    new_member = ma.fields.Boolean(required=True)
    identity_verified = ma.fields.Boolean(required=True)


class StaffLoginResultSchema(TokenPairSchema):
    staff_id = ma.fields.Integer(required=True)
    role = ma.fields.String(required=True)
    organisation_id = ma.fields.Integer(allow_none=True)
