"""Role-matrix rows and requests for the claim routes (merged into test_role_matrix's MATRIX and
REQUESTS). Members file and follow claims; reviewers decide; operators read and assign; an
organisation admin is kept out of all of it. The claims a row needs are made directly
(tests/factories.py): only the row's own request goes through HTTP."""

from __future__ import annotations

import io
from datetime import date

import time_machine
from PIL import Image
from sqlalchemy import select

from tests import factories
from tests.conftest import bearer
from tests.enrollment.conftest import key

#                                                          anon member reviewer operator charity
ROWS: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    ("/policies/<int:policy_id>/settlement-records", "GET"): (401, 200, 401, 401, 401),
    ("/claims/from-settlement", "POST"): (401, 201, 401, 401, 401),
    ("/claims/estimate", "POST"): (401, 200, 401, 401, 401),
    ("/claims", "POST"): (401, 201, 401, 401, 401),
    ("/claims", "GET"): (401, 200, 401, 401, 401),
    ("/claims/<int:claim_id>", "GET"): (401, 200, 401, 401, 401),
    ("/claims/<int:claim_id>", "PATCH"): (401, 200, 401, 401, 401),
    ("/claims/<int:claim_id>", "DELETE"): (401, 204, 401, 401, 401),
    ("/claims/<int:claim_id>/submit", "POST"): (401, 200, 401, 401, 401),
    ("/claims/<int:claim_id>/documents", "POST"): (401, 201, 401, 401, 401),
    ("/claims/<int:claim_id>/documents/<int:document_id>", "GET"): (401, 200, 401, 401, 401),
    ("/claims/<int:claim_id>/documents/<int:document_id>", "DELETE"): (401, 204, 401, 401, 401),
    ("/claims/<int:claim_id>/answer", "POST"): (401, 200, 401, 401, 401),
    ("/claims/<int:claim_id>/human-review", "POST"): (401, 200, 401, 401, 401),
    ("/claims/<int:claim_id>/recheck", "POST"): (401, 200, 401, 401, 401),
    ("/claims/<int:claim_id>/payee", "POST"): (401, 200, 401, 401, 401),
    ("/claims/<int:claim_id>/lines", "POST"): (401, 200, 401, 401, 401),
    ("/claims/<int:claim_id>/lines", "PUT"): (401, 200, 401, 401, 401),
    ("/staff/claims", "GET"): (401, 401, 200, 200, 403),
    ("/staff/claims/<int:claim_id>", "GET"): (401, 401, 200, 200, 403),
    ("/staff/claims/<int:claim_id>/assign", "POST"): (401, 401, 200, 200, 403),
    ("/staff/claims/<int:claim_id>/approve", "POST"): (401, 401, 200, 403, 403),
    ("/staff/claims/<int:claim_id>/reject", "POST"): (401, 401, 200, 403, 403),
    ("/staff/claims/<int:claim_id>/request-info", "POST"): (401, 401, 200, 403, 403),
    ("/staff/claims/<int:claim_id>/health-determination", "POST"): (401, 401, 200, 403, 403),
    ("/staff/claims/<int:claim_id>/payee", "POST"): (401, 401, 200, 403, 403),
    ("/staff/claims/<int:claim_id>/lines", "PUT"): (401, 401, 200, 403, 403),
    ("/staff/claims/<int:claim_id>/documents/<int:document_id>", "GET"): (401, 401, 200, 403, 403),
}

PAYEE = {"name": "张伟", "bank_name": "工商银行", "bank_account": "6222020200112233445"}


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (90, 90, 90)).save(buf, "JPEG")
    return buf.getvalue()


def _file() -> dict:
    return {
        "data": {"doc_type": "invoice", "file": (io.BytesIO(_jpeg()), "a.jpg", "image/jpeg")},
        "content_type": "multipart/form-data",
    }


# One 甲类 line of 1,000 yuan, all in policy: it adds up to the claims _draft makes.
LINES = [
    {
        "med_list_codg": "003310000010000-331100001",
        "chrgitm_lv": "01",
        "det_item_fee_sumamt_fen": 100_000,
    }
]
LINES_CSV = (
    "项目编码,项目名称,等级,数量,单价,金额\n003310000010000-331100001,急诊处置,甲,1,1000,1000\n"
)


