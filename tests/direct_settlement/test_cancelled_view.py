"""A counter settlement the hospital cancelled (撤销), as the member and the staff read it: the
claim stays `rejected` in the state machine but reads 医院已撤销结算, is not presented as paid,
and its explanation keeps the engine's figures as what had been settled, closed by the day of
the cancellation and 0 paid. Played with the sandbox hospital: trial, confirm, cancel."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.common.money import yuan
from app.direct_settlement.rules import CANCELLED, SETTLED_TOTAL, cancelled_explanation
from tests import factories
from tests.conftest import bearer
from tests.web.support import signed_in


def _line(code, zh, bucket=None):
    return {"code": code, "zh": zh, "en": code, "bucket": bucket}


ENGINE = {
    "decision": "payable",
    "payable_fen": 447247,
    "reason_codes": ["ratio_applied", "payable_total"],
    "buckets": [],
    "lines": [
        _line("ratio_applied", "5,963.29 元 × 75% = 4,472.47 元", "in_policy"),
        _line("payable_total", "本次赔付合计 4,472.47 元"),
    ],
}
CLOSING_0106 = "医院已于 2027-01-06 撤销本次一站式结算，本次实际赔付 0.00 元"

# (case, adjudication, cancelled on, expected lines as (code, zh))
CASES = [
    (
        # the engine's total 447,247 fen = 4,472.47 yuan becomes what had been settled
        "paid stay",
        ENGINE,
        date(2027, 1, 6),
        [
            ("ratio_applied", "5,963.29 元 × 75% = 4,472.47 元"),
            (SETTLED_TOTAL, "原一站式结算赔付合计 4,472.47 元"),
            (CANCELLED, CLOSING_0106),
        ],
    ),
    (
        # payable 0 (closed at the counter): the settled total says 0.00, still closed as cancelled
        "closed at 0",
        ENGINE | {"payable_fen": 0, "lines": [_line("payable_total", "本次赔付合计 0.00 元")]},
        date(2026, 11, 23),
        [
            (SETTLED_TOTAL, "原一站式结算赔付合计 0.00 元"),
            (CANCELLED, "医院已于 2026-11-23 撤销本次一站式结算，本次实际赔付 0.00 元"),
        ],
    ),
    (
        # applied again (a retry, the migration over a claim closed already): unchanged
        "already closed",
        cancelled_explanation(ENGINE, date(2027, 1, 6)),
        date(2027, 2, 1),
        [
            ("ratio_applied", "5,963.29 元 × 75% = 4,472.47 元"),
            (SETTLED_TOTAL, "原一站式结算赔付合计 4,472.47 元"),
            (CANCELLED, CLOSING_0106),
        ],
    ),
]


@pytest.mark.parametrize(("adjudication", "on", "expected"), [c[1:] for c in CASES])
def test_the_cancelled_explanation(adjudication, on, expected):
    out = cancelled_explanation(adjudication, on)
    assert [(line["code"], line["zh"]) for line in out["lines"]] == expected
    # the engine's figures stay: decision, payable, buckets
    assert {k: v for k, v in out.items() if k != "lines"} == {
        k: v for k, v in adjudication.items() if k != "lines"
    }
    assert not any(line["zh"].startswith("本次赔付合计") for line in out["lines"])


def _outbox(app) -> list:
    with app.app_context():
        from app.database import get_session
        from app.outbox.models import OutboxEvent

        return [
            (e.kind, e.payload)
            for e in get_session().scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        ]


def _today(app) -> str:
    with app.app_context():
        from app.common.clock import today_shanghai

        return today_shanghai().isoformat()


def test_the_member_and_the_staff_see_a_cancelled_counter_settlement_as_cancelled(
    app, client, seeded, insured_family, stay, hospital
):
    status, trial = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200, trial
    status, done = hospital.confirm(trial["trial_no"], "SN0001")
    assert status == 200 and done["claim_status"] == "paid", done
    member = bearer(insured_family["token"])
    [listed] = [c for c in client.get("/claims", headers=member).get_json()]
    paid = client.get(f"/claims/{listed['id']}", headers=member).get_json()
    assert (paid["status_label"], paid["reversed_at"]) == ("已赔付", None)
    assert paid["paid_at"] is not None

    status, cancelled = hospital.cancel("SN0001")
    assert status == 200 and cancelled["status"] == "cancelled", cancelled
    today = _today(app)

    # the list: cancelled by the hospital, not a denial
    [listed] = client.get("/claims", headers=member).get_json()
    assert listed["status"] == "rejected"  # the state machine's code is kept
    assert listed["status_label"] == "医院已撤销结算"
    assert listed["reversed_at"] is not None and listed["paid_fen"] == 0

    # the claim: when and that it was reversed; no payment time presented
    shown = client.get(f"/claims/{listed['id']}", headers=member).get_json()
    assert shown["status_label"] == "医院已撤销结算"
    assert shown["paid_at"] is None and shown["reversed_at"] == listed["reversed_at"]
    assert (shown["approved_fen"], shown["paid_fen"]) == (0, 0)
    assert shown["human_review_available"] is False and shown["recheck_available"] is False
    lines = [(line["code"], line["zh"]) for line in shown["adjudication"]["lines"]]
    engine = [(line["code"], line["zh"]) for line in trial["explanation"]]
    settled = yuan(done["amount_fen"])
    assert lines == [
        *engine[:-1],
        (SETTLED_TOTAL, f"原一站式结算赔付合计 {settled} 元"),
        (CANCELLED, f"医院已于 {today} 撤销本次一站式结算，本次实际赔付 0.00 元"),
    ]
    assert shown["adjudication"]["payable_fen"] == done["amount_fen"]  # what had been settled

    # the member's message says the same
    kind, payload = _outbox(app)[-1]
    assert kind == "claim_reversed" and payload["status"] == "医院已撤销结算"

    # the record keeps when the counter paid (the ledger and the history)
    with app.app_context():
        from app.claims.models import Claim
        from app.database import get_session

        row = get_session().get(Claim, listed["id"])
        assert row.paid_at is not None and row.reversed_at is not None
        assert row.paid_at <= row.reversed_at
        get_session().rollback()

    # the staff API reads it the same way
    staff = bearer(factories.staff_token(seeded, "demo-reviewer"))
    seen = client.get(f"/staff/claims/{listed['id']}", headers=staff).get_json()
    assert (seen["status_label"], seen["paid_at"]) == ("医院已撤销结算", None)
    assert seen["adjudication"]["lines"][-1]["code"] == CANCELLED

    # the staff console: the badge, the time, the closing line, the history
    console = seeded.test_client()
    signed_in(console, "demo-reviewer")
    page = console.get(f"/console/claims/{listed['id']}").get_data(as_text=True)
    assert 'id="claim-status">医院已撤销结算</span>' in page
    assert 'id="claim-reversed"' in page and "本次实际赔付 0.00 元" in page
    assert f"医院已于 {today} 撤销本次一站式结算" in page
    assert "医院撤销一站式结算" in page and "已赔付 → 医院已撤销结算" in page
    assert "未予赔付" not in page and f"本次赔付合计 {settled}" not in page
    queue = console.get("/console/claims", query_string={"status": "rejected"})
    row = queue.get_data(as_text=True).split(f'data-claim-no="{listed["claim_no"]}"')[1]
    assert "<td>医院已撤销结算</td>" in row.split("</tr>")[0]


def test_the_operator_dashboard_counts_a_cancelled_counter_settlement_apart_from_denials(
    app, client, seeded, insured_family, stay, hospital
):
    status, trial = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200, trial
    assert hospital.confirm(trial["trial_no"], "SN0002")[0] == 200
    assert hospital.cancel("SN0002")[0] == 200
    member = bearer(insured_family["token"])
    [claim] = client.get("/claims", headers=member).get_json()
    with app.app_context():
        from app.claims.models import Claim
        from app.database import get_session
        from app.products.models import Product

        row = get_session().get_one(Claim, claim["id"])
        code = get_session().get_one(Product, row.product_id).code
        get_session().rollback()
    console = seeded.test_client()
    signed_in(console, "demo-operator")
    data = console.get("/console/dashboard/data.json", query_string={"product": code})
    assert data.status_code == 200, data.get_data(as_text=True)[:300]
    claims = data.get_json()["claims"]
    assert (claims["reversed"], claims["rejected"]) == (1, 0)
