from __future__ import annotations

import marshmallow as ma

from app.common.pagination import page_schema
from app.common.schemas import PageQuerySchema, StrictSchema
from app.members.schemas import MemberProfileSchema, RelativeSchema


class StaffMemberViewSchema(StrictSchema):
    member = ma.fields.Nested(MemberProfileSchema, required=True)
    relatives = ma.fields.List(ma.fields.Nested(RelativeSchema), required=True)


class AuditQuerySchema(PageQuerySchema):
    object_type = ma.fields.String(validate=ma.validate.Length(max=32))
    object_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1))
    action = ma.fields.String(validate=ma.validate.Length(max=64))


class AuditEventSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    at = ma.fields.DateTime(required=True)
    actor_type = ma.fields.String(required=True)
    actor_id = ma.fields.Integer(allow_none=True)
    action = ma.fields.String(required=True)
    object_type = ma.fields.String(required=True)
    object_id = ma.fields.Integer(allow_none=True)
    detail = ma.fields.Dict(required=True)
    request_id = ma.fields.String(allow_none=True)


AuditPageSchema = page_schema("AuditPageSchema", AuditEventSchema)


class StaffLoginLockSchema(StrictSchema):
    """A staff account's sign-in lock (failed sign-ins per username, app/auth/lockout.py)."""

    account_id = ma.fields.Integer(required=True)
    username = ma.fields.String(required=True)
    locked = ma.fields.Boolean(
        required=True, metadata={"description": "sign-ins are refused with staff_login_locked"}
    )
    failures = ma.fields.Integer(
        required=True, metadata={"description": "failed sign-ins in the current window"}
    )
    limit = ma.fields.String(required=True, metadata={"example": "5 per 15 minutes"})
    locked_until = ma.fields.DateTime(
        allow_none=True, metadata={"description": "when the lock ends by itself (UTC)"}
    )
    storage = ma.fields.String(
        required=True,
        metadata={
            "description": "shared: the limit storage all workers use; fallback: it is "
            "unreachable and this answer is this worker's in-process count only",
            "enum": ["shared", "fallback"],
        },
    )
