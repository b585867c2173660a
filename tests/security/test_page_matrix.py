"""Function-level access for the pages (app/web): a role x page-route matrix, as
test_role_matrix.py is for the API. Every page route needs a row (a new page fails
`test_page_matrix_covers_every_page_route` until it has one).

Each caller is a browser with the console's cookie session (anonymous: none); every unsafe
request carries the caller's CSRF token, so the matrix checks roles, not CSRF
(tests/web/test_session.py checks CSRF). A cell is the status, or SIGN_IN for a 302 to the
sign-in page (not signed in), or DONE for any other 302 (the action ran and redirected).
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from app.demo.seed import DEMO_STAFF_PASSWORD
from tests import factories
from tests.enrollment.conftest import frozen, terms_version  # noqa: F401  (fixture)
from tests.jobs.support import eligible, roster_csv
from tests.security.support import page_routes, sponsor_objects
from tests.web.conftest import claim_documents, make_pending_claim
from tests.web.support import page_csrf, signed_in

SIGN_IN = "sign-in"
DONE = "done"
ROLES = ("anonymous", "reviewer", "operator", "charity_admin")
NEW_PASSWORD = "another-long-password"

# The sponsor console (app/web/sponsor.py) is for organisation admins only: staff of the platform
# (reviewer, operator) are refused, the charity admin reaches its own organisation's objects.
SPONSOR_PAGE = (SIGN_IN, 403, 403, 200)
SPONSOR_ACTION = (SIGN_IN, 403, 403, DONE)

#                                                                  anon    reviewer operator charity
PAGE_MATRIX: dict[tuple[str, str], tuple] = {
    ("/console/sign-in", "GET"): (200, DONE, DONE, DONE),
    ("/console/sign-in", "POST"): (401, 401, 401, 401),  # a wrong password, for everyone alike
    ("/console/sign-out", "POST"): (SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN),
    ("/console/", "GET"): (SIGN_IN, 200, 200, 200),
    ("/console/accounts", "GET"): (SIGN_IN, 403, 200, 403),
    ("/console/accounts", "POST"): (SIGN_IN, 403, DONE, 403),
    ("/console/accounts/<int:account_id>", "GET"): (SIGN_IN, 403, 200, 403),
    ("/console/accounts/<int:account_id>/disable", "POST"): (SIGN_IN, 403, DONE, 403),
    ("/console/accounts/<int:account_id>/enable", "POST"): (SIGN_IN, 403, DONE, 403),
    ("/console/accounts/<int:account_id>/password", "POST"): (SIGN_IN, 403, DONE, 403),
    ("/console/accounts/<int:account_id>/role", "POST"): (SIGN_IN, 403, DONE, 403),
    ("/console/accounts/<int:account_id>/login-lock/release", "POST"): (SIGN_IN, 403, DONE, 403),
    ("/console/dashboard", "GET"): (SIGN_IN, 403, 200, 403),
    ("/console/dashboard/data.json", "GET"): (SIGN_IN, 403, 200, 403),
    ("/console/claims", "GET"): (SIGN_IN, 200, 200, 403),
    ("/console/claims/<int:claim_id>", "GET"): (SIGN_IN, 200, 200, 403),
    ("/console/claims/<int:claim_id>/assign", "POST"): (SIGN_IN, DONE, DONE, 403),
    ("/console/claims/<int:claim_id>/approve", "POST"): (SIGN_IN, DONE, 403, 403),
    ("/console/claims/<int:claim_id>/reject", "POST"): (SIGN_IN, DONE, 403, 403),
    ("/console/claims/<int:claim_id>/request-info", "POST"): (SIGN_IN, DONE, 403, 403),
    ("/console/claims/<int:claim_id>/health-determination", "POST"): (SIGN_IN, DONE, 403, 403),
    ("/console/claims/<int:claim_id>/lines", "GET"): (SIGN_IN, 200, 403, 403),
    ("/console/claims/<int:claim_id>/lines", "PUT"): (SIGN_IN, 200, 403, 403),
    ("/console/claims/<int:claim_id>/documents/<int:document_id>", "GET"): (
        SIGN_IN,
        200,
        403,
        403,
    ),
    ("/console/sponsor/", "GET"): SPONSOR_PAGE,
    ("/console/sponsor/programmes/<int:programme_id>", "GET"): SPONSOR_PAGE,
    ("/console/sponsor/programmes/<int:programme_id>/roster", "POST"): SPONSOR_ACTION,
    (
        "/console/sponsor/programmes/<int:programme_id>/uploads/<int:upload_id>/report.xlsx",
        "GET",
    ): SPONSOR_PAGE,
    ("/console/sponsor/programmes/<int:programme_id>/jobs", "POST"): SPONSOR_ACTION,
    ("/console/sponsor/programmes/<int:programme_id>/jobs/latest.json", "GET"): SPONSOR_PAGE,
    (
        "/console/sponsor/programmes/<int:programme_id>/jobs/<int:job_id>/status.json",
        "GET",
    ): SPONSOR_PAGE,
    (
        "/console/sponsor/programmes/<int:programme_id>/jobs/<int:job_id>/rows.xlsx",
        "GET",
    ): SPONSOR_PAGE,
    ("/console/sponsor/covered.xlsx", "GET"): SPONSOR_PAGE,
    ("/console/sponsor/campaigns", "GET"): SPONSOR_PAGE,
    ("/console/sponsor/campaigns", "POST"): SPONSOR_ACTION,
    ("/console/sponsor/campaigns/<int:campaign_id>/poster.png", "GET"): SPONSOR_PAGE,
    ("/console/sponsor/campaigns/<int:campaign_id>/poster.pdf", "GET"): SPONSOR_PAGE,
    ("/console/sponsor/donations", "GET"): SPONSOR_PAGE,
    ("/console/sponsor/donations/<int:entry_id>/receipt.pdf", "GET"): SPONSOR_PAGE,
    ("/disclosure", "GET"): (200, 200, 200, 200),  # public
}

LINES = [
    {
        "med_list_codg": "X0001",
        "chrgitm_lv": "03",
        "det_item_fee_sumamt_fen": 1_500_000,
        "fulamt_ownpay_amt_fen": 1_500_000,
    },
    {
        "med_list_codg": "A0001",
        "chrgitm_lv": "01",
        "det_item_fee_sumamt_fen": 6_500_000,
        "inscp_scp_amt_fen": 6_500_000,
    },
]


@dataclass
class World:
    app: object
    clients: dict
    tokens: dict
    claim_id: int
    document_id: int
    account_id: int
    reviewer_id: int
    terms_version: str
    sponsor: dict  # the charity admin's objects (tests/security/support.py sponsor_objects)


def _body(world: World, key: tuple[str, str]) -> dict:
    """The well-formed request of each row (form fields or JSON), besides the CSRF token."""
    forms: dict[tuple[str, str], Callable[[], dict]] = {
        ("/console/sign-in", "POST"): lambda: {"username": "demo-reviewer", "password": "wrong!"},
        ("/console/accounts", "POST"): lambda: {
            "username": f"new-{uuid.uuid4().hex[:8]}",
            "display_name": "新同事",
            "role": "reviewer",
            "password": NEW_PASSWORD,
        },
        ("/console/accounts/<int:account_id>/password", "POST"): lambda: {"password": NEW_PASSWORD},
        ("/console/accounts/<int:account_id>/role", "POST"): lambda: {"role": "operator"},
        ("/console/claims/<int:claim_id>/assign", "POST"): lambda: {
            "staff_id": str(world.reviewer_id)
        },
        ("/console/claims/<int:claim_id>/approve", "POST"): lambda: {"reason": "材料齐全"},
        ("/console/claims/<int:claim_id>/reject", "POST"): lambda: {
            "reason_code": "not_covered",
            "reason": "不属于保险责任",
        },
        ("/console/claims/<int:claim_id>/request-info", "POST"): lambda: {
            "message": "请补充费用明细清单",
            "documents": "itemised_bill",
        },
        ("/console/claims/<int:claim_id>/health-determination", "POST"): lambda: {
            "health": "pre_existing",
            "reason": "病历记载",
        },
        ("/console/sponsor/programmes/<int:programme_id>/roster", "POST"): lambda: {
            "file": (io.BytesIO(roster_csv(eligible(1, skip=1))), "roster.csv")
        },
        ("/console/sponsor/programmes/<int:programme_id>/jobs", "POST"): lambda: {
            "terms_version": world.terms_version,
            "terms_accepted": "yes",
        },
        ("/console/sponsor/campaigns", "POST"): lambda: {
            "programme_id": str(world.sponsor["programme_id"]),
            "name": "低保户免费参保",
            "quota": "5",
            "expires_on": "2026-12-20",
            "categories": ["dibao"],
        },
    }
    return forms.get(key, dict)()


def call(world: World, rule: str, method: str, role: str):
    client = world.clients[role]
    values = {
        "claim_id": world.claim_id,
        "document_id": world.document_id,
        "account_id": world.account_id,
        **world.sponsor,
    }
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)
    token = world.tokens[role]
    if method == "GET":
        return client.get(path)
    if method == "PUT":
        body = {"lines": LINES, "reason": "按清单录入"}
        return client.put(path, json=body, headers={"X-CSRF-Token": token})
    return client.open(
        path, method=method, data={**_body(world, (rule, method)), "csrf_token": token}
    )


@pytest.fixture
def world(seeded, frozen) -> World:
    claim = make_pending_claim(seeded)
    reviewer_id = factories.staff_principal(seeded, "demo-reviewer").id
    factories.assign_claim(seeded, "demo-reviewer", claim["id"])
    factories.org_admin(seeded, "page-charity-admin")
    account_id = factories.staff_account(seeded, "page-target", "reviewer")
    clients, tokens = {}, {}
    for role, username, password in (
        ("reviewer", "demo-reviewer", DEMO_STAFF_PASSWORD),
        ("operator", "demo-operator", DEMO_STAFF_PASSWORD),
        ("charity_admin", "page-charity-admin", factories.STAFF_PASSWORD),
    ):
        clients[role] = seeded.test_client()
        tokens[role] = signed_in(clients[role], username, password)
    clients["anonymous"] = seeded.test_client()
    tokens["anonymous"] = page_csrf(clients["anonymous"])
    document_id = claim_documents(seeded, claim["id"])[0]
    version = terms_version(seeded.test_client())
    sponsor = sponsor_objects(seeded, "page-charity-admin", version)
    return World(
        seeded,
        clients,
        tokens,
        claim["id"],
        document_id,
        account_id,
        reviewer_id,
        version,
        sponsor,
    )


def _outcome(resp):
    if resp.status_code == 302:
        return SIGN_IN if resp.headers["Location"].startswith("/console/sign-in") else DONE
    return resp.status_code


@pytest.mark.parametrize("key", sorted(PAGE_MATRIX), ids=lambda k: f"{k[1]} {k[0]}")
def test_page_matrix(world, key):
    rule, method = key
    expected = dict(zip(ROLES, PAGE_MATRIX[key], strict=True))
    allowed = {DONE, 200}
    # Denied callers first, so an allowed call that changes state comes last.
    order = sorted(ROLES, key=lambda role: expected[role] in allowed)
    mismatches = []
    for role in order:
        resp = call(world, rule, method, role)
        got = _outcome(resp)
        if got != expected[role]:
            mismatches.append(
                f"{role}: expected {expected[role]}, got {got} {resp.get_data(as_text=True)[:300]}"
            )
        elif got == 403 and resp.mimetype == "text/html":
            assert "无权" in resp.get_data(as_text=True)
    assert not mismatches, f"{method} {rule}:\n" + "\n".join(mismatches)


def test_page_matrix_covers_every_page_route(app):
    routes = set(page_routes(app))
    missing = sorted(routes - set(PAGE_MATRIX))
    assert not missing, f"Add a row to PAGE_MATRIX in {__file__} for: {missing}"
    assert not sorted(set(PAGE_MATRIX) - routes), "PAGE_MATRIX rows for routes that are gone"
