"""The committed openapi/openapi.json is what the app serves; regenerate it with
`flask --app wsgi openapi write --format json openapi/openapi.json` when a route changes."""

from __future__ import annotations

import json
from pathlib import Path

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def test_committed_spec_matches_the_app(client):
    served = client.get("/openapi.json").get_json()
    committed = json.loads(SPEC.read_text(encoding="utf-8"))
    assert served == committed, (
        "openapi/openapi.json drifted from the code: run "
        "`flask --app wsgi openapi write --format json openapi/openapi.json`"
    )


def test_every_operation_declares_its_errors_as_problem_details(client):
    spec = client.get("/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            secured = "security" in operation
            codes = set(operation["responses"])
            if secured:
                assert "401" in codes, f"{method.upper()} {path} does not declare 401"
            if "{" in path:
                assert "404" in codes, f"{method.upper()} {path} does not declare 404"
            if "requestBody" in operation or any(
                p.get("in") == "query" for p in operation.get("parameters", [])
            ):
                assert "422" in codes, f"{method.upper()} {path} does not declare 422"
    problem = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert "application/problem+json" in problem
