"""The console on a phone (375 px) and a laptop (1280 px), in Chromium: no page scrolls sideways,
the header wraps whole menu items (理赔审核 on one line, never 赔/审/核 one character per line)
and stays behind its white text, and a wide table (a claim's fee lines) scrolls inside its card
instead of spilling out of it.

HUIMIN_SCREENSHOTS=<dir> saves a full-page screenshot of every page checked, for people to look
at (the tests never need them)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from app.demo.charity import seed_charity
from app.demo.seed import DEMO_STAFF_PASSWORD
from tests.browser.conftest import signed_in
from tests.web.conftest import make_pending_claim
from tests.web.support import signed_in as client_signed_in

SCREENS = os.environ.get("HUIMIN_SCREENSHOTS")
PHONE, LAPTOP = 375, 1280

# A claim's itemised bill as a hospital gives it: long list codes and names, eleven columns.
LINES = [
    {
        "med_list_codg": f"XC10AAA137A00101010123{n}",
        "name": f"阿托伐他汀钙片（规格 20mg×7 片，第 {n} 批）",
        "chrgitm_lv": "03",
        "det_item_fee_sumamt_fen": 300_000,
        "fulamt_ownpay_amt_fen": 300_000,
    }
    for n in range(5)
] + [
    {
        "med_list_codg": "001102000010000",
        "name": "日间手术（含麻醉、耗材、床位）",
        "chrgitm_lv": "01",
        "det_item_fee_sumamt_fen": 6_500_000,
        "inscp_scp_amt_fen": 6_500_000,
    }
]


@pytest.fixture
def claim_with_lines(live_server) -> dict:
    """李娜's day-surgery claim, taken by demo-reviewer, with six itemised lines."""
    app = live_server.app
    claim = make_pending_claim(app)
    client = app.test_client()
    token = client_signed_in(client, "demo-reviewer")
    client.post(f"/console/claims/{claim['id']}/assign", data={"csrf_token": token})
    done = client.put(
        f"/console/claims/{claim['id']}/lines",
        json={"lines": LINES, "reason": "按医院费用明细清单录入"},
        headers={"X-CSRF-Token": token},
    )
    assert done.status_code == 200, done.get_json()
    return claim


def _shot(page, name: str) -> None:
    if SCREENS:
        Path(SCREENS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENS) / name), full_page=True)


def _check_layout(page, url: str, width: int, name: str) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    resp = page.goto(url)
    assert resp is not None and resp.status == 200, (url, resp and resp.status)
    page.wait_for_load_state("load")
    _shot(page, f"{width}-{name}.png")
    # The page never scrolls sideways: everything wider scrolls inside its own box.
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{url} at {width} px is {scroll} px wide"
    # The header's green box holds all of it (no white text on the light page below), and
    # each menu item and the sign-out button stay on one line.
    header = page.locator("header.topbar").bounding_box()
    assert header is not None
    inside = page.evaluate(
        """() => {
            const bar = document.querySelector("header.topbar").getBoundingClientRect();
            return [...document.querySelectorAll("header.topbar *")].every(el => {
                const r = el.getBoundingClientRect();
                return r.width === 0 || (r.top >= bar.top - 0.5 && r.bottom <= bar.bottom + 0.5
                    && r.left >= bar.left - 0.5 && r.right <= bar.right + 0.5);
            });
        }"""
    )
    assert inside, f"{url} at {width} px: the header's content spills out of it"
    one_line = page.evaluate(
        """() => [...document.querySelectorAll("header.topbar nav a, header.topbar button")]
            .map(el => [el.textContent.trim(),
                        el.getClientRects().length === 1
                        && el.getBoundingClientRect().height
                           < 1.8 * parseFloat(getComputedStyle(el).lineHeight)])"""
    )
    assert one_line and all(ok for _, ok in one_line), (url, width, one_line)


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_the_reviewer_pages_fit(page, live_server, claim_with_lines, width):
    signed_in(page, live_server, "demo-reviewer")
    claim = f"{live_server.url}/console/claims/{claim_with_lines['id']}"
    for path, name in (
        ("/console/", "home"),
        ("/console/claims", "queue"),
        (claim.removeprefix(live_server.url), "claim"),
        (claim.removeprefix(live_server.url) + "/lines", "lines"),
    ):
        _check_layout(page, live_server.url + path, width, f"reviewer-{name}")
    # The fee lines: a wide table that scrolls inside its card, whatever the width.
    page.goto(claim)
    card = page.locator("#fee-lines").bounding_box()
    box = page.locator("#fee-lines .table-scroll").bounding_box()
    table = page.locator("#fee-lines table").bounding_box()
    assert card and box and table
    assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"] + 0.5
    scrolls = page.evaluate(
        "() => { const b = document.querySelector('#fee-lines .table-scroll');"
        " return [b.scrollWidth, b.clientWidth, getComputedStyle(b).overflowX]; }"
    )
    assert scrolls[2] == "auto"
    if width == PHONE:
        assert scrolls[0] > scrolls[1]  # wider than the phone: it scrolls, in its card
    assert "XC10AAA137A001010101230" in page.locator("#fee-lines").inner_text()


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_the_operator_and_sponsor_pages_fit(page, live_server, width):
    signed_in(page, live_server, "demo-operator")
    for path, name in (
        ("/console/claims", "queue"),
        ("/console/accounts", "accounts"),
        ("/console/dashboard", "dashboard"),
    ):
        _check_layout(page, live_server.url + path, width, f"operator-{name}")
    page.goto(f"{live_server.url}/console/accounts")
    account = page.locator("#accounts a", has_text=re.compile("管理")).first.get_attribute("href")
    _check_layout(page, live_server.url + account, width, "operator-account")
    with live_server.app.app_context():
        programme = seed_charity(DEMO_STAFF_PASSWORD)["charity_programme_id"]
    page.context.clear_cookies()
    signed_in(page, live_server, "demo-charity")
    for path, name in (
        ("/console/sponsor/", "programmes"),
        (f"/console/sponsor/programmes/{programme}", "programme"),
        ("/console/sponsor/campaigns", "campaigns"),
        ("/console/sponsor/donations", "donations"),
    ):
        _check_layout(page, live_server.url + path, width, f"charity-{name}")
