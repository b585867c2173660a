"""Cross-owner cases for staff accounts' sign-in locks (registered into test_object_access's
registry). A staff account belongs to no one: operators see and lift its lock by role. A member's
token (the wrong audience) gets 401, a reviewer or an organisation admin 403, and none of them
learns the account's name or lifts its lock; an unknown id is the same bare 404 for the
operator on both routes."""

from __future__ import annotations

from tests import factories
from tests.conftest import bearer
from tests.security.support import assert_leaks_nothing, assert_problem, assert_unauthorized
from tests.security.test_object_access import UNKNOWN_ID, World, cross_owner

A = "/staff/accounts/<int:account_id>/login-lock"
NAME = "locked-reviewer-7"


@cross_owner(A, "GET")
@cross_owner(f"{A}/release", "POST")
def _login_lock_by_the_wrong_audience_or_role(client, world: World):
    account_id = factories.staff_account(world.app, NAME, "reviewer")
    for i in range(5):  # RATE_LIMIT_STAFF_LOGIN_FAILURES: 5 per 15 minutes
        wrong = {"username": NAME, "password": "wrong-password"}
        resp = client.post(
            "/auth/staff/login", json=wrong, environ_base={"REMOTE_ADDR": f"10.7.0.{i}"}
        )
        assert resp.status_code == 401
    member = world.verified_member("reader-a", "张伟")
    reviewer = world.staff("demo-reviewer")
    org_admin = world.org_admin()
    operator = world.staff("demo-operator")
    for method, suffix in (("GET", ""), ("POST", "/release")):
        path = f"/staff/accounts/{account_id}/login-lock{suffix}"
        denied = client.open(path, method=method, headers=bearer(member))
        assert_unauthorized(denied, "token_audience")
        assert_leaks_nothing(denied, [NAME])
        for token in (reviewer, org_admin):
            denied = client.open(path, method=method, headers=bearer(token))
            assert_problem(denied, 403, "role_forbidden")
            assert_leaks_nothing(denied, [NAME])
        unknown = client.open(
            f"/staff/accounts/{UNKNOWN_ID}/login-lock{suffix}",
            method=method,
            headers=bearer(operator),
        )
        assert_problem(unknown, 404, "staff_account_not_found")
        assert_leaks_nothing(unknown, [NAME])
    # Still locked after every denied attempt; the operator sees it and lifts it.
    path = f"/staff/accounts/{account_id}/login-lock"
    assert client.get(path, headers=bearer(operator)).get_json()["locked"] is True
    released = client.post(f"{path}/release", headers=bearer(operator)).get_json()
    assert released["username"] == NAME and released["locked"] is False
