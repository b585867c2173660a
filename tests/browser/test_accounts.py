"""The operator, in a real browser, creates an account; the new account signs in."""

from __future__ import annotations

import re

from tests import factories
from tests.browser.conftest import signed_in

PASSWORD = "charity-officer-2026"


def test_operator_creates_an_account_that_can_sign_in(page, live_server, chromium):
    charity = factories.organisation(live_server.app, "charity", name="赣州市慈善总会（测试）")
    signed_in(page, live_server, "demo-operator")
    page.click("nav >> text=账号管理")
    form = page.locator("#create-account")
    form.locator("input[name=username]").fill("charity-officer")
    form.locator("input[name=display_name]").fill("慈善会专员")
    form.locator("select[name=role]").select_option("charity_admin")
    form.locator("select[name=organisation_id]").select_option(str(charity))
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/console/accounts\?done=created$"))
    row = page.locator("tr[data-username='charity-officer']")
    assert "慈善组织管理员" in row.inner_text() and "赣州市慈善总会（测试）" in row.inner_text()

    other = chromium.new_context(locale="zh-CN")
    try:
        newcomer = signed_in(other.new_page(), live_server, "charity-officer", PASSWORD)
        assert "慈善会专员" in newcomer.locator(".who").inner_text()
    finally:
        other.close()
