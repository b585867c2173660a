"""The operator dashboard in a real browser: the operator signs in, the charts are drawn (a canvas
in each, and each ECharts instance's series data read back from the page) with the figures the
API gives, and after a new enrollment a figure changes without a page reload (the page polls its
JSON every DASHBOARD_REFRESH_SECONDS)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.disclosure.metrics import FUNDING_SOURCES, INSURANCE_TYPES
from tests import factories
from tests.browser.conftest import signed_in
from tests.conftest import bearer

CHARTS = ("daily", "participation", "area", "type", "source", "premiums", "claims", "payouts")
REFRESH_SECONDS = 5
# Screenshots for people to look at (HUIMIN_SCREENSHOTS=<dir> saves them; tests never need them).
SCREENS = os.environ.get("HUIMIN_SCREENSHOTS")


@pytest.fixture
def app(app_factory):
    """The live server's app, polling fast enough for a test to watch it refresh."""
    return app_factory(DASHBOARD_REFRESH_SECONDS=REFRESH_SECONDS, PASSWORD_HASH_TIME_COST=1)


def _wait_until(page, expression: str, seconds: float = 15) -> None:
    """Poll `expression` in the page until true. (page.wait_for_function evaluates its predicate
    with eval(), which the console's Content-Security-Policy forbids.)"""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {seconds} s: {expression}"
        page.wait_for_timeout(200)


def _series(page, chart: str, index: int = 0) -> list:
    """The data of one series of a chart, as its ECharts instance holds it."""
    return page.evaluate(
        """([id, index]) => {
            const chart = echarts.getInstanceByDom(document.getElementById(id));
            return chart.getOption().series[index].data;
        }""",
        [f"chart-{chart}", index],
    )


def _values(data: list) -> list:
    """Pie data: [{"name", "value"}] in the page's order (the JSON's keys come sorted)."""
    return [x["value"] if isinstance(x, dict) else x for x in data]


def _api(live_server) -> dict:
    token = factories.staff_token(live_server.app, "demo-operator")
    resp = live_server.app.test_client().get("/staff/dashboard", headers=bearer(token))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _enroll(app, residents, code: str, name: str, relatives=()) -> None:
    member_id = factories.verified_member(app, code, residents[name])["member_id"]
    ids = [factories.relative(app, member_id, residents[r], rel) for r, rel in relatives]
    assert factories.order(app, member_id, ids, pay=True)["status"] == "paid"


def _shot(page, name: str) -> None:
    if SCREENS:
        Path(SCREENS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENS) / name), full_page=True)


