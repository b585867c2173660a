"""A settlement the hospital cancelled (撤销, say to correct it) is settled again under a new
settlement number: paid once, owed once, reconciled and stated once."""

from __future__ import annotations

from tests.direct_settlement.test_flow import _accumulators, _ledger_problems


def test_a_cancelled_settlement_is_settled_again_under_a_new_number(app, stay, hospital):
    status, first = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200, first
    status, done = hospital.confirm(first["trial_no"], "SN-FIRST")
    assert status == 200, done
    settled = {k: v for k, v in _accumulators(app).items() if k != ("versions",)}
    assert hospital.cancel("SN-FIRST")[1]["status"] == "cancelled"

    status, again = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200, again
    assert again["payable_fen"] == first["payable_fen"]
    status, redone = hospital.confirm(again["trial_no"], "SN-SECOND")
    assert status == 200, redone
    assert redone["amount_fen"] == done["amount_fen"]
    assert {k: v for k, v in _accumulators(app).items() if k != ("versions",)} == settled
    assert _ledger_problems(app) == []

    with app.app_context():
        from app.direct_settlement.ledger import run_statements

        day = redone["settled_on"]
        status, report = hospital.reconcile(day, 1, redone["amount_fen"])
        assert status == 200 and report["matched"], report
        from datetime import date

        [statement] = run_statements(date.fromisoformat(day))
    assert (statement["amount_fen"], statement["settlements"]) == (redone["amount_fen"], 1)
    assert _ledger_problems(app) == []
