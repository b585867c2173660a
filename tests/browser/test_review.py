"""A reviewer, in a real browser: find a claim in the queue, take it, see its documents, enter
its itemised lines and approve it to payment."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.claims.models import Claim
from app.database import get_session
from tests.browser.conftest import signed_in
from tests.web.conftest import make_pending_claim


def _claim(app, claim_id: int) -> Claim:
    with app.app_context():
        claim = get_session().scalar(select(Claim).where(Claim.id == claim_id))
        get_session().expunge_all()
        return claim


def test_reviewer_takes_a_claim_from_the_queue_and_approves_it_to_payment(page, live_server):
    claim = make_pending_claim(live_server.app)
    signed_in(page, live_server, "demo-reviewer")
    page.click("nav >> text=理赔审核")
    page.select_option("select[name=assigned]", "unassigned")
    page.fill("input[name=insured]", "*娜")
    page.click("#queue-filters button[type=submit]")
    row = page.locator(f"tr[data-claim-no='{claim['claim_no']}']")
    assert row.locator("td").nth(1).inner_text() == "*娜"
    row.locator("a").click()
    page.wait_for_url(re.compile(rf".*/console/claims/{claim['id']}$"))
    assert page.locator("#explanation li").count() > 3  # the explanation, line by line
    page.click("#take-claim")
    page.wait_for_url(re.compile(r".*done=assigned$"))
    assert page.locator("#claim-assignee").inner_text() == "我"
    images = page.locator("#documents img")
    assert images.count() == 3
    # Every document really loaded inline (the page route streamed the stored blob).
    page.wait_for_function(
        "() => [...document.querySelectorAll('#documents img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    page.click("#approve-form button[type=submit]")
    page.wait_for_url(re.compile(r".*done=approved$"))
    assert page.locator("#claim-status").inner_text() == "已赔付"
    assert "核准" in page.locator("#history").inner_text()
    stored = _claim(live_server.app, claim["id"])
    assert stored.status == "paid" and stored.paid_fen == stored.approved_fen > 0


def test_reviewer_enters_itemised_lines(page, live_server):
    claim = make_pending_claim(live_server.app)
    signed_in(page, live_server, "demo-reviewer")
    page.goto(f"{live_server.url}/console/claims/{claim['id']}")
    page.click("#take-claim")
    page.wait_for_url(re.compile(r".*done=assigned$"))
    page.click("text=录入或更正费用明细")
    first = page.locator("#lines-table tbody tr").nth(0)
    first.locator("input[name=med_list_codg]").fill("X0001")
    first.locator("input[name=name]").fill("自费耗材")
    first.locator("select[name=chrgitm_lv]").select_option("03")
    first.locator("input[name=det_item_fee_sumamt]").fill("15,000.00")
    first.locator("input[name=fulamt_ownpay_amt]").fill("15000")
    page.click("#add-line")
    second = page.locator("#lines-table tbody tr").nth(1)
    second.locator("input[name=med_list_codg]").fill("A0001")
    second.locator("input[name=name]").fill("手术费")
    second.locator("select[name=chrgitm_lv]").select_option("01")
    second.locator("input[name=det_item_fee_sumamt]").fill("60000")  # 10,000 short of the bill
    page.click("#lines-form button[type=submit]")
    error = page.locator("#lines-error")
    error.wait_for(state="visible")
    assert "与医疗费用总额 80000.00 元相差 5000.00 元" in error.inner_text()
    second.locator("input[name=det_item_fee_sumamt]").fill("65000.00")
    page.click("#lines-form button[type=submit]")
    page.wait_for_url(re.compile(r".*done=lines$"))
    assert "费用明细（2 条）" in page.locator("#fee-lines h2").inner_text()
    assert "X0001" in page.locator("#fee-lines").inner_text()
