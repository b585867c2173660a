"""The counter and the member at the same moment: a confirmation and the member's one-tap claim
for the same stay end with exactly one payment, and the accumulators count it once. PostgreSQL
only (SQLite serialises writers anyway)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.database import get_session
from tests.claims.test_flow import PAYEE, policy_of


@pytest.mark.postgres
def test_confirm_racing_a_one_tap_claim_pays_once(app, insured_family, stay, hospital):
    from app.claims import services as claims
    from app.claims.models import AccumulatorEntry, Claim
    from app.claims.statuses import ClaimStatus
    from app.direct_settlement import services
    from app.direct_settlement.models import DirectTrial, Institution
    from app.members.models import Member, Person

    trial = hospital.trial(stay["setlinfo"], stay["feedetail"])[1]
    policy_id = policy_of(insured_family, "张伟")["id"]
    with app.app_context():
        s = get_session()
        row = s.scalar(select(Institution))
        inst = services.InstitutionKey(
            row.id, row.key_id, row.public_key, row.fixmedins_code, row.name
        )
        person_id = s.scalar(select(DirectTrial.person_id))
        member_id = s.scalar(
            select(Member.id)
            .join(Person, Person.id == Member.person_id)
            .where(Person.id == person_id)
        )
        s.close()

    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def counter():
        with app.app_context():
            start.wait()
            try:
                outcomes["counter"] = services.confirm(inst, trial["trial_no"], "SNRACE")["status"]
            except Exception as exc:  # a coded refusal is one of the two allowed endings
                outcomes["counter"] = getattr(exc, "code", repr(exc))
            finally:
                get_session().close()

    def member():
        with app.app_context():
            start.wait()
            try:
                claim = claims.claim_from_settlement(
                    member_id, policy_id=policy_id, setl_id=stay["setlinfo"]["setl_id"], payee=PAYEE
                )
                outcomes["member"] = claim.status
            except Exception as exc:
                outcomes["member"] = getattr(exc, "code", repr(exc))
            finally:
                get_session().close()

    threads = [threading.Thread(target=counter), threading.Thread(target=member)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    refusals = {"direct_episode_claimed", "settlement_already_claimed"}
    assert (outcomes["counter"] == "confirmed") != (outcomes["member"] == "paid"), outcomes
    assert outcomes["counter"] in refusals | {"confirmed"}, outcomes
    assert outcomes["member"] in refusals | {"paid"}, outcomes
    with app.app_context():
        s = get_session()
        paid = list(s.scalars(select(Claim).where(Claim.status == ClaimStatus.PAID)))
        assert len(paid) == 1
        counted = s.scalar(
            select(func.coalesce(func.sum(AccumulatorEntry.value_fen), 0)).where(
                AccumulatorEntry.kind == "paid"
            )
        )
        assert counted == paid[0].paid_fen > 0
        from app.claims.services import check_claim_ledger
        from app.direct_settlement.ledger import check_hospital_ledger

        assert check_claim_ledger() == [] and check_hospital_ledger() == []
        s.close()
