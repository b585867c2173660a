"""The operator lifts a staff sign-in lock (app/auth/lockout.py): sees whether an account is
locked and until when, and unlocks it through the API or the console's account page; the failure
window then starts from zero, the unlock is audited (staff.login_unlocked), unlocking an account
that is not locked answers the same and changes nothing, and nobody but an operator may do it.
The locked member of staff is told they may ask the operator, whether or not the name exists.
The console's button is in tests/web/test_account_unlock.py; `flask staff unlock` and the
storage outage are in test_staff_unlock_storage.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.auth.lockout import LockState, Window, lock_state_of
from tests import factories
from tests.conftest import bearer, login
from tests.security.lock_support import (
    LIMIT,
    RIGHT,
    account_ids,
    attempt,
    audit_rows,
    lock,
    lock_app,  # noqa: F401  (fixture)
)
from tests.security.support import assert_problem, assert_unauthorized
from tests.web.support import sign_in

ASK_THE_OPERATOR = "联系运维人员解除锁定"
T = 1_800_000_000.0  # a window's end, epoch seconds


@pytest.mark.parametrize(
    ("windows", "expected"),
    [
        # no window counted: not locked
        ([], LockState(False, 0, None, "shared")),
        # 2 of 3 failures: one more sign-in may be tried
        ([Window(3, 2, T)], LockState(False, 2, None, "shared")),
        # 3 of 3: the next sign-in is refused until the window ends at T
        ([Window(3, 3, T)], LockState(True, 3, datetime.fromtimestamp(T, UTC), "shared")),
        # two limits (5/15 min, 20/day): the day's is full, so locked until the day's end
        (
            [Window(5, 4, T), Window(20, 20, T + 3600)],
            LockState(True, 20, datetime.fromtimestamp(T + 3600, UTC), "shared"),
        ),
        # both full: the later end wins
        (
            [Window(5, 5, T + 60), Window(20, 20, T)],
            LockState(True, 20, datetime.fromtimestamp(T + 60, UTC), "shared"),
        ),
    ],
)
def test_lock_state_of(windows, expected):
    assert lock_state_of(windows, "shared") == expected


def test_operator_sees_the_lock_and_lifts_it(lock_app):
    client = lock_app.test_client()
    reviewer_id, operator_id = account_ids(lock_app, "demo-reviewer", "demo-operator")
    operator = bearer(factories.staff_token(lock_app, "demo-operator"))
    path = f"/staff/accounts/{reviewer_id}/login-lock"

    free = client.get(path, headers=operator)
    assert free.status_code == 200
    assert free.get_json() == {
        "account_id": reviewer_id,
        "username": "demo-reviewer",
        "locked": False,
        "failures": 0,
        "limit": LIMIT,
        "locked_until": None,
        "storage": "shared",
    }

    before = datetime.now(UTC)
    lock(client, "demo-reviewer")
    seen = client.get(path, headers=operator).get_json()
    assert seen["locked"] is True and seen["failures"] == 3
    until = datetime.fromisoformat(seen["locked_until"])
    assert before < until <= before + timedelta(minutes=15, seconds=2)

    released = client.post(f"{path}/release", headers=operator)
    assert released.status_code == 200
    assert released.get_json() == free.get_json()  # not locked, nothing counted
    assert client.get(path, headers=operator).get_json() == free.get_json()
    # the right password works at once, from the address that met the lock
    assert attempt(client, "demo-reviewer", RIGHT, "10.9.2.1").status_code == 200
    assert audit_rows(lock_app, "staff.login_unlocked") == [
        (
            "staff",
            operator_id,
            "staff_account",
            reviewer_id,
            {"channel": "api", "was_locked": True, "failures": 3, "storage": "shared"},
        )
    ]

    # Again, now that nothing is locked: the same answer, and no second audit row.
    again = client.post(f"{path}/release", headers=operator)
    assert again.status_code == 200 and again.get_json() == free.get_json()
    assert len(audit_rows(lock_app, "staff.login_unlocked")) == 1


def test_the_failure_window_starts_from_zero_and_a_new_lock_is_audited_again(lock_app):
    client = lock_app.test_client()
    [reviewer_id] = account_ids(lock_app, "demo-reviewer")
    operator = bearer(factories.staff_token(lock_app, "demo-operator"))
    lock(client, "demo-reviewer")
    assert (
        client.post(
            f"/staff/accounts/{reviewer_id}/login-lock/release", headers=operator
        ).get_json()["locked"]
        is False
    )
    # two failures after the unlock do not lock (the old three are gone); the third does
    for i in range(2):
        assert attempt(client, "demo-reviewer", address=f"10.9.3.{i}").status_code == 401
    assert attempt(client, "demo-reviewer", RIGHT).status_code == 200
    assert attempt(client, "demo-reviewer", address="10.9.3.9").status_code == 401
    assert_problem(attempt(client, "demo-reviewer", RIGHT), 429, "staff_login_locked")
    # the lock before the unlock and the one after: each audited (the audited mark was cleared)
    assert [r[3] for r in audit_rows(lock_app, "staff.login_locked")] == [reviewer_id, reviewer_id]


def test_clearing_failures_short_of_a_lock_is_audited_as_not_locked(lock_app):
    client = lock_app.test_client()
    [reviewer_id] = account_ids(lock_app, "demo-reviewer")
    operator = bearer(factories.staff_token(lock_app, "demo-operator"))
    assert attempt(client, "demo-reviewer").status_code == 401
    path = f"/staff/accounts/{reviewer_id}/login-lock"
    assert client.get(path, headers=operator).get_json()["failures"] == 1
    assert client.post(f"{path}/release", headers=operator).get_json()["failures"] == 0
    [row] = audit_rows(lock_app, "staff.login_unlocked")
    assert row[4] == {"channel": "api", "was_locked": False, "failures": 1, "storage": "shared"}


def test_only_an_operator_may_see_or_lift_a_lock(lock_app):
    client = lock_app.test_client()
    [reviewer_id] = account_ids(lock_app, "demo-reviewer")
    factories.staff_account(lock_app, "second-reviewer", "reviewer")
    lock(client, "demo-reviewer")
    org = factories.organisation(lock_app, "charity", name="解锁慈善会")
    factories.org_admin(lock_app, "unlock-charity-admin", organisation_id=org)
    path = f"/staff/accounts/{reviewer_id}/login-lock"
    for username in ("second-reviewer", "unlock-charity-admin"):
        token = bearer(factories.staff_token(lock_app, username))
        assert_problem(client.get(path, headers=token), 403, "role_forbidden")
        assert_problem(client.post(f"{path}/release", headers=token), 403, "role_forbidden")
    member = bearer(login(client, "unlock-member")["access_token"])
    assert_unauthorized(client.post(f"{path}/release", headers=member), "token_audience")
    assert_unauthorized(client.post(f"{path}/release"), "token_missing")
    # still locked, and nothing audited
    assert_problem(attempt(client, "demo-reviewer", RIGHT), 429, "staff_login_locked")
    assert audit_rows(lock_app, "staff.login_unlocked") == []


def test_an_unknown_account_is_a_404_with_a_chinese_message(lock_app):
    client = lock_app.test_client()
    operator = bearer(factories.staff_token(lock_app, "demo-operator"))
    for method, suffix in (("GET", ""), ("POST", "/release")):
        resp = client.open(
            f"/staff/accounts/99999999/login-lock{suffix}", method=method, headers=operator
        )
        assert_problem(resp, 404, "staff_account_not_found")
        assert resp.get_json()["detail"] == "员工账号不存在"


def test_the_locked_sign_in_says_to_ask_the_operator_whether_or_not_the_name_exists(lock_app):
    client = lock_app.test_client()
    lock(client, "demo-reviewer")
    lock(client, "no-such-staff")
    answers = [attempt(client, name, RIGHT) for name in ("demo-reviewer", "no-such-staff")]
    for resp in answers:
        assert_problem(resp, 429, "staff_login_locked")
        assert ASK_THE_OPERATOR in resp.get_json()["detail"]
    # the same words (the minutes left aside, which the clock decides)
    assert {a.get_json()["detail"].split("请 ")[0] for a in answers} == {
        "该账号登录失败次数过多，已暂时锁定，"
    }
    page = sign_in(client, "demo-reviewer", RIGHT)
    assert page.status_code == 429 and ASK_THE_OPERATOR in page.get_data(as_text=True)
