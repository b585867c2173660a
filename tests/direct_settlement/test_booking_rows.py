"""The claim a confirmation writes with Core statements (booking.py) carries what the
transition-by-transition path left: every timestamp, the decision and amounts, the settled
disclosure flag, three transitions in order, the two ledger rows, the public counters (received
and settled, with the payable amount) and the member's message."""

from __future__ import annotations

from sqlalchemy import func, select

from app.database import get_session


def _counter(s, metric: str) -> int:
    from app.disclosure.models import DisclosureCounter

    total = s.scalar(
        select(func.sum(DisclosureCounter.value)).where(DisclosureCounter.metric == metric)
    )
    return total or 0


def test_the_confirmed_claim_has_every_row_and_column_of_the_pipeline(app, stay, hospital):
    from app.claims.models import Claim, ClaimLedgerEntry, ClaimTransition
    from app.outbox.models import OutboxEvent

    with app.app_context():
        s = get_session()
        before = {
            m: _counter(s, m)
            for m in ("claims_received", "claims_settled", "claims_settled_payable_fen")
        }
        s.close()
    trial = hospital.trial(stay["setlinfo"], stay["feedetail"])[1]
    status, done = hospital.confirm(trial["trial_no"], "SNROWS")
    assert status == 200, done
    amount = done["amount_fen"]
    assert amount > 0
    with app.app_context():
        s = get_session()
        claim = s.scalar(select(Claim).where(Claim.claim_no == done["claim_no"]))
        assert claim.status == "paid" and claim.source == "settlement"
        assert claim.decision == "payable" and claim.payable_fen == amount
        assert claim.approved_fen == claim.paid_fen == amount
        assert claim.applied_deltas and claim.adjudication["payable_fen"] == amount
        assert claim.flags == [] and claim.settlement_disclosed is True
        assert claim.health == "healthy" and claim.auto_rejected is False
        stamps = {
            claim.created_at,
            claim.updated_at,
            claim.submitted_at,
            claim.decided_at,
            claim.paid_at,
        }
        assert None not in stamps and len(stamps) == 1
        moves = s.scalars(
            select(ClaimTransition)
            .where(ClaimTransition.claim_id == claim.id)
            .order_by(ClaimTransition.id)
        )
        assert [(t.action, t.from_status, t.to_status, t.actor_type) for t in moves] == [
            ("submit", "draft", "submitted", "system"),
            ("adjudicate", "submitted", "approved", "system"),
            ("pay", "approved", "paid", "system"),
        ]
        ledger = s.scalars(
            select(ClaimLedgerEntry)
            .where(ClaimLedgerEntry.claim_id == claim.id)
            .order_by(ClaimLedgerEntry.id)
        )
        assert [(e.kind, e.amount_fen) for e in ledger] == [
            ("claim_approved", amount),
            ("claim_payout", -amount),
        ]
        after = {m: _counter(s, m) for m in before}
        assert after == {
            "claims_received": before["claims_received"] + 1,
            "claims_settled": before["claims_settled"] + 1,
            "claims_settled_payable_fen": before["claims_settled_payable_fen"] + amount,
        }
        event = s.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
        assert (event.member_id, event.kind) == (claim.member_id, "claim_paid")
        assert event.payload["claim_no"] == claim.claim_no and event.payload["direct"] is True
        assert event.payload["page"] == f"pages/claims/detail?id={claim.id}"
