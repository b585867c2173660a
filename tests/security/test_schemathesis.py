"""schemathesis 4.x over the app's own OpenAPI document, in-process (WSGI), every operation.

The app is built with `app_factory` (so it runs on SQLite or, with TEST_DATABASE_URL, PostgreSQL),
seeded with the demo data, and called with real tokens: a verified member's for `/me/*`, a demo
operator's for `/staff/*` (operators may call every insurer staff operation), an organisation
admin's for `/staff/programmes*` (only organisation admins run programmes), none for `/auth/*`.

Checks: no 5xx, the status code is documented, the content type is documented, the body matches
the documented schema (and documented headers). Because flask-smorest gives every operation a
`default` response, schemathesis's own status check accepts any status; the stricter
`status_code_explicitly_documented` below wants the status listed. Rate limits are off here
(fuzzing trips them by design; they are tested on their own). Bounded and deterministic: 25
examples per operation, derandomised, no example database; all phases (examples, coverage,
fuzzing) and both positive and negative generation.

One reported app bug is tolerated, narrowly: a 500 to a request carrying an integer beyond the
database's INTEGER range, while `OUT_OF_RANGE_ID_BUG_OPEN` (tests/security/support.py) is True;
that bug is pinned by a strict xfail in test_object_access.py. Nothing else is tolerated.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.openapi.checks import UndefinedStatusCode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    is_unexpected_http_status_case,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from tests.conftest import bearer, login, make_config, verify
from tests.security.support import DB_INTEGER_MAX, OUT_OF_RANGE_ID_BUG_OPEN

MAX_EXAMPLES = 25
# The operator's token for GET /metrics (app/ops/routes.py), so its 200 answer is fuzzed too.
FUZZ_METRICS_TOKEN = "fuzz-metrics-token-0123456789abcdef"
# SPEC GAP (reported): a body that is not JSON gets 400, which most operations do not list. While
# True, `test_operations_with_a_json_body_document_400` is a strict xfail and the strict status
# check below accepts exactly that 400. Set to False with the fix.
MALFORMED_JSON_400_GAP_OPEN = False


def _carries_out_of_range_integer(case) -> bool:
    values = list((case.path_parameters or {}).values()) + list((case.query or {}).values())
    for value in values:
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > DB_INTEGER_MAX:
            return True
    return False


def _known_out_of_range_500(response, case) -> bool:
    """The one reported bug tolerated here (see OUT_OF_RANGE_ID_BUG_OPEN in support.py)."""
    return (
        OUT_OF_RANGE_ID_BUG_OPEN
        and response.status_code == 500
        and _carries_out_of_range_integer(case)
    )


@schemathesis.check
def no_server_error(ctx, response, case):
    """schemathesis's `not_a_server_error`, minus the known out-of-range-id bug."""
    if _known_out_of_range_500(response, case):
        return None
    return not_a_server_error(ctx, response, case)


@schemathesis.check
def status_code_explicitly_documented(ctx, response, case):
    """Stricter than `status_code_conformance`: flask-smorest adds a `default` response to every
    operation, which makes any status "documented". Here the status itself must be listed.
    Request-shape probes (an unlisted HTTP method, a malformed content type) are skipped, as
    schemathesis's own check does: only a 5xx answer to those is a finding."""
    if is_unexpected_http_status_case(case):
        return None
    if _known_out_of_range_500(response, case):
        return None
    if MALFORMED_JSON_400_GAP_OPEN and _is_malformed_json_400(response, case):
        return None
    listed = [code for code in case.operation.responses.status_codes if code != "default"]
    allowed = {int(code) for code in listed if code.isdigit()}
    ranges = {code[0] for code in listed if code.upper().endswith("XX")}
    status = response.status_code
    if status not in allowed and str(status)[0] not in ranges:
        raise UndefinedStatusCode(
            operation=case.operation.label,
            status_code=status,
            defined_status_codes=listed,
            allowed_status_codes=sorted(allowed),
            message=f"Received: {status}\nListed (besides `default`): {', '.join(listed)}",
        )
    return None


