"""The public figures count a stay paid at the hospital counter as paid, as they count a
member's claim whose payout reached the payee: received, settled and paid (count, amount, the
month's largest claim) on the day of the confirmation; a cancellation (撤销) takes the count and
amount back from that day. Each time the counters equal what the raw tables say
(tests/disclosure/conftest.py recompute: payouts that succeeded plus counter settlements not
reversed)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.common.clock import today_shanghai
from app.database import get_session
from tests.disclosure.conftest import recompute

CLAIM_FIGURES = ("claims_received", "claims_settled", "claims_paid", "amount_paid_fen")
METRIC = {"amount_paid_fen": "claims_paid_fen"}


def _cells(app, product_id: int, month: str) -> dict[str, int]:
    from app.disclosure.models import DisclosureCounter as C

    with app.app_context():
        s = get_session()
        out = {}
        for name in (*CLAIM_FIGURES, "largest_claim_paid_fen"):
            metric = METRIC.get(name, name)
            where = (C.product_id == product_id, C.month == month, C.metric == metric)
            agg = func.max if metric == "largest_claim_paid_fen" else func.sum
            out[name] = s.scalar(select(agg(C.value)).where(*where)) or 0
        s.close()
    return out


def _product_of(app, stay) -> int:
    from app.members.models import Person
    from app.policies.models import Policy

    with app.app_context():
        s = get_session()
        person = s.scalar(select(Person.id).where(Person.psn_no == stay["setlinfo"]["psn_no"]))
        product_id = s.scalar(select(Policy.product_id).where(Policy.person_id == person))
        s.close()
    return product_id


def _matches_raw_tables(app, product_id: int, month: str) -> None:
    raw = recompute(app, product_id).get(month, {})
    cells = _cells(app, product_id, month)
    assert {k: cells[k] for k in CLAIM_FIGURES} == {k: raw.get(k, 0) for k in CLAIM_FIGURES}


def test_a_counter_payment_is_paid_in_the_public_figures_until_it_is_cancelled(app, stay, hospital):
    product_id = _product_of(app, stay)
    month = today_shanghai().strftime("%Y-%m")
    before = _cells(app, product_id, month)
    _matches_raw_tables(app, product_id, month)

    trial = hospital.trial(stay["setlinfo"], stay["feedetail"])[1]
    status, done = hospital.confirm(trial["trial_no"], "SNPUB")
    assert status == 200, done
    amount = done["amount_fen"]
    assert amount > 0
    after = _cells(app, product_id, month)
    assert after == before | {
        "claims_received": before["claims_received"] + 1,
        "claims_settled": before["claims_settled"] + 1,
        "claims_paid": before["claims_paid"] + 1,
        "amount_paid_fen": before["amount_paid_fen"] + amount,
        "largest_claim_paid_fen": max(before["largest_claim_paid_fen"], amount),
    }
    _matches_raw_tables(app, product_id, month)

    status, gone = hospital.cancel("SNPUB")
    assert status == 200 and gone["status"] == "cancelled", gone
    cancelled = _cells(app, product_id, month)
    # no longer paid; still received and settled (first decided), the month's maximum stays
    assert cancelled == after | {
        "claims_paid": before["claims_paid"],
        "amount_paid_fen": before["amount_paid_fen"],
    }
    _matches_raw_tables(app, product_id, month)
