"""Base schemas: unknown fields are rejected (marshmallow's RAISE), strings are bounded."""

from __future__ import annotations

import marshmallow as ma


def plain_text(multiline: bool = False):
    """A validator for text shown to people and stored as text: not blank, no control characters
    (NUL, escapes), newlines only where `multiline` (a diagnosis, a reviewer's reason)."""
    allowed = "\n" if multiline else ""

    def check(value: str) -> None:
        if not value.strip() or any(
            (ord(c) < 32 and c not in allowed) or ord(c) == 127 for c in value
        ):
            raise ma.ValidationError("不能为空，且不能包含控制字符")

    return check


def _has_nul(value) -> bool:
    """Whether a NUL hides anywhere in the value (no paths built: the common answer is no)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _nul_paths(value, path: str) -> list[str]:
    """Where a NUL character hides in loaded input: PostgreSQL cannot store one in text, and no
    field of ours means one, so it is refused before any field's own rules run."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, dict):
        return [
            p for k, v in value.items() for p in _nul_paths(v, f"{path}.{k}" if path else str(k))
        ]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _nul_paths(v, f"{path}.{i}")]
    return []


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE
        ordered = True

    @ma.pre_load
    def _refuse_nul(self, data, **kwargs):
        plain = dict(data) if hasattr(data, "keys") else data
        if not _has_nul(plain):
            return data
        found = _nul_paths(plain, "")
        if found:
            raise ma.ValidationError({p or "_schema": ["不能包含空字符（NUL）"] for p in found})
        return data


class PageQuerySchema(StrictSchema):
    """Bounded page sizes everywhere (QUALITY.md)."""

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100000))
    page_size = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


class ConsentSchema(StrictSchema):
    accepted = ma.fields.Boolean(required=True, metadata={"description": "单独同意：必须为 true"})
    text_version = ma.fields.String(
        required=True,
        validate=[ma.validate.Length(min=1, max=32), plain_text()],
        metadata={
            "description": "The version of the consent text the member read: the one in force "
            "(GET /me/consents `current_text_versions`), else it is refused and not recorded"
        },
    )
