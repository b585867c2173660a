"""Base schemas: unknown fields are rejected (marshmallow's RAISE), strings are bounded."""
from __future__ import annotations

import marshmallow as ma


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE
        ordered = True


class PageQuerySchema(StrictSchema):
    """Bounded page sizes everywhere (QUALITY.md)."""

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100000))
    page_size = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


class ConsentSchema(StrictSchema):
    accepted = ma.fields.Boolean(required=True, metadata={"description": "单独同意：必须为 true"})
    text_version = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=32),
        metadata={"description": "The version of the consent text the member read"},
    )
