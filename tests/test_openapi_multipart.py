"""Multipart uploads document their form fields in the request body's schema (OpenAPI 3 has no
`in: formData` parameter; a field listed that way is invisible to clients and to schemathesis)."""

from __future__ import annotations


def _resolve(spec: dict, schema: dict) -> dict:
    """The properties and required names of a schema, through $ref and allOf."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _resolve(spec, spec["components"]["schemas"][name])
    properties, required = dict(schema.get("properties", {})), list(schema.get("required", []))
    for part in schema.get("allOf", []):
        inner = _resolve(spec, part)
        properties.update(inner["properties"])
        required += inner["required"]
    return {"properties": properties, "required": required}


def test_the_claim_document_upload_documents_doc_type_and_file(client):
    spec = client.get("/openapi.json").get_json()
    upload = spec["paths"]["/claims/{claim_id}/documents"]["post"]
    body = _resolve(spec, upload["requestBody"]["content"]["multipart/form-data"]["schema"])
    assert {"doc_type", "file"} <= set(body["required"])
    assert "invoice" in body["properties"]["doc_type"]["enum"]
    assert body["properties"]["file"]["format"] == "binary"


def test_no_operation_has_a_form_data_parameter(client):
    spec = client.get("/openapi.json").get_json()
    leftovers = [
        f"{method.upper()} {path}: {param['name']}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        for param in operation.get("parameters", [])
        if param.get("in") not in ("path", "query", "header", "cookie")
    ]
    assert not leftovers, leftovers
