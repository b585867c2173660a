"""The reviewer approves the figure they see: a claim whose figure other claims of the
person-year have made stale shows what approval would pay now, and an approval carrying an
older figure is refused (409 claim_payable_changed) without changing anything.

The README walk's case: 李娜 has two photographed day-surgery claims waiting (in-policy self-pay
25,000 yuan each, the demo product's in-patient deductible 15,000 yuan, ratio 75%). Each alone
pays (25,000 - 15,000) x 75% = 7,500. Once one is approved, the deductible is met for the year,
so the other pays 25,000 x 75% = 18,750."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from app.claims.models import AccumulatorEntry, Claim, ClaimTransition, Payout
from app.database import get_engine, get_session
from tests import factories
from tests.conftest import bearer
from tests.statements import recorded
from tests.web.conftest import file_claim, make_pending_claim
from tests.web.support import signed_in

BEFORE, AFTER = 750_000, 1_875_000  # fen: 7,500.00 and 18,750.00 yuan
EXPECTED = re.compile(r'name="expected_payable_fen" value="(\d+)"')
FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')


@pytest.fixture
def two_claims(seeded):
    """李娜's April claim and her October claim, both waiting at 7,500.00."""
    first = make_pending_claim(seeded)
    second = file_claim(
        seeded, first["member_id"], first["policy_id"], "36000026005678", care_date="2026-10-14"
    )
    return first, second


@pytest.fixture
def reviewer(seeded):
    client = seeded.test_client()
    return client, signed_in(client, "demo-reviewer")


def _stored(app, claim_id: int) -> dict:
    with app.app_context():
        c = get_session().get(Claim, claim_id)
        row = {"status": c.status, "payable_fen": c.payable_fen, "paid_fen": c.paid_fen}
        row["approvals"] = get_session().scalar(
            select(func.count())
            .select_from(ClaimTransition)
            .where(ClaimTransition.claim_id == claim_id, ClaimTransition.action == "approve")
        )
        row["payouts"] = get_session().scalar(
            select(func.count()).select_from(Payout).where(Payout.claim_id == claim_id)
        )
        row["accumulators"] = sorted(
            get_session().execute(select(AccumulatorEntry.kind, AccumulatorEntry.value_fen)).all()
        )
        get_session().rollback()
        return row


def _take_and_approve_on_the_page(client, token, claim_id: int) -> None:
    client.post(f"/console/claims/{claim_id}/assign", data={"csrf_token": token})
    page = client.get(f"/console/claims/{claim_id}").get_data(as_text=True)
    [expected] = EXPECTED.findall(page)
    [form_key] = FORM_KEY.findall(page)
    done = client.post(
        f"/console/claims/{claim_id}/approve",
        data={
            "csrf_token": token,
            "form_key": form_key,
            "reason": "材料齐全",
            "expected_payable_fen": expected,
        },
    )
    assert done.status_code == 302, done.get_data(as_text=True)[:800]


def test_the_claim_page_shows_what_approval_would_pay_now(seeded, two_claims, reviewer):
    client, token = reviewer
    april, october = two_claims
    page = client.get(f"/console/claims/{april['id']}").get_data(as_text=True)
    assert EXPECTED.findall(page) == [] and "7,500.00" in page  # not taken: no form yet
    assert 'id="figure-changed"' not in page and "与首次理算一致" in page

    _take_and_approve_on_the_page(client, token, october["id"])
    assert _stored(seeded, october["id"])["paid_fen"] == BEFORE

    # The queue marks April's stored figure as computed before the accumulators moved.
    queue = client.get("/console/claims").get_data(as_text=True)
    row = re.search(rf'<tr data-claim-no="{april["claim_no"]}">.*?</tr>', queue, re.S).group(0)
    assert "7,500.00" in row and "待重算" in row
    # April's page: the figure approval would pay, with the explanation as of now.
    client.post(f"/console/claims/{april['id']}/assign", data={"csrf_token": token})
    page = client.get(f"/console/claims/{april['id']}").get_data(as_text=True)
    changed = re.search(r'id="figure-changed".*?</div>', page, re.S).group(0)
    assert "原应赔 7,500.00 元" in changed and "18,750.00" in changed
    assert '<strong id="figure-payable">18,750.00</strong>' in page
    assert "此前已累计 0.00 元" not in page  # the stale explanation is gone
    assert EXPECTED.findall(page) == [str(AFTER)] and "核准并支付（18,750.00 元）" in page
    # Viewing changed nothing: the stored figure stays until a decision re-runs the engine.
    assert _stored(seeded, april["id"])["payable_fen"] == BEFORE


