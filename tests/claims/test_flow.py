"""Claims end to end through HTTP on the sandbox: one-tap from a settlement record, a claim with
documents for a relative with a request for more, a duplicate invoice, an automatic denial and
a human review, the estimator, and the money (ledger, accumulators, payout, outbox)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import select

from app.identity.idnumber import mask_name
from tests.claims.conftest import key
from tests.conftest import bearer

PAYEE = {"name": "张伟", "bank_name": "中国工商银行赣州分行", "bank_account": "6222020200112233445"}


def jpeg(color=(200, 200, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "JPEG")
    return buf.getvalue()


def upload(client, token, claim_id, doc_type, data=None):
    return client.post(
        f"/claims/{claim_id}/documents",
        headers=bearer(token),
        data={
            "doc_type": doc_type,
            "file": (io.BytesIO(data or jpeg()), "photo.jpg", "image/jpeg"),
        },
        content_type="multipart/form-data",
    )


def policy_of(family, name):
    return family["by_name"][mask_name(name)]


def records(client, family, name):
    resp = client.get(
        f"/policies/{policy_of(family, name)['id']}/settlement-records",
        headers=bearer(family["token"]),
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def one_tap(client, family, name, setl_id, payee=PAYEE):
    return client.post(
        "/claims/from-settlement",
        headers={**bearer(family["token"]), **key()},
        json={"policy_id": policy_of(family, name)["id"], "setl_id": setl_id, "payee": payee},
    )


def ledger_consistent(app):
    with app.app_context():
        from app.claims.services import check_claim_ledger

        return check_claim_ledger() == []


def test_one_tap_claim_is_approved_paid_and_explained(app, client, insured_family):
    rows = records(client, insured_family, "张伟")
    claimable = [r for r in rows if r["claimable"]]
    # the reversed settlement is listed but cannot be claimed
    assert any(not r["claimable"] for r in rows) and claimable
    stroke = max(claimable, key=lambda r: r["medfee_sumamt_fen"])

    est = client.post(
        "/claims/estimate",
        headers=bearer(insured_family["token"]),
        json={"policy_id": policy_of(insured_family, "张伟")["id"], "setl_id": stroke["setl_id"]},
    )
    assert est.status_code == 200, est.get_json()
    estimate = est.get_json()

    resp = one_tap(client, insured_family, "张伟", stroke["setl_id"])
    assert resp.status_code == 201, resp.get_json()
    claim = resp.get_json()
    assert claim["source"] == "settlement" and claim["documents"] == []
    assert claim["status"] == "paid", claim["transitions"]
    assert claim["paid_fen"] == claim["approved_fen"] == estimate["payable_fen"] > 0
    adj = claim["adjudication"]
    assert sum(b["payable_fen"] for b in adj["buckets"]) == claim["paid_fen"]
    assert adj["lines"][-1]["code"] == "payable_total"
    assert all(line["zh"] and line["en"] for line in adj["lines"])
    assert [t["to_status"] for t in claim["transitions"]] == ["submitted", "approved", "paid"]
    assert claim["payee"]["account_masked"].endswith("3445")
    assert "6222020200112233445" not in resp.get_data(as_text=True)

    # the record is now taken; a second tap is refused, and the list says so
    again = one_tap(client, insured_family, "张伟", stroke["setl_id"])
    assert again.status_code == 409 and again.get_json()["code"] == "settlement_already_claimed"
    taken = [
        r for r in records(client, insured_family, "张伟") if r["setl_id"] == stroke["setl_id"]
    ]
    assert taken[0]["claimable"] is False and taken[0]["claim_id"] == claim["id"]

    assert ledger_consistent(app)
    with app.app_context():
        from app.claims.models import AccumulatorEntry, Payout
        from app.database import get_session
        from app.outbox.models import OutboxEvent

        s = get_session()
        payouts = list(s.scalars(select(Payout)))
        assert [(p.status, p.amount_fen) for p in payouts] == [("succeeded", claim["paid_fen"])]
        paid = sum(
            e.value_fen
            for e in s.scalars(select(AccumulatorEntry).where(AccumulatorEntry.kind == "paid"))
        )
        assert paid == claim["paid_fen"]
        kinds = [e.kind for e in s.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
        assert kinds[-2:] == ["claim_approved", "claim_paid"]


def test_the_estimate_changes_nothing(app, client, insured_family):
    body = {
        "policy_id": policy_of(insured_family, "张伟")["id"],
        "care_kind": "in_patient",
        "care_date": "2026-06-01",
        "medfee_sumamt_fen": 10_000_000,
        "hifp_pay_fen": 6_000_000,
        "in_policy_self_pay_fen": 3_000_000,
        "out_of_policy_self_pay_fen": 1_000_000,
    }
    first = client.post("/claims/estimate", headers=bearer(insured_family["token"]), json=body)
    second = client.post("/claims/estimate", headers=bearer(insured_family["token"]), json=body)
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == second.get_json()
    assert first.get_json()["payable_fen"] > 0
    with app.app_context():
        from app.claims.models import AccumulatorEntry, Claim
        from app.database import get_session

        assert get_session().scalar(select(Claim)) is None
        assert get_session().scalar(select(AccumulatorEntry)) is None


def test_a_second_claim_uses_what_is_left_of_the_deductible(app, client, insured_family):
    """The year's deductible is consumed once: after a first claim has used part of it, the same
    second claim is estimated to pay more than before (less deductible left to absorb it), and
    settles at exactly the new estimate."""
    rows = [r for r in records(client, insured_family, "张伟") if r["claimable"]]
    small, large = sorted(rows, key=lambda r: r["medfee_sumamt_fen"])[:2]
    token, pid = insured_family["token"], policy_of(insured_family, "张伟")["id"]

    def estimate(setl_id):
        return client.post(
            "/claims/estimate", headers=bearer(token), json={"policy_id": pid, "setl_id": setl_id}
        ).get_json()

    before = estimate(large["setl_id"])
    first = one_tap(client, insured_family, "张伟", small["setl_id"]).get_json()
    after = estimate(large["setl_id"])
    used = sum(b["deductible_fen"] for b in first["adjudication"]["buckets"])
    assert used > 0
    assert after["payable_fen"] > before["payable_fen"]
    second = one_tap(client, insured_family, "张伟", large["setl_id"]).get_json()
    assert second["adjudication"]["payable_fen"] == after["payable_fen"]
    assert ledger_consistent(app)


def _draft_for(client, family, name, **extra):
    body = {
        "policy_id": policy_of(family, name)["id"],
        "care_kind": "day_surgery",
        "hospital_name": "赣州市人民医院",
        "admitted_on": "2026-04-08",
        "discharged_on": "2026-04-08",
        "diagnosis": "乳腺良性肿瘤切除",
        "patient_name": name,
        "medfee_sumamt_fen": 8_000_000,
        "hifp_pay_fen": 4_000_000,
        "in_policy_self_pay_fen": 2_500_000,
        "out_of_policy_self_pay_fen": 1_500_000,
        "payee": {**PAYEE, "name": name},
        "invoices": [
            {"issuer": "赣州市人民医院", "number": "36000026001234", "amount_fen": 8_000_000}
        ],
    }
    body.update(extra)
    resp = client.post("/claims", headers=bearer(family["token"]), json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_photographed_claim_for_a_relative_more_info_then_approved(
    app, client, insured_family, reviewer
):
    token = insured_family["token"]
    draft = _draft_for(client, insured_family, "李娜")
    assert draft["status"] == "draft"
    assert draft["missing_documents"] == ["invoice", "settlement_sheet", "discharge_summary"]

    # a draft can be saved and resumed
    saved = client.patch(
        f"/claims/{draft['id']}", headers=bearer(token), json={"diagnosis": "乳腺纤维腺瘤切除术"}
    )
    assert saved.status_code == 200 and saved.get_json()["diagnosis"] == "乳腺纤维腺瘤切除术"

    missing = client.post(f"/claims/{draft['id']}/submit", headers={**bearer(token), **key()})
    assert missing.status_code == 422
    assert missing.get_json()["code"] == "claim_documents_missing"
    assert missing.get_json()["errors"]["json"]["documents"] == [
        "invoice",
        "settlement_sheet",
        "discharge_summary",
    ]

    for doc_type in ("invoice", "settlement_sheet", "discharge_summary"):
        resp = upload(client, token, draft["id"], doc_type)
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["media_type"] == "image/jpeg"
    submitted = client.post(f"/claims/{draft['id']}/submit", headers={**bearer(token), **key()})
    assert submitted.status_code == 200, submitted.get_json()
    claim = submitted.get_json()
    assert claim["status"] == "pending_review"
    assert claim["adjudication"]["payable_fen"] >= 0

    # the reviewer finds it in the queue, takes it, reads a document (audited)
    staff = bearer(reviewer)
    queue = client.get("/staff/claims?assigned=unassigned", headers=staff).get_json()
    assert claim["id"] in [c["id"] for c in queue]
    doc_id = claim["documents"][0]["id"]
    not_yet = client.get(f"/staff/claims/{claim['id']}/documents/{doc_id}", headers=staff)
    assert not_yet.status_code == 404  # not assigned to this reviewer yet
    taken = client.post(f"/staff/claims/{claim['id']}/assign", headers=staff, json={})
    assert taken.status_code == 200, taken.get_json()
    doc = client.get(f"/staff/claims/{claim['id']}/documents/{doc_id}", headers=staff)
    assert doc.status_code == 200 and doc.data[:3] == b"\xff\xd8\xff"

    asked = client.post(
        f"/staff/claims/{claim['id']}/request-info",
        headers=staff,
        json={
            "message": "请补充李娜（身份证360702198708210142）的费用明细清单",
            "documents": ["itemised_bill"],
        },
    )
    assert asked.status_code == 200 and asked.get_json()["status"] == "more_info_requested"
    with app.app_context():  # the WeChat message names what to send, not the reviewer's words
        from app.database import get_session
        from app.outbox.models import OutboxEvent

        event = get_session().scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
        assert event.kind == "claim_more_info_requested"
        assert event.payload["message"] == "请补充费用明细清单"

    # the member must upload what was asked before answering
    early = client.post(
        f"/claims/{claim['id']}/answer", headers=bearer(token), json={"message": "已补充"}
    )
    assert early.status_code == 422 and early.get_json()["errors"]["json"]["documents"] == [
        "itemised_bill"
    ]
    assert upload(client, token, claim["id"], "itemised_bill").status_code == 201
    answered = client.post(
        f"/claims/{claim['id']}/answer",
        headers=bearer(token),
        json={"message": "已上传费用明细清单"},
    )
    assert answered.status_code == 200 and answered.get_json()["status"] == "pending_review"

    approved = client.post(
        f"/staff/claims/{claim['id']}/approve",
        headers={**staff, **key()},
        json={"reason": "材料齐全，金额核对无误"},
    )
    assert approved.status_code == 200, approved.get_json()
    final = client.get(f"/claims/{claim['id']}", headers=bearer(token)).get_json()
    assert final["status"] == "paid" and final["paid_fen"] == final["approved_fen"] > 0
    assert [t["action"] for t in final["transitions"]] == [
        "submit",
        "adjudicate",
        "request_info",
        "answer",
        "approve",
        "pay",
    ]
    assert all(t["created_at"] for t in final["transitions"])

    with app.app_context():
        from app.audit.models import AuditEvent
        from app.database import get_session

        actions = [e.action for e in get_session().scalars(select(AuditEvent))]
        assert actions.count("claim.document.read") == 1
    assert ledger_consistent(app)


def test_duplicate_invoice_is_flagged_for_review(client, insured_family, reviewer):
    token = insured_family["token"]
    ids = []
    for _ in range(2):
        draft = _draft_for(client, insured_family, "李娜")
        for doc_type in ("invoice", "settlement_sheet", "discharge_summary"):
            assert upload(client, token, draft["id"], doc_type).status_code == 201
        resp = client.post(f"/claims/{draft['id']}/submit", headers={**bearer(token), **key()})
        assert resp.status_code == 200, resp.get_json()
        ids.append(draft["id"])
    staff = client.get(f"/staff/claims/{ids[1]}", headers=bearer(reviewer)).get_json()
    assert staff["status"] == "pending_review"
    # the same bill twice is also the same stay twice (paid once: a supplement)
    assert [f["code"] for f in staff["flags"]] == ["duplicate_invoice", "same_episode"]
    assert "36000026001234" in staff["flags"][0]["zh"]
    first = client.get(f"/staff/claims/{ids[0]}", headers=bearer(reviewer)).get_json()
    assert first["flags"] == []
    flagged = client.get(
        "/staff/claims?flag=duplicate_invoice", headers=bearer(reviewer)
    ).get_json()
    assert [c["id"] for c in flagged] == [ids[1]]


def test_automatic_denial_and_a_human_review(app, client, insured_family, reviewer):
    """张伟's basic insurance turns out to have been suspended from 2026-02-01: the bureau
    re-verification at adjudication says so, the engine denies, the member asks for a person."""
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
    assert first["admitted_on"] >= "2026-02-01"
    resp = one_tap(client, insured_family, "张伟", first["setl_id"])
    assert resp.status_code == 201, resp.get_json()
    claim = resp.get_json()
    assert claim["status"] == "rejected" and claim["human_review_available"] is True
    assert "basic_insurance_suspended" in claim["adjudication"]["reason_codes"]
    # the rejection names only the failing checks (not "保单有效", not the date inside cover)
    rejection = next(t["reason"] for t in claim["transitions"] if t["action"] == "adjudicate")
    assert "基本医保处于暂停" in rejection and "保单有效" not in rejection
    assert all("不" in part for part in rejection.split("；")), rejection
    assert claim["paid_fen"] == 0

    review = client.post(
        f"/claims/{claim['id']}/human-review",
        headers=bearer(insured_family["token"]),
        json={"reason": "我一直正常缴费，请人工核实"},
    )
    assert review.status_code == 200, review.get_json()
    assert review.get_json()["status"] == "pending_review"
    assert review.get_json()["human_review_available"] is False
    twice = client.post(
        f"/claims/{claim['id']}/human-review",
        headers=bearer(insured_family["token"]),
        json={"reason": "再次申请"},
    )
    assert twice.status_code == 409
    staff = client.get(f"/staff/claims/{claim['id']}", headers=bearer(reviewer)).get_json()
    assert staff["human_review_requested_at"] is not None


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"admitted_on": "2026-04-09", "discharged_on": "2026-04-08"}, "care_dates_invalid"),
        ({"admitted_on": "2099-01-01", "discharged_on": "2099-01-02"}, "care_date_in_future"),
        ({"payee": {**PAYEE, "name": "王五"}}, "payee_not_allowed"),
        (
            {"payee": {**PAYEE, "name": "李娜", "bank_account": "62220202x0112233"}},
            "payee_account_invalid",
        ),
        ({"medfee_sumamt_fen": -1}, "validation_failed"),
        # fen are integers: a fraction or a string is refused, not truncated (100.5 -> 100)
        ({"medfee_sumamt_fen": 100.5}, "validation_failed"),
        ({"in_policy_self_pay_fen": "2500000"}, "validation_failed"),
        ({"amounts": {"in_policy_self_pay": 2500000.9}}, "validation_failed"),
        (
            {"invoices": [{"issuer": "赣州市人民医院", "number": "A1", "amount_fen": 80.5}]},
            "validation_failed",
        ),
        ({"care_kind": "dental"}, "validation_failed"),
    ],
)
def test_bad_claims_get_a_clear_422(client, insured_family, changes, code):
    body = {
        "policy_id": policy_of(insured_family, "李娜")["id"],
        "care_kind": "day_surgery",
        "payee": {**PAYEE, "name": "李娜"},
    }
    body.update(changes)
    resp = client.post("/claims", headers=bearer(insured_family["token"]), json=body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["code"] == code


def test_a_guardian_may_receive_a_childs_claim(client, insured_family):
    body = {
        "policy_id": policy_of(insured_family, "张小宝")["id"],
        "care_kind": "in_patient",
        "payee": PAYEE,
    }  # 张伟, the father filing the claim
    resp = client.post("/claims", headers=bearer(insured_family["token"]), json=body)
    assert resp.status_code == 201, resp.get_json()


def test_a_claim_on_a_policy_blocks_surrender(client, insured_family):
    from tests.claims.conftest import key as k

    resp = one_tap(
        client,
        insured_family,
        "张伟",
        [r for r in records(client, insured_family, "张伟") if r["claimable"]][0]["setl_id"],
    )
    assert resp.status_code == 201
    surrender = client.post(
        f"/policies/{policy_of(insured_family, '张伟')['id']}/surrender",
        headers={**bearer(insured_family["token"]), **k()},
    )
    assert surrender.status_code in (409, 422)
