"""Sign-in and sign-out in a real browser."""

from __future__ import annotations

import re

from tests.browser.conftest import signed_in


def test_reviewer_signs_in_and_out(page, live_server):
    signed_in(page, live_server, "demo-reviewer")
    assert page.locator("h1").inner_text() == "您好，理赔审核员（演示）"
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["huimin_console"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    page.click("text=退出登录")
    page.wait_for_url(re.compile(r".*/console/sign-in$"))
    page.goto(f"{live_server.url}/console/")
    assert "/console/sign-in" in page.url


def test_wrong_password_stays_on_the_sign_in_page(page, live_server):
    page.goto(f"{live_server.url}/console/sign-in")
    page.fill("input[name=username]", "demo-reviewer")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator(".notice.error").inner_text() == "用户名或密码错误"
    assert "huimin_console" not in {c["name"] for c in page.context.cookies()}
