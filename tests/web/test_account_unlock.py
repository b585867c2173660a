"""The operator lifts a staff member's sign-in lock on the console's account page (the same
service as POST /staff/accounts/{id}/login-lock/release, tests/security/test_staff_unlock.py):
the page shows the lock and until when, the button asks for confirmation, the unlock is audited
with the channel "web", a reviewer is refused, an unknown account is the 404 page; the sign-in
form tells staff beforehand that the operator can lift a lock."""

from __future__ import annotations

from tests.security.lock_support import (
    RIGHT,
    account_ids,
    attempt,
    audit_rows,
    lock,
    lock_app,  # noqa: F401  (fixture)
)
from tests.security.support import assert_problem
from tests.web.support import page_csrf, sign_in, signed_in


def test_the_sign_in_form_says_the_operator_can_lift_a_lock(lock_app):
    page = lock_app.test_client().get("/console/sign-in").get_data(as_text=True)
    assert "请联系运维人员解除锁定" in page


def test_operator_unlocks_on_the_account_page_after_confirming(lock_app):
    client = lock_app.test_client()
    reviewer_id, operator_id = account_ids(lock_app, "demo-reviewer", "demo-operator")
    lock(lock_app.test_client(), "demo-reviewer")
    token = signed_in(client, "demo-operator")
    page = client.get(f"/console/accounts/{reviewer_id}").get_data(as_text=True)
    assert "已锁定" in page and "登录失败 3 次" in page
    form = f'action="/console/accounts/{reviewer_id}/login-lock/release" data-confirm="'
    assert form in page and "确定解除登录锁定" in page

    done = client.post(
        f"/console/accounts/{reviewer_id}/login-lock/release", data={"csrf_token": token}
    )
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/console/accounts/{reviewer_id}?done=unlocked")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "登录锁定已解除" in page and "未锁定" in page and "已锁定" not in page
    assert audit_rows(lock_app, "staff.login_unlocked") == [
        (
            "staff",
            operator_id,
            "staff_account",
            reviewer_id,
            {"channel": "web", "was_locked": True, "failures": 3, "storage": "shared"},
        )
    ]
    # the reviewer signs in at the console at once
    assert sign_in(lock_app.test_client(), "demo-reviewer", RIGHT).status_code == 302


def test_a_reviewer_cannot_unlock_on_the_console(lock_app):
    [operator_id] = account_ids(lock_app, "demo-operator")
    lock(lock_app.test_client(), "demo-operator")
    client = lock_app.test_client()
    signed_in(client, "demo-reviewer")
    token = page_csrf(client, "/console/")
    resp = client.post(
        f"/console/accounts/{operator_id}/login-lock/release", data={"csrf_token": token}
    )
    assert resp.status_code == 403
    assert_problem(
        attempt(lock_app.test_client(), "demo-operator", RIGHT), 429, "staff_login_locked"
    )
    assert audit_rows(lock_app, "staff.login_unlocked") == []


def test_the_console_unlock_of_an_unknown_account_is_a_404_page(lock_app):
    client = lock_app.test_client()
    token = signed_in(client, "demo-operator")
    resp = client.post("/console/accounts/99999999/login-lock/release", data={"csrf_token": token})
    assert resp.status_code == 404 and "员工账号不存在" in resp.get_data(as_text=True)
