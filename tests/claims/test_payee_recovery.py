"""Payout recovery: after the bank refused the payee's account, the member (or the assigned
reviewer, audited) corrects the payee under intake's rules, the payout is retried under a new
transfer id, and the refused account is never paid again (remembered by a keyed hash only)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from app.claims.models import Claim, ClaimFailedAccount, Payout
from app.database import get_session
from tests.claims.conftest import key
from tests.claims.test_payout import _ledger_ok, _tap
from tests.conftest import bearer

BAD = "6222020200112230000"  # the sandbox bank refuses ...0000: account_invalid
GOOD = {"name": "张伟", "bank_name": "建设银行", "bank_account": "6217000010012345678"}


def _correct(client, token, claim_id, payee, *, staff=False, headers=None):
    path = f"/staff/claims/{claim_id}/payee" if staff else f"/claims/{claim_id}/payee"
    return client.post(path, headers=headers or {**bearer(token), **key()}, json={"payee": payee})


def _assign(client, reviewer, claim_id):
    resp = client.post(f"/staff/claims/{claim_id}/assign", headers=bearer(reviewer), json={})
    assert resp.status_code == 200, resp.get_json()


def _approve(client, reviewer, claim_id):
    return client.post(
        f"/staff/claims/{claim_id}/approve",
        headers={**bearer(reviewer), **key()},
        json={"reason": "收款账户已更正"},
    )


def _transfers_to(app, account) -> int:
    with app.app_context():
        from app.integrations.payout.sandbox_models import SandboxPayout
        from app.security.crypto import index_of

        return get_session().scalar(
            select(func.count())
            .select_from(SandboxPayout)
            .where(SandboxPayout.account_index == index_of("sandbox_payout_account", account))
        )


def test_the_member_corrects_the_payee_and_the_refused_account_is_never_paid_again(
    app, client, insured_family, reviewer, caplog
):
    caplog.set_level(logging.DEBUG)
    token = insured_family["token"]
    claim = _tap(client, insured_family, BAD)
    assert claim["status"] == "pending_review"
    _assign(client, reviewer, claim["id"])

    # approving again would pay the refused account again: refused
    again = _approve(client, reviewer, claim["id"])
    assert again.status_code == 422 and again.get_json()["code"] == "payee_account_failed"

    # the same account (spaced as on a card) is not accepted back; intake's rules apply
    same = _correct(client, token, claim["id"], {**GOOD, "bank_account": "6222 0202 0011 2230 000"})
    assert same.status_code == 422 and same.get_json()["code"] == "payee_account_failed"
    stranger = _correct(client, token, claim["id"], {**GOOD, "name": "王五"})
    assert stranger.status_code == 422 and stranger.get_json()["code"] == "payee_not_allowed"
    no_key = _correct(client, token, claim["id"], GOOD, headers=bearer(token))
    assert no_key.status_code == 400

    fixed = _correct(client, token, claim["id"], GOOD)
    assert fixed.status_code == 200, fixed.get_json()
    assert fixed.get_json()["payee"]["account_masked"].endswith("5678")
    assert fixed.get_json()["status"] == "pending_review"  # the reviewer approves it again

    paid = _approve(client, reviewer, claim["id"])
    assert paid.status_code == 200, paid.get_json()
    assert paid.get_json()["status"] == "paid" and paid.get_json()["paid_fen"] > 0
    with app.app_context():
        s = get_session()
        rows = list(s.scalars(select(Payout).order_by(Payout.id)))
        no = claim["claim_no"]
        assert [(p.request_id, p.status) for p in rows] == [
            (f"{no}P1", "failed"),
            (f"{no}P2", "succeeded"),
        ]
        remembered = list(s.scalars(select(ClaimFailedAccount)))
        assert [(r.claim_id, r.account_last4, r.failure_code) for r in remembered] == [
            (claim["id"], "0000", "account_invalid")
        ]
        assert BAD not in remembered[0].account_index
        from app.audit.models import AuditEvent

        events = list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == "claim.payee_corrected"))
        )
        assert [(e.actor_type, e.object_id) for e in events] == [("member", claim["id"])]
        assert BAD not in str(events[0].detail) and GOOD["bank_account"] not in str(
            events[0].detail
        )
    assert _transfers_to(app, BAD) == 1 and _transfers_to(app, GOOD["bank_account"]) == 1
    assert BAD not in caplog.text and GOOD["bank_account"] not in caplog.text
    assert _ledger_ok(app) == []


def test_the_assigned_reviewer_may_correct_the_payee_audited(app, client, insured_family, reviewer):
    claim = _tap(client, insured_family, BAD)
    # only the reviewer the claim is assigned to
    early = _correct(client, reviewer, claim["id"], GOOD, staff=True)
    assert early.status_code == 409 and early.get_json()["code"] == "claim_not_assigned"
    _assign(client, reviewer, claim["id"])
    fixed = _correct(client, reviewer, claim["id"], GOOD, staff=True)
    assert fixed.status_code == 200, fixed.get_json()
    assert _approve(client, reviewer, claim["id"]).get_json()["status"] == "paid"
    with app.app_context():
        from app.audit.models import AuditEvent

        events = list(
            get_session().scalars(
                select(AuditEvent).where(AuditEvent.action == "claim.payee_corrected")
            )
        )
        assert [e.actor_type for e in events] == ["staff"]
    assert _transfers_to(app, BAD) == 1
    assert _ledger_ok(app) == []


def test_an_approved_claim_whose_transfer_failed_is_paid_at_once_to_the_new_account(
    app, client, insured_family
):
    claim = _tap(client, insured_family, "6222020200112233333")  # transient: stays approved
    assert claim["status"] == "approved"
    fixed = _correct(client, insured_family["token"], claim["id"], GOOD)
    assert fixed.status_code == 200, fixed.get_json()
    assert fixed.get_json()["status"] == "paid"
    with app.app_context():
        s = get_session()
        rows = list(s.scalars(select(Payout).order_by(Payout.id)))
        assert [(p.attempt, p.status) for p in rows] == [(1, "failed"), (2, "succeeded")]
        assert s.scalar(select(func.count()).select_from(ClaimFailedAccount)) == 0  # not refused
        assert s.get(Claim, claim["id"]).paid_fen == fixed.get_json()["paid_fen"]
    assert _ledger_ok(app) == []


def test_no_payee_change_without_a_failed_transfer(client, insured_family):
    claim = _tap(client, insured_family, "6222020200112233445")
    assert claim["status"] == "paid"
    resp = _correct(client, insured_family["token"], claim["id"], GOOD)
    assert resp.status_code == 409 and resp.get_json()["code"] == "payee_change_not_allowed"
