"""复核 over HTTP: 李娜's day-surgery claim rejected by demo-reviewer; the member asks once, in
time, with a reason; only another reviewer takes and decides it (approve pays, uphold is final);
every refusal is a clear 4xx with its own code."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests import factories
from tests.claims.conftest import key
from tests.claims.test_flow import one_tap, records
from tests.claims.test_paid_once import _filed
from tests.conftest import bearer


@pytest.fixture
def second_reviewer(seeded):
    factories.staff_account(seeded, "second-reviewer", "reviewer")
    return factories.staff_token(seeded, "second-reviewer")


def staff_reject(client, reviewer, claim_id, reason_code="not_covered", reason="手术不在保障范围"):
    """The reviewer takes the claim and rejects it (on a claim in 复核: upholds the rejection)."""
    staff = bearer(reviewer)
    assert client.post(f"/staff/claims/{claim_id}/assign", headers=staff, json={}).status_code
    resp = client.post(
        f"/staff/claims/{claim_id}/reject",
        headers=staff,
        json={"reason_code": reason_code, "reason": reason},
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _rejected(client, family, reviewer) -> dict:
    claim = _filed(client, family)
    assert claim["status"] == "pending_review", claim
    staff_reject(client, reviewer, claim["id"])
    return client.get(f"/claims/{claim['id']}", headers=bearer(family["token"])).get_json()


def _ask(client, family, claim_id, reason="手术属于保障范围，请复核"):
    return client.post(
        f"/claims/{claim_id}/recheck", headers=bearer(family["token"]), json={"reason": reason}
    )


def _outbox_kinds(app) -> list[str]:
    with app.app_context():
        from app.database import get_session
        from app.outbox.models import OutboxEvent

        kinds = list(get_session().scalars(select(OutboxEvent.kind).order_by(OutboxEvent.id)))
        get_session().rollback()
        return kinds


def _problem(resp, status, code):
    body = resp.get_json()
    assert resp.status_code == status, body
    assert body["code"] == code, body
    assert body["title"] or body["detail"]


def _decided(decision: str) -> float:
    from prometheus_client import REGISTRY

    found = REGISTRY.get_sample_value("huimin_claim_outcomes_total", {"decision": decision})
    return found or 0.0


def test_recheck_approved_by_a_second_reviewer_pays(
    app, client, insured_family, reviewer, second_reviewer
):
    rejected_before, approved_before = _decided("rejected"), _decided("approved")
    claim = _rejected(client, insured_family, reviewer)
    assert _decided("rejected") == rejected_before + 1  # reviewers' decisions are counted too
    assert claim["status"] == "rejected"
    assert claim["recheck_available"] is True and claim["human_review_available"] is False

    asked = _ask(client, insured_family, claim["id"])
    assert asked.status_code == 200, asked.get_json()
    body = asked.get_json()
    assert body["status"] == "recheck" and body["status_label"] == "复核中"
    assert body["recheck_available"] is False
    step = body["transitions"][-1]
    assert step["action"] == "request_recheck" and step["reason"] == "手术属于保障范围，请复核"
    assert "claim_recheck_requested" in _outbox_kinds(app)

    # asked twice: refused, nothing changes
    _problem(_ask(client, insured_family, claim["id"]), 409, "recheck_already_requested")

    # the queue of claims in recheck shows it, with who may not decide it
    queue = client.get("/staff/claims?status=recheck", headers=bearer(second_reviewer))
    [row] = queue.get_json()
    assert row["id"] == claim["id"] and row["recheck_requested_at"] is not None
    first = client.get(f"/staff/claims/{claim['id']}", headers=bearer(reviewer)).get_json()
    assert first["assigned_staff_id"] is None
    assert first["rejected_by_staff_id"] is not None

    # the first reviewer can neither take nor decide it
    a = bearer(reviewer)
    _problem(
        client.post(f"/staff/claims/{claim['id']}/assign", headers=a, json={}),
        403,
        "recheck_same_reviewer",
    )
    _problem(
        client.post(
            f"/staff/claims/{claim['id']}/approve", headers={**a, **key()}, json={"reason": "x"}
        ),
        403,
        "recheck_same_reviewer",
    )
    _problem(
        client.post(
            f"/staff/claims/{claim['id']}/reject",
            headers=a,
            json={"reason_code": "not_covered", "reason": "维持"},
        ),
        403,
        "recheck_same_reviewer",
    )

    # the second reviewer takes it and approves: the normal approval path, payout included
    b = bearer(second_reviewer)
    assert client.post(f"/staff/claims/{claim['id']}/assign", headers=b, json={}).status_code == 200
    approved = client.post(
        f"/staff/claims/{claim['id']}/approve",
        headers={**b, **key()},
        json={"reason": "复核：属于保障范围"},
    )
    assert approved.status_code == 200, approved.get_json()
    assert _decided("approved") == approved_before + 1
    done = approved.get_json()
    assert done["status"] == "paid" and done["paid_fen"] > 0
    actions = [t["action"] for t in done["transitions"]]
    assert actions[-4:] == ["reject", "request_recheck", "approve", "pay"], actions
    kinds = _outbox_kinds(app)
    assert "claim_approved" in kinds and "claim_paid" in kinds

    with app.app_context():
        from app.audit.models import AuditEvent
        from app.database import get_session

        assigned = get_session().scalars(
            select(AuditEvent).where(
                AuditEvent.object_id == claim["id"], AuditEvent.action == "claim.assigned"
            )
        )
        assert len(list(assigned)) == 2
        get_session().rollback()


def test_recheck_upheld_is_final(app, client, insured_family, reviewer, second_reviewer):
    claim = _rejected(client, insured_family, reviewer)
    assert _ask(client, insured_family, claim["id"]).status_code == 200
    b = bearer(second_reviewer)
    assert client.post(f"/staff/claims/{claim['id']}/assign", headers=b, json={}).status_code == 200
    upheld = client.post(
        f"/staff/claims/{claim['id']}/reject",
        headers=b,
        json={"reason_code": "not_covered", "reason": "复核维持原决定"},
    )
    assert upheld.status_code == 200, upheld.get_json()
    body = upheld.get_json()
    assert body["status"] == "rejected"
    last = body["transitions"][-1]
    assert last["action"] == "uphold" and last["reason"] == "不属于保险责任：复核维持原决定"
    assert _outbox_kinds(app)[-1] == "claim_recheck_upheld"

    mine = client.get(f"/claims/{claim['id']}", headers=bearer(insured_family["token"]))
    assert mine.get_json()["recheck_available"] is False
    _problem(_ask(client, insured_family, claim["id"]), 409, "recheck_already_requested")


def test_recheck_after_the_period_is_refused(app, client, insured_family, reviewer):
    """The rejection is moved back past CLAIM_RECHECK_DAYS (the member's login would not survive
    travelling the clock a month ahead)."""
    claim = _rejected(client, insured_family, reviewer)
    days = app.config["CLAIM_RECHECK_DAYS"]
    with app.app_context():
        from app.claims.models import Claim
        from app.database import transaction, utcnow

        with transaction() as s:
            s.get(Claim, claim["id"]).decided_at = utcnow() - timedelta(days=days, minutes=1)
    late = _ask(client, insured_family, claim["id"])
    _problem(late, 409, "recheck_period_passed")
    assert f"{days} 日" in late.get_json()["detail"]
    mine = client.get(f"/claims/{claim['id']}", headers=bearer(insured_family["token"]))
    assert mine.get_json()["status"] == "rejected"
    assert mine.get_json()["recheck_available"] is False


def test_recheck_only_of_a_reviewers_rejection(app, client, insured_family):
    # a claim still in review
    pending = _filed(client, insured_family)
    _problem(_ask(client, insured_family, pending["id"]), 409, "recheck_not_available")

    # an automatic denial goes to human review (PIPL art. 24), not to recheck
    with app.app_context():
        from app.database import transaction
        from app.integrations.bureau.sandbox_models import SandboxResident
        from app.members.models import Person

        with transaction() as s:
            psn_no = s.scalar(select(Person.psn_no).where(Person.name == "张伟"))
            row = s.scalar(select(SandboxResident).where(SandboxResident.psn_no == psn_no))
            row.psn_insu_stas, row.paus_insu_date = "2", date(2026, 2, 1)
    first = min(
        (r for r in records(client, insured_family, "张伟") if r["claimable"]),
        key=lambda r: r["admitted_on"],
    )
    denied = one_tap(client, insured_family, "张伟", first["setl_id"]).get_json()
    assert denied["status"] == "rejected" and denied["recheck_available"] is False
    _problem(_ask(client, insured_family, denied["id"]), 409, "recheck_not_available")


def test_recheck_reason_is_required(client, insured_family, reviewer):
    claim = _rejected(client, insured_family, reviewer)
    resp = client.post(
        f"/claims/{claim['id']}/recheck", headers=bearer(insured_family["token"]), json={}
    )
    assert resp.status_code == 422


def test_no_recheck_once_the_settlement_is_claimed_again(client, insured_family, reviewer):
    """A one-tap claim the reviewer rejected, then the same settlement claimed again: the new
    claim carries it (one live claim per settlement), so the old one cannot go to 复核."""
    _filed(client, insured_family)  # 李娜's photographed claim of the 2026-04-08 stay
    [stay] = [
        r for r in records(client, insured_family, "李娜") if r["admitted_on"] == "2026-04-08"
    ]
    payee = {"name": "李娜", "bank_name": "工商银行", "bank_account": "6222020200112233445"}
    held = one_tap(client, insured_family, "李娜", stay["setl_id"], payee).get_json()
    assert held["status"] == "pending_review", held  # same episode: held for a person
    staff = bearer(reviewer)
    assert client.post(f"/staff/claims/{held['id']}/assign", headers=staff, json={}).status_code
    resp = client.post(
        f"/staff/claims/{held['id']}/reject",
        headers=staff,
        json={"reason_code": "duplicate", "reason": "同一次住院已申请理赔"},
    )
    assert resp.status_code == 200, resp.get_json()
    again = one_tap(client, insured_family, "李娜", stay["setl_id"], payee)
    assert again.status_code == 201, again.get_json()
    _problem(_ask(client, insured_family, held["id"]), 409, "settlement_already_claimed")
