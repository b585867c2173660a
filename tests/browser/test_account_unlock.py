"""The operator, in a real browser, lifts a reviewer's sign-in lock: the account page shows the
lock, the button asks for confirmation (console.js data-confirm), and the reviewer then signs in."""

from __future__ import annotations

import re

from tests.browser.conftest import signed_in


def test_operator_unlocks_a_locked_reviewer_after_confirming(page, live_server, chromium):
    client = live_server.app.test_client()  # the same process: the same limit storage
    for i in range(5):  # RATE_LIMIT_STAFF_LOGIN_FAILURES: 5 per 15 minutes
        wrong = {"username": "demo-reviewer", "password": "wrong-password"}
        resp = client.post(
            "/auth/staff/login", json=wrong, environ_base={"REMOTE_ADDR": f"10.6.0.{i}"}
        )
        assert resp.status_code == 401
    asked: list[str] = []
    page.on("dialog", lambda dialog: asked.append(dialog.message))  # accepted by the fixture
    signed_in(page, live_server, "demo-operator")
    page.click("nav >> text=账号管理")
    page.click("tr[data-username='demo-reviewer'] >> text=管理")
    page.wait_for_url(re.compile(r".*/console/accounts/\d+$"))
    assert "已锁定" in page.locator("#account-login-lock").inner_text()
    page.click("#release-login-lock")
    page.wait_for_url(re.compile(r".*done=unlocked$"))
    assert asked and "确定解除登录锁定" in asked[0]
    assert "登录锁定已解除" in page.locator(".notice.ok").inner_text()
    assert "未锁定" in page.locator("#account-login-lock").inner_text()

    other = chromium.new_context(locale="zh-CN")
    try:
        reviewer = signed_in(other.new_page(), live_server, "demo-reviewer")
        assert "理赔审核员" in reviewer.locator("h1").inner_text()
    finally:
        other.close()