def _lines_file() -> dict:
    return {
        "data": {"file": (io.BytesIO(LINES_CSV.encode()), "bill.csv", "text/csv")},
        "content_type": "multipart/form-data",
    }


def _draft(
    w, *, complete: bool = False, submit: str | bool = False, policy_id: int | None = None, **extra
) -> int:
    """A draft claim (`complete`: with the documents it needs); with `submit` the status the
    submission must reach."""
    body = {
        "policy_id": policy_id or w.policy(),
        "care_kind": "emergency",
        "hospital_name": "赣州市人民医院",
        "admitted_on": "2026-11-20",
        "discharged_on": "2026-11-20",
        "diagnosis": "急性胃肠炎",
        "medfee_sumamt_fen": 100_000,
        "hifp_pay_fen": 60_000,
        "in_policy_self_pay_fen": 40_000,
        "payee": PAYEE,
        "invoices": [
            {"issuer": "赣州市人民医院", "number": f"M{len(w.numbers):06d}", "amount_fen": 100_000}
        ],
        **extra,
    }
    claim = factories.claim(
        w.app,
        w.member_id,
        body,
        documents=("invoice", "settlement_sheet") if complete else (),
        submit=submit,
    )
    w.numbers.append(claim["claim_no"])
    if submit is not False:
        assert claim["status"] == submit, claim
    return claim["id"]


def _document(w, claim_id: int) -> int:
    """The claim's first document (as `GET /claims/<id>` lists them: in id order)."""
    with w.app.app_context():
        from app.claims.models import ClaimDocument
        from app.database import get_session

        return get_session().scalar(
            select(ClaimDocument.id)
            .where(ClaimDocument.claim_id == claim_id, ClaimDocument.deleted_at.is_(None))
            .order_by(ClaimDocument.id)
        )


def _submitted(w) -> int:
    """A complete claim with documents, submitted: it waits for a reviewer."""
    return _draft(w, complete=True, submit="pending_review")


def _assigned(w) -> int:
    """Submitted and taken by demo-reviewer (fresh per call: the actions consume it)."""
    claim_id = _submitted(w)
    factories.assign_claim(w.app, "demo-reviewer", claim_id)
    return claim_id


def _reviewer_rejected(w) -> int:
    """Taken and rejected by demo-reviewer: the member may ask for 复核 (once)."""
    claim_id = _assigned(w)
    factories.reject_claim(w.app, "demo-reviewer", claim_id)
    return claim_id


def _more_info_requested(w) -> int:
    claim_id = _assigned(w)
    factories.request_claim_info(w.app, "demo-reviewer", claim_id, "请补充说明")
    return claim_id


def _backdated_policy(w, relative_id: int) -> int:
    """The relative enrolled last December (cover from 2026-01-01), so care in 2026 is covered."""
    with time_machine.travel("2025-12-15T02:00:00+00:00", tick=True):
        order = factories.order(w.app, w.member_id, [relative_id], False, pay=True)
    assert order["status"] == "paid", order
    [policy] = order["policies"]
    return policy["id"]


def _payable_assigned(w) -> int:
    """李娜's claim for a day surgery in April, covered and above the deductible, taken by the
    reviewer: approving it pays."""
    policy_id = w._once("spouse_policy", lambda: _backdated_policy(w, w.spouse_id))
    claim_id = _draft(
        w,
        complete=True,
        policy_id=policy_id,
        care_kind="emergency",
        admitted_on="2026-04-08",
        discharged_on="2026-04-08",
        medfee_sumamt_fen=8_000_000,
        hifp_pay_fen=4_000_000,
        in_policy_self_pay_fen=4_000_000,
        payee={**PAYEE, "name": "李娜"},
        submit="pending_review",
    )
    factories.assign_claim(w.app, "demo-reviewer", claim_id)
    return claim_id