def test_operator_sees_live_charts(page, live_server, residents):
    app = live_server.app
    # Today's enrollments (the real clock: the live server's thread reads it too).
    _enroll(app, residents, "dash-zhang", "张伟", [("李娜", "spouse"), ("张小宝", "child")])
    signed_in(page, live_server, "demo-operator")
    page.click("text=运营看板")
    page.wait_for_url(f"{live_server.url}/console/dashboard")
    _wait_until(page, "window.huiminDashboard && window.huiminDashboard.updates >= 1")
    api = _api(live_server)

    for chart in CHARTS:
        assert page.locator(f"#chart-{chart} canvas").count() >= 1, chart
    e = api["enrollment"]
    assert _series(page, "daily") == [d["people"] for d in e["by_day"]]
    assert _series(page, "area") == [a["people"] for a in reversed(e["by_area"])]
    assert _values(_series(page, "type")) == [e["by_insurance_type"][k] for k in INSURANCE_TYPES]
    assert _values(_series(page, "source")) == [e["by_funding_source"][k] for k in FUNDING_SOURCES]
    premiums = api["premiums"]["collected_by_source_fen"]
    assert _series(page, "premiums") == [premiums[k] / 100 for k in FUNDING_SOURCES]
    c = api["claims"]
    stages = ["received", "in_review", "approved", "paid", "rejected", "closed", "reversed"]
    assert _series(page, "claims") == [c[s] for s in stages]
    po = api["payouts"]
    assert _series(page, "payouts") == [po["paid"], po["failed"], po["pending"]]
    # The figures themselves: three people today, all from a personal account.
    assert (e["today"], e["total"], e["by_funding_source"]["personal_account"]) == (3, 3, 3)
    assert page.locator('[data-figure="enrollment.today"]').inner_text() == "3"
    assert page.locator('[data-figure="enrollment.total"]').inner_text() == "3"
    assert page.locator('[data-figure="premiums.net"]').inner_text() == "267.00"
    # The warnings panel: one line per warning, with its code, as the API gives them (which ones
    # depends on the real date: the product on sale today may not have started its cover, and
    # then nothing is projected), or the line saying there are none.
    codes = page.locator("#dash-warnings li[data-code]").evaluate_all(
        "items => items.map(li => li.dataset.code)"
    )
    assert codes == [w["code"] for w in api["warnings"]]
    if not codes:
        assert "暂无预警" in page.locator("#dash-warnings").inner_text()
    _shot(page, "dashboard-desktop.png")

    # A new enrollment: the next poll redraws the charts, and the page is the same page.
    page.evaluate("window.__notReloaded = true")
    before = page.evaluate("window.huiminDashboard.updates")
    _enroll(app, residents, "dash-chen", "陈静")
    _wait_until(
        page,
        f"window.huiminDashboard.updates > {before}"
        " && window.huiminDashboard.data.enrollment.today === 4",
        seconds=REFRESH_SECONDS * 3,
    )
    assert page.evaluate("window.__notReloaded") is True
    api = _api(live_server)
    assert api["enrollment"]["today"] == 4
    assert _series(page, "daily") == [d["people"] for d in api["enrollment"]["by_day"]]
    assert _series(page, "daily")[-1] == 4
    assert _series(page, "area") == [a["people"] for a in reversed(api["enrollment"]["by_area"])]
    assert page.locator('[data-figure="enrollment.today"]').inner_text() == "4"
    _shot(page, "dashboard-after-enrollment.png")


def test_reviewer_has_no_dashboard(page, live_server):
    signed_in(page, live_server, "demo-reviewer")
    assert page.locator("text=运营看板").count() == 0  # not in the reviewer's menu
    resp = page.goto(f"{live_server.url}/console/dashboard")
    assert resp.status == 403
    assert "无权" in page.content()


def test_a_missing_product_is_not_an_ended_session(page, live_server):
    """The page's script tells the data's 404 (a problem body, application/problem+json) from an
    ended session (its request sent to the sign-in page): each says what happened."""
    signed_in(page, live_server, "demo-operator")
    # The board's data asked for a product that is not there (the page itself answers 404 for
    # one: tests/web/test_dashboard_pages.py), as a product deleted while the page is open.
    missing = f"{live_server.url}/console/dashboard/data.json?product=no-such"
    page.route("**/console/dashboard/data.json*", lambda route: route.continue_(url=missing))
    page.goto(f"{live_server.url}/console/dashboard")
    _wait_until(page, "window.huiminDashboard && window.huiminDashboard.error !== null")
    error = page.evaluate("window.huiminDashboard.error")
    assert error == {"message": "产品不存在", "expired": False}
    badge = page.locator("#dash-error")
    assert badge.is_visible() and badge.inner_text() == "产品不存在"
    assert page.evaluate("window.huiminDashboard.stopped") is True  # asking again cannot help

    # The same board with its session ended: its next poll meets the sign-in page.
    page.unroute("**/console/dashboard/data.json*")
    page.goto(f"{live_server.url}/console/dashboard")
    _wait_until(page, "window.huiminDashboard && window.huiminDashboard.updates >= 1")
    page.context.clear_cookies()
    _wait_until(page, "window.huiminDashboard.error !== null", seconds=REFRESH_SECONDS * 3)
    assert page.evaluate("window.huiminDashboard.error") == {
        "message": "登录已失效，请重新登录",
        "expired": True,
    }
    assert page.locator("#dash-error").inner_text() == "登录已失效，请重新登录"
