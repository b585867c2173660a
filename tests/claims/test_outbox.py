"""Member notifications: written with the change they announce, delivered afterwards through the
notifier port; a refusal is final, a busy answer is retried later, nothing is sent twice."""

from __future__ import annotations

from sqlalchemy import select

from app.database import get_session
from app.members.models import Member
from app.outbox.models import OutboxEvent
from tests.claims.conftest import key
from tests.conftest import bearer


def _paid_claim(client, family):
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
            "payee": {
                "name": "张伟",
                "bank_name": "工商银行",
                "bank_account": "6222020200112233445",
            },
        },
    )
    assert resp.status_code == 201 and resp.get_json()["status"] == "paid"
    return resp.get_json()


def test_events_are_delivered_once(app, client, insured_family):
    claim = _paid_claim(client, insured_family)
    with app.app_context():
        from app.integrations.notifier.sandbox import recorded_messages
        from app.outbox.services import deliver_pending

        assert deliver_pending() == {"sent": 2, "retry": 0, "failed": 0}
        assert deliver_pending() == {"sent": 0, "retry": 0, "failed": 0}
        sent = recorded_messages()
        assert [m.template_id for m in sent] == ["claim_approved", "claim_paid"]
        assert all(m.data["claim_no"] == claim["claim_no"] for m in sent)
        assert sent[-1].data["amount"] == f"{claim['paid_fen'] / 100:.2f}"


def test_a_mapped_kind_is_sent_as_its_wechat_template_with_its_own_keys(
    app, client, insured_family
):
    """NOTIFY_TEMPLATES maps our kinds and payload onto the mini-program's templates: the
    template id and keys WeChat expects, each value within its type's limit."""
    from app.integrations.notifier.templates import parse_templates

    claim = _paid_claim(client, insured_family)
    app.config["NOTIFY_TEMPLATES"] = {
        "claim_paid": {
            "template_id": "TPL-PAID-9f2",
            "fields": {"character_string1": "claim_no", "amount2": "amount", "phrase3": "status"},
        }
    }
    assert parse_templates(app.config["NOTIFY_TEMPLATES"])
    with app.app_context():
        from app.integrations.notifier.sandbox import recorded_messages
        from app.outbox.services import deliver_pending

        assert deliver_pending() == {"sent": 2, "retry": 0, "failed": 0}
        approved, paid = recorded_messages()
    assert approved.template_id == "claim_approved"  # not mapped: the sandbox records it as is
    assert paid.template_id == "TPL-PAID-9f2"
    assert paid.data == {
        "character_string1": claim["claim_no"],
        "amount2": f"{claim['paid_fen'] / 100:.2f}",
        "phrase3": "已赔付",
    }


def test_the_real_notifier_never_sends_a_kind_with_no_template(app):
    """An unmapped kind is kept, failed with no_template, for the operator (not sent as a
    template id WeChat does not know, which it would refuse)."""
    app.config["NOTIFIER_BACKEND"] = "real"
    with app.test_request_context():
        from app.integrations.notifier.templates import parse_templates
        from app.outbox.services import _message

        assert _message({}, "claim_paid", {"claim_no": "CL1"}) is None
        templates = parse_templates(
            {"claim_*": {"template_id": "TPL", "fields": {"character_string1": "claim_no"}}}
        )
        assert _message(templates, "claim_paid", {"claim_no": "CL1"}) == (
            "TPL",
            {"character_string1": "CL1"},
        )


def test_a_busy_notifier_is_retried_later_and_a_refusal_is_final(app, client, insured_family):
    _paid_claim(client, insured_family)
    with app.app_context():
        from app.integrations.registry import notifier
        from app.outbox.services import deliver_pending

        notifier().faults.add("busy")
        assert deliver_pending() == {"sent": 0, "retry": 2, "failed": 0}
        assert deliver_pending() == {"sent": 0, "retry": 0, "failed": 0}  # backing off
        notifier().faults.clear()
        s = get_session()
        openid = s.scalar(select(Member.openid))
        notifier().refused_openids.add(openid)
        for event in s.scalars(select(OutboxEvent)):
            event.next_attempt_at = event.created_at  # due again
        s.commit()
        assert deliver_pending() == {"sent": 0, "retry": 0, "failed": 2}
        assert {e.status for e in get_session().scalars(select(OutboxEvent))} == {"failed"}


def test_sponsor_outcomes_count_paid_claims_on_the_given_policies(app, client, insured_family):
    """The query behind sponsors' anonymised outcomes: paid claims on a set of policies."""
    claim = _paid_claim(client, insured_family)
    with app.app_context():
        from app.claims.services import claims_paid_on
        from app.policies.models import Policy

        s = get_session()
        everyone = select(Policy.id)
        others = select(Policy.id).where(Policy.id != claim["policy_id"])
        assert claims_paid_on(s, everyone) == claims_paid_on(s, everyone).__class__(
            1, claim["paid_fen"]
        )
        assert (claims_paid_on(s, others).count, claims_paid_on(s, others).paid_fen) == (0, 0)