def _is_malformed_json_400(response, case) -> bool:
    if response.status_code != 400 or "requestBody" not in case.operation.definition.raw:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return body.get("code") == "bad_request" and "json" in (body.get("errors") or {})


# (operation label, declares security?) -> statuses seen; see test_fuzzing_got_past_authentication.
SEEN_STATUSES: dict[tuple[str, bool], set[int]] = {}


@schemathesis.check
def record_status(ctx, response, case):
    """Not a check: remembers what each operation answered (request-shape probes aside)."""
    if is_unexpected_http_status_case(case):
        return None
    # A hospital's request signature covers the body the fuzzer has not generated yet, so the
    # fuzzer cannot sign: those operations are only ever 401 here and are exercised with real
    # signatures in tests/direct_settlement instead.
    secured = any(
        name != "institutionSignature"
        for requirement in case.operation.definition.raw.get("security") or []
        for name in requirement
    )
    SEEN_STATUSES.setdefault((case.operation.label, secured), set()).add(response.status_code)
    return None


CHECKS = [
    record_status,
    no_server_error,
    status_code_conformance,
    status_code_explicitly_documented,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@dataclass
class FuzzWorld:
    app: Flask
    member_token: str
    staff_token: str
    org_admin_token: str
    estimator_token: str
    closers: int = 0

    def headers_for(self, path: str) -> dict[str, str]:
        if path.startswith("/auth/"):
            return {}
        if path == "/me/closure":
            # A closure ends the account's sessions at once: each call as a member of its own,
            # so the others' tokens keep working and every call reaches the route.
            self.closers += 1
            return bearer(
                login(self.app.test_client(), f"fuzz-closer-{self.closers}")["access_token"]
            )
        if path == "/metrics":
            return bearer(FUZZ_METRICS_TOKEN)
        if path.startswith(("/staff/programmes", "/staff/campaigns", "/staff/reports")):
            return bearer(self.org_admin_token)
        if path.startswith("/staff/"):
            return bearer(self.staff_token)
        if path == "/me/value-estimate":
            return bearer(self.estimator_token)
        return bearer(self.member_token)


@pytest.fixture(scope="module")
def fuzz_world(module_app_factory) -> FuzzWorld:
    """One seeded app for every operation of the module (see `module_app_factory`)."""
    from app.demo.residents import generate
    from app.demo.seed import DEMO_STAFF_PASSWORD, seed_demo

    app = module_app_factory(RATELIMIT_ENABLED=False, METRICS_TOKEN=FUZZ_METRICS_TOKEN)
    with app.app_context():
        seed_demo()
    client = app.test_client()
    member = login(client, "fuzz-member")
    zhang = next(r for r in generate(10) if r.name == "张伟")
    resp = verify(client, member["access_token"], zhang)
    assert resp.status_code == 200, resp.get_json()
    # The estimate is fuzzed as a second member whose consent the fuzzing of the consent routes
    # (listed first in the spec: DELETE withdraws it) leaves alone.
    estimator = login(client, "fuzz-estimator")
    resp = verify(
        client, estimator["access_token"], next(r for r in generate(10) if r.name == "李娜")
    )
    assert resp.status_code == 200, resp.get_json()
    resp = client.post(
        "/me/value-estimate/consent",
        headers=bearer(estimator["access_token"]),
        json={
            "consent": {
                "accepted": True,
                "text_version": app.config["ESTIMATE_CONSENT_TEXT_VERSION"],
            }
        },
    )
    assert resp.status_code == 200, resp.get_json()
    resp = client.post(
        "/auth/staff/login", json={"username": "demo-operator", "password": DEMO_STAFF_PASSWORD}
    )
    assert resp.status_code == 200, resp.get_json()
    staff_token = resp.get_json()["access_token"]
    org_admin_token = _org_admin_with_a_programme(app, client)
    assert client.get("/openapi.json").get_json() == schema.raw_schema, (
        "the fuzzed app serves another spec than the one loaded at collection"
    )
    return FuzzWorld(
        app, member["access_token"], staff_token, org_admin_token, estimator["access_token"]
    )


def _org_admin_with_a_programme(app, client) -> str:
    """A relief fund (organisation 1) with a funded programme (id 1), and its admin's token."""
    from datetime import date

    from app.auth.principal import Principal
    from app.sponsors import services as sponsors
    from app.sponsors.rules import uscc_check_char
    from tests.security.support import ORG_ADMIN_PASSWORD, create_org_admin, staff_login

    with app.app_context():
        org = sponsors.create_organisation(
            Principal(kind="staff", id=1, role="operator"),
            uscc="11360700MB1234567" + uscc_check_char("11360700MB1234567"),
            name="赣州市民政局",
            kind="relief_fund",
        )
        admin = Principal(kind="staff", id=1, role="fund_admin", organisation_id=org.id)
        programme = sponsors.create_programme(
            admin,
            name="低保资助",
            plan_year=2026,
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
            rule={"kind": "full"},
            eligibility={"categories": ["dibao"]},
            quota=None,
            product_id=None,
        )
        sponsors.top_up(admin, programme.id, 89_000)
    create_org_admin(app, "fuzz-fund-admin", role="fund_admin", organisation_id=org.id)
    return staff_login(client, "fuzz-fund-admin", ORG_ADMIN_PASSWORD)["access_token"]


def _load_schema():
    """Load the spec at collection time from an app built with the test configuration.

    `schemathesis.pytest.from_fixture` would let a fixture build the app, but in schemathesis
    4.32.5 it fails on pytest 9.2 (`'Function' object has no attribute '_nodeid'`), so the spec is
    loaded here (create_app opens no database connection) and every case is sent to the fixture's
    app with `app=`; `fuzz_world` checks that both apps serve the same document.
    """
    config = schemathesis.Config.from_dict(
        {
            "seed": 20261123,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        }
    )
    return schemathesis.openapi.from_wsgi("/openapi.json", create_app(make_config()), config=config)


schema = _load_schema()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_spec(case, fuzz_world):
    case.call_and_validate(
        app=fuzz_world.app, headers=fuzz_world.headers_for(case.path), checks=CHECKS
    )


@pytest.fixture(autouse=True)
def _fuzzing_got_past_authentication(request):
    """The tokens worked: no operation that needs one answered every case with 401/403 (which
    would make every check above pass without testing the operation). Checked after each
    operation's own test, so it holds under pytest-xdist too: a separate test run afterwards saw
    only the operations its own worker had fuzzed (or none, and skipped)."""
    yield
    if getattr(request.node, "originalname", None) != "test_api_conforms_to_its_spec":
        return
    label = request.node.name.partition("[")[2].removesuffix("]")
    statuses = SEEN_STATUSES.get((label, True))
    if statuses is not None and statuses <= {401, 403}:
        pytest.fail(f"only ever denied: {label} answered {sorted(statuses)}")


def test_a_body_that_is_not_json_is_a_400_problem(fuzz_world):
    """The behaviour the spec gap below is about (so the xfail cannot pass vacuously)."""
    resp = fuzz_world.app.test_client().post(
        "/auth/logout", data="{not json", content_type="application/json"
    )
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["code"] == "bad_request"


@pytest.mark.xfail(
    MALFORMED_JSON_400_GAP_OPEN,
    strict=True,
    raises=AssertionError,
    reason=(
        "SPEC GAP: a body that is not JSON gets 400 bad_request (webargs), but most operations with "
        "a JSON body list only 422 (400 is covered only by `default`). Suggested fix: document 400 "
        "wherever @blp.arguments takes a JSON body (e.g. override Blueprint.arguments in app/api.py "
        "to add self.errors(400) when location == 'json')."
    ),
)
def test_operations_with_a_json_body_document_400():
    spec = schema.raw_schema
    undocumented = [
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        and "requestBody" in operation
        and "400" not in operation["responses"]
    ]
    assert not undocumented, undocumented