def _payout_failed(w) -> int:
    """李娜's claim for other care in May, approved by the reviewer (still assigned to them),
    whose transfer the sandbox bank refused (...0000: account_invalid): back in review."""
    policy_id = w._once("spouse_policy", lambda: _backdated_policy(w, w.spouse_id))
    claim_id = _draft(
        w,
        complete=True,
        policy_id=policy_id,
        care_kind="emergency",
        hospital_name="赣州市立医院",
        admitted_on="2026-05-12",
        discharged_on="2026-05-12",
        medfee_sumamt_fen=8_000_000,
        hifp_pay_fen=4_000_000,
        in_policy_self_pay_fen=4_000_000,
        payee={**PAYEE, "name": "李娜", "bank_account": "6222020200112230000"},
        submit="pending_review",
    )
    factories.assign_claim(w.app, "demo-reviewer", claim_id)
    staff = bearer(w.tokens["reviewer"])
    resp = w.client.post(
        f"/staff/claims/{claim_id}/approve", headers={**staff, **key()}, json={"reason": "核对无误"}
    )
    assert resp.get_json()["status"] == "pending_review", resp.get_json()
    return claim_id


def _auto_rejected(w) -> int:
    """张小宝 enrolled last December; his basic insurance found suspended from 2026-02-01; a claim
    for care in March is denied by the engine alone, so a human review may be asked for."""

    def make() -> int:
        policy_id = _backdated_policy(w, w.child_id)
        with w.app.app_context():
            from app.database import transaction
            from app.integrations.bureau.sandbox_models import SandboxResident
            from app.members.models import Person

            with transaction() as s:
                person = s.scalar(select(Person).where(Person.name == "张小宝"))
                person.insurance_status, person.suspended_since = "suspended", date(2026, 2, 1)
                row = s.scalar(
                    select(SandboxResident).where(SandboxResident.psn_no == person.psn_no)
                )
                row.psn_insu_stas, row.paus_insu_date = "2", date(2026, 2, 1)
        return policy_id

    policy_id = w._once("child_policy", make)
    claim_id = _draft(
        w,
        complete=True,
        policy_id=policy_id,
        admitted_on="2026-03-03",
        discharged_on="2026-03-08",
        care_kind="emergency",
        payee={**PAYEE},
        submit="rejected",
    )
    return claim_id


def _reviewer_id(w) -> int:
    with w.app.app_context():
        from app.auth.models import StaffAccount
        from app.database import get_session

        return get_session().scalar(
            select(StaffAccount.id).where(StaffAccount.username == "demo-reviewer")
        )


def _setl_id(w) -> str:
    """One of 张伟's settlement records at the (sandbox) bureau."""
    with w.app.app_context():
        from app.database import get_session
        from app.integrations.bureau.sandbox_models import SandboxSettlement

        return get_session().scalar(
            select(SandboxSettlement.setl_id)
            .where(
                SandboxSettlement.psn_name == "张伟",
                SandboxSettlement.refd_setl_flag == "0",
                SandboxSettlement.med_type == "21",
            )
            .order_by(SandboxSettlement.id)
        )