def test_an_approval_of_a_figure_that_changed_is_refused_and_changes_nothing(
    seeded, two_claims, reviewer
):
    client, token = reviewer
    april, october = two_claims
    # The reviewer opens April's page while it still shows 7,500.00 ...
    client.post(f"/console/claims/{april['id']}/assign", data={"csrf_token": token})
    stale_page = client.get(f"/console/claims/{april['id']}").get_data(as_text=True)
    assert EXPECTED.findall(stale_page) == [str(BEFORE)]
    [form_key] = FORM_KEY.findall(stale_page)
    # ... meanwhile October is approved (7,500.00 paid, the deductible met) ...
    _take_and_approve_on_the_page(client, token, october["id"])
    before = _stored(seeded, april["id"])
    # ... and the reviewer submits the form of the page they saw.
    form = {
        "csrf_token": token,
        "form_key": form_key,
        "reason": "材料齐全",
        "expected_payable_fen": str(BEFORE),
    }
    refused = client.post(f"/console/claims/{april['id']}/approve", data=form)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "理算结果已变化" in body and "7,500.00" in body and "18,750.00" in body
    assert EXPECTED.findall(body) == [str(AFTER)]  # the page shows the new figure to approve
    assert _stored(seeded, april["id"]) == before  # nothing changed: no approval, no payout
    assert before["approvals"] == before["payouts"] == 0 and before["status"] == "pending_review"
    # The same form again: the same answer (its key keeps the outcome), still nothing changed.
    again = client.post(f"/console/claims/{april['id']}/approve", data=form)
    assert again.status_code == 409 and _stored(seeded, april["id"]) == before
    # Approved at the figure shown now: paid 18,750.00.
    _take_and_approve_on_the_page(client, token, april["id"])
    after = _stored(seeded, april["id"])
    assert after["status"] == "paid" and after["paid_fen"] == AFTER


def test_the_staff_api_approve_takes_the_expected_figure(client, seeded, two_claims):
    april, october = two_claims
    token = factories.staff_token(seeded, "demo-reviewer")
    headers = bearer(token)
    for claim in (april, october):
        factories.assign_claim(seeded, "demo-reviewer", claim["id"])

    def approve(claim_id: int, **body):
        return client.post(
            f"/staff/claims/{claim_id}/approve",
            headers=headers | {"Idempotency-Key": uuid.uuid4().hex},
            json={"reason": "材料齐全", **body},
        )

    seen = client.get(f"/staff/claims/{april['id']}", headers=headers).get_json()["payable_fen"]
    assert seen == BEFORE
    assert approve(october["id"], expected_payable_fen=BEFORE).status_code == 200
    before = _stored(seeded, april["id"])
    refused = approve(april["id"], expected_payable_fen=seen)
    problem = refused.get_json()
    assert refused.status_code == 409 and problem["code"] == "claim_payable_changed"
    assert problem["errors"]["payable"] == {"expected_fen": BEFORE, "current_fen": AFTER}
    assert "18,750.00" in problem["detail"]
    assert _stored(seeded, april["id"]) == before
    bad = approve(april["id"], expected_payable_fen="18750")
    assert bad.status_code == 422  # an integer number of fen, as every amount
    assert approve(april["id"], expected_payable_fen=AFTER).get_json()["approved_fen"] == AFTER


def test_the_queue_pays_one_statement_for_the_stale_marks_whatever_its_length(seeded, reviewer):
    """The queue reads the accumulator versions of its claims in one statement: a page of three
    claims costs what a page of one does."""
    client, _ = reviewer
    first = make_pending_claim(seeded)
    with seeded.app_context():
        engine = get_engine()
    with recorded(engine) as one:
        assert client.get("/console/claims").status_code == 200
    for n, day in enumerate(("2026-06-01", "2026-08-03")):
        file_claim(seeded, first["member_id"], first["policy_id"], f"3600002600900{n}", True, day)
    with recorded(engine) as three:
        page = client.get("/console/claims").get_data(as_text=True)
    assert page.count("<tr data-claim-no=") == 3
    assert len(three) == len(one)
    assert sum("accumulator_years" in s for s in three) == 1
