"""Answers of the operations endpoints (health, readiness)."""

from __future__ import annotations

import marshmallow as ma

from app.api import ProblemSchema
from app.common.schemas import StrictSchema

CHECK_RESULTS = ("ok", "failed", "timeout", "not_configured", "degraded")


class ChecksField(ma.fields.Dict):
    def __init__(self, **kwargs) -> None:
        super().__init__(
            keys=ma.fields.String(validate=ma.validate.OneOf(("database", "redis", "rate_limits"))),
            values=ma.fields.String(validate=ma.validate.OneOf(CHECK_RESULTS)),
            metadata={
                "description": "依赖检查结果：database、redis -> ok / failed / "
                "timeout / not_configured；rate_limits -> ok / degraded（限流计数未使用共享存储）"
            },
            **kwargs,
        )


class HealthSchema(StrictSchema):
    status = ma.fields.String(required=True, metadata={"example": "ok"})


class ReadinessSchema(StrictSchema):
    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(("ready", "degraded")),
        metadata={"description": "ready, or degraded: serving without Redis (see checks)"},
    )
    checks = ChecksField(required=True)


class ReadinessProblemSchema(ProblemSchema):
    """Problem details for 503 not_ready, with the result of each check (no hosts, no errors)."""

    checks = ChecksField()
