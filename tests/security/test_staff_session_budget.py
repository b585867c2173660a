"""A staff request's session check costs no statement of its own: the staff account read that
authenticate_staff did before (app/auth/principal.py) now joins the session's refresh token row,
so a refused request is still exactly one statement, whether refused for its role (403) or for a
logged-out session (401), counted with SQLAlchemy events (tests/enrollment/test_statement_budget)."""

from __future__ import annotations

from app.database import get_engine
from app.demo.seed import DEMO_STAFF_PASSWORD
from tests.conftest import bearer
from tests.enrollment.test_statement_budget import Tally
from tests.security.support import assert_problem, staff_login


def test_a_staff_session_check_is_the_account_read(seeded, client):
    reviewer = staff_login(client, "demo-reviewer", DEMO_STAFF_PASSWORD)
    operator = staff_login(client, "demo-operator", DEMO_STAFF_PASSWORD)
    assert (
        client.post("/auth/logout", json={"refresh_token": operator["refresh_token"]}).status_code
        == 204
    )
    with seeded.app_context():
        engine = get_engine()
    with Tally(engine) as tally:
        forbidden = tally.request(
            "role",
            lambda: client.get("/staff/audit-events", headers=bearer(reviewer["access_token"])),
        )
        revoked = tally.request(
            "revoked",
            lambda: client.get("/staff/audit-events", headers=bearer(operator["access_token"])),
        )
    assert_problem(forbidden, 403, "role_forbidden")
    assert_problem(revoked, 401, "refresh_token_revoked")
    assert [counts["statements"] for _, counts in tally.per_request] == [1, 1]
