"""Trial -> confirm -> query -> cancel through the signed API: the claim the member sees, the
accumulators, the outbox, the hospital's ledger."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import bearer


def _accumulators(app) -> dict:
    with app.app_context():
        from app.claims.models import AccumulatorEntry, AccumulatorYear
        from app.database import get_session

        s = get_session()
        return {
            (e.year_id, e.kind, e.key): e.value_fen
            for e in s.scalars(select(AccumulatorEntry))
            if e.value_fen
        } | {("versions",): sorted(y.version for y in s.scalars(select(AccumulatorYear)))}


def _outbox(app) -> list[str]:
    with app.app_context():
        from app.database import get_session
        from app.outbox.models import OutboxEvent

        return [e.kind for e in get_session().scalars(select(OutboxEvent).order_by(OutboxEvent.id))]


def _ledger_problems(app) -> list[str]:
    with app.app_context():
        from app.claims.services import check_claim_ledger
        from app.direct_settlement.ledger import check_hospital_ledger

        return check_claim_ledger() + check_hospital_ledger()


def test_trial_confirm_query_cancel(app, client, insured_family, stay, hospital):
    before = _accumulators(app)
    events = _outbox(app)
    status, trial = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200, trial
    assert trial["decision"] == "payable" and trial["payable_fen"] > 0
    assert trial["patient_pays_fen"] == stay["setlinfo"]["psn_part_amt_fen"] - trial["payable_fen"]
    assert trial["explanation"][-1]["code"] == "payable_total"
    assert _accumulators(app) == before and _outbox(app) == events  # the trial moved nothing

    status, done = hospital.confirm(trial["trial_no"], "SN0001")
    assert status == 200, done
    assert done["status"] == "confirmed" and done["claim_status"] == "paid"
    assert done["amount_fen"] == trial["payable_fen"]
    assert done["explanation"] == trial["explanation"]
    after = _accumulators(app)
    assert after != before
    assert _outbox(app)[len(events) :] == ["claim_paid"]
    assert _ledger_problems(app) == []

    # idempotent by the settlement number; the same number for another trial is refused
    assert hospital.confirm(trial["trial_no"], "SN0001") == (200, done)
    status, again = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 409 and again["code"] == "direct_episode_claimed"
    # the cashier is told it may be the counter's own settlement, and what to do
    assert done["claim_no"] in again["detail"] and "请先撤销原结算" in again["detail"]

    # the member sees the claim, paid, with the same explanation
    claims = client.get("/claims", headers=bearer(insured_family["token"])).get_json()
    mine = [c for c in claims if c["claim_no"] == done["claim_no"]]
    assert mine and mine[0]["status"] == "paid" and mine[0]["paid_fen"] == done["amount_fen"]
    detail = client.get(f"/claims/{mine[0]['id']}", headers=bearer(insured_family["token"]))
    lines = [(l["code"], l["zh"]) for l in detail.get_json()["adjudication"]["lines"]]
    assert lines == [(l["code"], l["zh"]) for l in trial["explanation"]]

    assert hospital.query("SN0001") == (200, done)

    status, cancelled = hospital.cancel("SN0001")
    assert status == 200, cancelled
    assert cancelled["status"] == "cancelled" and cancelled["claim_status"] == "rejected"
    restored = _accumulators(app)
    # every amount back exactly (the year's version moved on: two settlements happened)
    assert {k: v for k, v in restored.items() if k != ("versions",)} == {
        k: v for k, v in before.items() if k != ("versions",)
    }
    assert _ledger_problems(app) == []
    # the member sees it reversed, nothing paid on it
    detail = client.get(f"/claims/{mine[0]['id']}", headers=bearer(insured_family["token"]))
    shown = detail.get_json()
    assert shown["status"] == "rejected"
    assert (shown["approved_fen"], shown["paid_fen"]) == (0, 0), shown
    assert hospital.cancel("SN0001")[0] == 200  # cancelling again answers again
    assert _accumulators(app) == restored