REQUESTS = {
    ("/policies/<int:policy_id>/settlement-records", "GET"): lambda w: {"policy_id": w.policy()},
    ("/claims/from-settlement", "POST"): lambda w: {
        "headers": key(),
        "json": {"policy_id": w.policy(), "setl_id": _setl_id(w), "payee": PAYEE},
    },
    ("/claims/estimate", "POST"): lambda w: {
        "json": {
            "policy_id": w.policy(),
            "care_kind": "in_patient",
            "care_date": "2026-11-20",
            "medfee_sumamt_fen": 100_000,
            "in_policy_self_pay_fen": 40_000,
            "hifp_pay_fen": 60_000,
        }
    },
    ("/claims", "POST"): lambda w: {"json": {"policy_id": w.policy(), "care_kind": "emergency"}},
    ("/claims", "GET"): lambda w: {},
    ("/claims/<int:claim_id>", "GET"): lambda w: {"claim_id": w._once("draft", lambda: _draft(w))},
    ("/claims/<int:claim_id>", "PATCH"): lambda w: {
        "claim_id": w._once("draft", lambda: _draft(w)),
        "json": {"diagnosis": "急性肠炎"},
    },
    ("/claims/<int:claim_id>", "DELETE"): lambda w: {"claim_id": _draft(w)},
    ("/claims/<int:claim_id>/submit", "POST"): lambda w: {
        "claim_id": _draft(w, complete=True),
        "headers": key(),
    },
    ("/claims/<int:claim_id>/documents", "POST"): lambda w: {
        "claim_id": w._once("draft", lambda: _draft(w)),
        **_file(),
    },
    ("/claims/<int:claim_id>/documents/<int:document_id>", "GET"): lambda w: {
        "claim_id": w._once("full", lambda: _draft(w, complete=True)),
        "document_id": _document(w, w._once("full", lambda: _draft(w, complete=True))),
    },
    ("/claims/<int:claim_id>/documents/<int:document_id>", "DELETE"): lambda w: (
        lambda cid: {"claim_id": cid, "document_id": _document(w, cid)}
    )(_draft(w, complete=True)),
    ("/claims/<int:claim_id>/answer", "POST"): lambda w: {
        "claim_id": w._once("more_info", lambda: _more_info_requested(w)),
        "json": {"message": "已说明"},
    },
    ("/claims/<int:claim_id>/human-review", "POST"): lambda w: {
        "claim_id": w._once("rejected", lambda: _auto_rejected(w)),
        "json": {"reason": "请人工复核"},
    },
    ("/claims/<int:claim_id>/recheck", "POST"): lambda w: {
        "claim_id": _reviewer_rejected(w),
        "json": {"reason": "请另一位审核员复核"},
    },
    ("/claims/<int:claim_id>/payee", "POST"): lambda w: {
        "claim_id": w._once("payout_failed", lambda: _payout_failed(w)),
        "headers": key(),
        "json": {"payee": {**PAYEE, "name": "李娜"}},
    },
    ("/claims/<int:claim_id>/lines", "POST"): lambda w: {
        "claim_id": w._once("draft", lambda: _draft(w)),
        **_lines_file(),
    },
    ("/claims/<int:claim_id>/lines", "PUT"): lambda w: {
        "claim_id": w._once("draft", lambda: _draft(w)),
        "json": {"lines": LINES},
    },
    ("/staff/claims", "GET"): lambda w: {"query_string": {"limit": 5}},
    ("/staff/claims/<int:claim_id>", "GET"): lambda w: {
        "claim_id": w._once("submitted", lambda: _submitted(w))
    },
    ("/staff/claims/<int:claim_id>/assign", "POST"): lambda w: {
        "claim_id": w._once("submitted", lambda: _submitted(w)),
        "json": {"staff_id": _reviewer_id(w)},
    },
    ("/staff/claims/<int:claim_id>/approve", "POST"): lambda w: {
        "claim_id": w._once("payable", lambda: _payable_assigned(w)),
        "headers": key(),
        "json": {"reason": "核对无误"},
    },
    ("/staff/claims/<int:claim_id>/reject", "POST"): lambda w: {
        "claim_id": w._once("assigned", lambda: _assigned(w)),
        "json": {"reason_code": "other", "reason": "材料不符"},
    },
    ("/staff/claims/<int:claim_id>/request-info", "POST"): lambda w: {
        "claim_id": w._once("assigned", lambda: _assigned(w)),
        "json": {"message": "请补充", "documents": ["itemised_bill"]},
    },
    ("/staff/claims/<int:claim_id>/health-determination", "POST"): lambda w: {
        "claim_id": w._once("assigned", lambda: _assigned(w)),
        "json": {"health": "pre_existing", "reason": "既往病史"},
    },
    ("/staff/claims/<int:claim_id>/payee", "POST"): lambda w: {
        "claim_id": w._once("payout_failed", lambda: _payout_failed(w)),
        "headers": key(),
        "json": {"payee": {**PAYEE, "name": "李娜", "bank_account": "6217000010012345678"}},
    },
    ("/staff/claims/<int:claim_id>/documents/<int:document_id>", "GET"): lambda w: (
        lambda cid: {"claim_id": cid, "document_id": _document(w, cid)}
    )(w._once("assigned", lambda: _assigned(w))),
    ("/staff/claims/<int:claim_id>/lines", "PUT"): lambda w: {
        "claim_id": w._once("assigned", lambda: _assigned(w)),
        "json": {"lines": LINES, "reason": "按费用明细清单录入"},
    },
}
