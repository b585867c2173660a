"""docs/errors.md, generated from the error catalogue (`flask errors doc > docs/errors.md`)."""

from __future__ import annotations

from app.error_catalogue import CATALOGUE


def markdown_table() -> str:
    """docs/errors.md: one row per code, in catalogue order (grouped by capability)."""
    lines = [
        "# Error codes",
        "",
        "Generated from `app/error_catalogue.py` by `flask errors doc > docs/errors.md`; "
        "do not edit by hand.",
        "Every error body is RFC 9457 problem details with a stable `code` (see `app/errors.py`).",
        "",
        "| code | HTTP | 中文说明 |",
        "|---|---|---|",
    ]
    for spec in CATALOGUE.values():
        status = " / ".join(str(s) for s in (spec.status, *spec.also))
        message = spec.message.replace("|", "\\|")
        lines.append(f"| `{spec.code}` | {status} | {message} |")
    return "\n".join(lines) + "\n"
