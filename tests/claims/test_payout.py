"""Payout through the sandbox bank: a refused account sends the claim back to review (and gives
back what settling it consumed), a lost reply is resolved by reconciliation, a transient failure
is retried with a new request id. The ledger stays consistent throughout."""

from __future__ import annotations

from sqlalchemy import func, select

from app.claims.models import AccumulatorEntry, Claim, Payout
from app.database import get_session
from tests.claims.conftest import key
from tests.conftest import bearer


def _tap(client, family, account):
    token = family["token"]
    policy = [p for p in family["policies"] if p["insured_name_masked"] == "*伟"][0]
    rows = client.get(f"/policies/{policy['id']}/settlement-records", headers=bearer(token))
    record = max(
        (r for r in rows.get_json() if r["claimable"]), key=lambda r: r["medfee_sumamt_fen"]
    )
    resp = client.post(
        "/claims/from-settlement",
        headers={**bearer(token), **key()},
        json={
            "policy_id": policy["id"],
            "setl_id": record["setl_id"],
            "payee": {"name": "张伟", "bank_name": "工商银行", "bank_account": account},
        },
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _ledger_ok(app):
    with app.app_context():
        from app.claims.services import check_claim_ledger

        return check_claim_ledger()


def _payouts(outcome: str, failure: str) -> float:
    from prometheus_client import REGISTRY

    found = REGISTRY.get_sample_value(
        "huimin_claim_payouts_total", {"outcome": outcome, "failure": failure}
    )
    return found or 0.0


def test_refused_account_goes_back_to_review_and_gives_back_the_accumulators(
    app, client, insured_family
):
    failed_before = _payouts("failed", "account_invalid")
    claim = _tap(client, insured_family, "6222020200112230000")  # ...0000: account_invalid
    assert _payouts("failed", "account_invalid") == failed_before + 1  # the on-call's alert
    assert claim["status"] == "pending_review"
    assert [t["action"] for t in claim["transitions"]] == ["submit", "adjudicate", "payout_failed"]
    assert claim["approved_fen"] is None and claim["paid_fen"] == 0
    with app.app_context():
        s = get_session()
        row = s.get(Claim, claim["id"])
        assert [f["code"] for f in row.flags] == ["payout_failed"]
        assert (
            s.scalar(
                select(func.coalesce(func.sum(AccumulatorEntry.value_fen), 0)).where(
                    AccumulatorEntry.kind == "paid"
                )
            )
            == 0
        )
        assert [(p.status, p.failure_code) for p in s.scalars(select(Payout))] == [
            ("failed", "account_invalid")
        ]
    assert _ledger_ok(app) == []


def test_a_lost_reply_is_resolved_by_reconciliation(app, client, insured_family):
    with app.app_context():
        from app.integrations.registry import payout

        payout().faults.add("timeout_after_accept")
    claim = _tap(client, insured_family, "6222020200112233445")
    assert claim["status"] == "approved" and claim["paid_fen"] == 0
    with app.app_context():
        from app.claims.services import reconcile_payouts
        from app.integrations.registry import payout

        payout().faults.clear()
        assert reconcile_payouts(min_age_seconds=0) == {
            "resolved": 1,
            "still_pending": 0,
            "retried": 0,
        }
        row = get_session().get(Claim, claim["id"])
        assert row.status == "paid" and row.paid_fen == row.approved_fen > 0
        # a second run finds nothing to do and moves no money twice
        assert reconcile_payouts(min_age_seconds=0) == {
            "resolved": 0,
            "still_pending": 0,
            "retried": 0,
        }
    assert _ledger_ok(app) == []


def test_a_transient_failure_is_retried_with_a_new_request(app, client, insured_family):
    retrying_before = _payouts("retrying", "bank_system_error")
    failed_before = _payouts("failed", "bank_system_error")
    claim = _tap(client, insured_family, "6222020200112233333")  # ...3333: bank_system_error
    assert claim["status"] == "approved"
    with app.app_context():
        from app.claims.services import reconcile_payouts

        # still failing: attempt 2, then attempt 3 is the last, and the claim goes to review
        assert reconcile_payouts(min_age_seconds=0)["retried"] == 1
        assert reconcile_payouts(min_age_seconds=0)["retried"] == 1
        s = get_session()
        assert [p.attempt for p in s.scalars(select(Payout).order_by(Payout.id))] == [1, 2, 3]
        assert s.get(Claim, claim["id"]).status == "pending_review"
    assert _payouts("retrying", "bank_system_error") == retrying_before + 2
    assert _payouts("failed", "bank_system_error") == failed_before + 1
    assert _ledger_ok(app) == []


def test_a_request_lost_before_the_bank_is_sent_again_under_the_same_id(
    app, client, insured_family
):
    with app.app_context():
        from app.integrations.registry import payout

        payout().faults.add("timeout_before_accept")
    claim = _tap(client, insured_family, "6222020200112233445")
    assert claim["status"] == "approved"
    with app.app_context():
        from app.claims.services import reconcile_payouts
        from app.integrations.registry import payout

        payout().faults.clear()
        assert reconcile_payouts(min_age_seconds=0)["resolved"] == 1
        s = get_session()
        rows = list(s.scalars(select(Payout)))
        assert [(p.attempt, p.status) for p in rows] == [(1, "succeeded")]  # one request id
        assert s.get(Claim, claim["id"]).status == "paid"
    assert _ledger_ok(app) == []
