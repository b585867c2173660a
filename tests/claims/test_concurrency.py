"""Two (and more) claims of one person adjudicated at the same moment never both consume the same
deductible: the accumulator year's version is bumped with a conditional UPDATE and the loser
re-runs the engine. PostgreSQL only (SQLite serialises writers anyway)."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import select

from app.claims import services, settlement
from app.claims.models import AccumulatorEntry, Claim
from app.database import get_session
from tests.claims.conftest import key
from tests.conftest import bearer

PAYEE = {"name": "张伟", "bank_name": "工商银行", "bank_account": "6222020200112233445"}


@pytest.mark.postgres
def test_concurrent_claims_share_one_deductible(app, client, insured_family, monkeypatch):
    token = insured_family["token"]
    policy = [p for p in insured_family["policies"] if p["insured_name_masked"] == "*伟"][0]
    rows = client.get(f"/policies/{policy['id']}/settlement-records", headers=bearer(token))
    claimable = [r for r in rows.get_json() if r["claimable"]]
    assert len(claimable) >= 2

    # File the claims without adjudicating them (as if the adjudicator were down): `process` is
    # patched where the one-tap claim looks it up ...
    monkeypatch.setattr(settlement, "process", lambda claim_id: get_session().get(Claim, claim_id))
    ids = []
    for record in claimable:
        resp = client.post(
            "/claims/from-settlement",
            headers={**bearer(token), **key()},
            json={"policy_id": policy["id"], "setl_id": record["setl_id"], "payee": PAYEE},
        )
        assert resp.status_code == 201 and resp.get_json()["status"] == "submitted"
        ids.append(resp.get_json()["id"])
    monkeypatch.undo()

    # ... what they would pay one after the other, from the engine alone, in every order: the
    # buckets sharing the deductible pay at different ratios, so the total depends on which claim
    # meets the deductible first. Concurrent adjudication must equal SOME serial order.
    with app.app_context():
        from app.adjudication.model import Accumulators
        from app.claims.adjudication_run import run_claim

        s = get_session()
        serial_outcomes = []
        for order in itertools.permutations(ids):
            acc, paid = Accumulators(), {}
            for claim_id in order:
                result = run_claim(s, s.get(Claim, claim_id), acc)
                acc, paid[claim_id] = acc.apply(result.deltas), result.payable_fen
            serial_outcomes.append((paid, dict(acc.deductible_used_fen)))
            s.rollback()

    # ... then adjudicate them all at once.
    start = threading.Barrier(len(ids))
    errors = []

    def run(claim_id):
        with app.app_context():
            start.wait()
            try:
                services.adjudicate(claim_id)
            except Exception as exc:
                errors.append(repr(exc))
            finally:
                get_session().close()

    threads = [threading.Thread(target=run, args=(cid,)) for cid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors

    with app.app_context():
        s = get_session()
        claims = list(s.scalars(select(Claim).where(Claim.id.in_(ids))))
        # In some orders the deductible absorbs a whole claim: that one closes with nothing to
        # pay (approved -> closed); every other claim is approved with money to pay.
        assert {c.status for c in claims} <= {"approved", "closed"}
        assert any(c.status == "approved" for c in claims)
        assert all(c.approved_fen == 0 for c in claims if c.status == "closed")
        assert all(c.approved_fen > 0 for c in claims if c.status == "approved")
        deductible = {
            e.key: e.value_fen
            for e in s.scalars(
                select(AccumulatorEntry).where(AccumulatorEntry.kind == "deductible")
            )
        }
        # Serializable: the claims paid and the deductible used are those of one serial order
        # (the deductible is used once, never twice).
        concurrent = ({c.id: c.approved_fen for c in claims}, deductible)
        assert concurrent in serial_outcomes, (concurrent, serial_outcomes)
