"""Member notifications as WeChat subscription messages (pure: no Flask, no database).

A subscription message names a template the mini-program chose in WeChat's library (its id is
the deployment's) and fills the template's own keys (``thing1``, ``amount2``, ``date3`` ...),
each with a length limit set by its type. The outbox's events carry our own payload
(``claim_no``, ``amount``, ``status``, ``message`` ...). ``NOTIFY_TEMPLATES`` maps one to the
other, per event kind, as JSON::

    {"claim_paid": {"template_id": "TPL-ID", "fields": {"character_string1": "claim_no",
                                                        "amount2": "amount",
                                                        "phrase3": "status"}},
     "renewal.*": {"template_id": "TPL-ID2", "fields": {"thing1": "message"}}}

A kind ending in ``*`` covers every kind with that prefix (``renewal.*``: ``renewal.renewed``
...; ``claim_*``: every claim message). A value
longer than its type allows is cut with "…" (WeChat refuses the whole message otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# WeChat's limits per key type (characters); a type not listed is sent as it is.
LIMITS = {
    "thing": 20,
    "character_string": 32,
    "phrase": 5,
    "name": 10,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "amount": 32,
    "phone_number": 17,
    "car_number": 8,
}
_KEY = re.compile(r"^([a-z_]+?)\d+$")


@dataclass(frozen=True)
class Template:
    template_id: str
    fields: Mapping[str, str]  # the template's key -> the payload's key


def parse_templates(raw: Any) -> dict[str, Template]:
    """NOTIFY_TEMPLATES (already JSON-decoded) as Templates; ValueError saying what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("NOTIFY_TEMPLATES must be a JSON object of event kind -> template")
    out = {}
    for kind, spec in raw.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("template_id"), str):
            raise ValueError(f"NOTIFY_TEMPLATES[{kind!r}] needs a template_id string")
        fields = spec.get("fields")
        if not isinstance(fields, dict) or not fields:
            raise ValueError(
                f"NOTIFY_TEMPLATES[{kind!r}] needs fields: template key -> payload key"
            )
        for key, source in fields.items():
            if not _KEY.match(str(key)) or not isinstance(source, str):
                raise ValueError(
                    f"NOTIFY_TEMPLATES[{kind!r}]: {key!r} is not a template key like thing1"
                )
        out[str(kind)] = Template(spec["template_id"].strip(), dict(fields))
    return out


def template_for(templates: Mapping[str, Template], kind: str) -> Template | None:
    """The kind's own template, else the longest ``prefix*`` that covers it, else None."""
    if kind in templates:
        return templates[kind]
    covering = [k for k in templates if k.endswith("*") and kind.startswith(k[:-1])]
    return templates[max(covering, key=len)] if covering else None


def fill(template: Template, payload: Mapping[str, Any]) -> dict[str, str]:
    """The template's keys with the payload's values, each cut to its type's limit."""
    data = {}
    for key, source in template.fields.items():
        value = str(payload.get(source, "") or "")
        match = _KEY.match(key)
        limit = LIMITS.get(match.group(1)) if match else None
        if limit is not None and len(value) > limit:
            value = value[: limit - 1] + "…"
        data[key] = value or "-"  # WeChat refuses an empty value
    return data
