"""A NUL character in any input is a 422, never a 500: PostgreSQL refuses NUL in text, so the
base schema refuses it before a field's own rules run (CI's schemathesis found one field that let
it through to the database: the value-estimate consent's text_version)."""

from __future__ import annotations

import marshmallow as ma
import pytest

from app.common.schemas import StrictSchema
from tests.claims.conftest import insured_family  # noqa: F401  (fixture)
from tests.conftest import bearer

# Multipart file parts: their content is bytes, validated by the document pipeline.
FILE_SCHEMAS = {"DocumentFileSchema", "SpecialDrugDocumentFileSchema", "LinesFileSchema"}


def _argument_schemas(app):
    found = set()

    def walk(schema):
        inst = schema() if isinstance(schema, type) else schema
        found.add(type(inst))
        for field in inst.fields.values():
            for part in (field, getattr(field, "inner", None)):
                if isinstance(part, ma.fields.Nested):
                    walk(part.nested)

    for view in app.view_functions.values():
        for param in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            walk(param["schema"])
    return found


def test_every_argument_schema_is_strict(app):
    schemas = _argument_schemas(app)
    assert len(schemas) > 50
    loose = sorted(
        s.__name__
        for s in schemas
        if not issubclass(s, StrictSchema) and s.__name__ not in FILE_SCHEMAS
    )
    assert loose == []


class _Probe(StrictSchema):
    name = ma.fields.String()
    tags = ma.fields.List(ma.fields.String())
    inner = ma.fields.Dict()


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"name": "a\x00b"}, "name"),
        ({"tags": ["ok", "\x00"]}, "tags.1"),
        ({"inner": {"deep": ["x", {"k": "\x00"}]}}, "inner.deep.1.k"),
    ],
)
def test_nul_anywhere_is_refused_with_its_path(data, path):
    with pytest.raises(ma.ValidationError) as caught:
        _Probe().load(data)
    assert caught.value.messages == {path: ["不能包含空字符（NUL）"]}


def test_text_without_nul_loads():
    assert _Probe().load({"name": "张伟", "tags": ["a"]}) == {"name": "张伟", "tags": ["a"]}


@pytest.mark.parametrize("version", ["\x00\x07", "v1\x00", "\x07"])
def test_estimate_consent_with_control_characters_is_422(client, insured_family, version):
    resp = client.post(
        "/me/value-estimate/consent",
        headers=bearer(insured_family["token"]),
        json={"consent": {"text_version": version, "accepted": True}},
    )
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["code"] == "validation_failed"
