"""The special-drug service through HTTP: apply with proofs, a reviewer approves the indication,
a purchase at a designated pharmacy is claimed against it and counted under special drugs; the
ways it is refused or not counted; the per-drug annual cap across purchases."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.database import get_session
from app.special_drugs.models import SpecialDrugUsage
from tests.conftest import bearer
from tests.special_drugs.conftest import jpeg, key

A = "/special-drugs/applications"
S = "/staff/special-drugs/applications"
# The demo 特药目录 (app/catalogues/demo_data.py): 恩美曲妥珠单抗, 150,000 yuan a year.
TRASTUZUMAB_EMTANSINE = "XL01XCE210B001010100731"
INDICATION = "HER2阳性晚期乳腺癌"
DTP_PHARMACY = "赣州国大药房(DTP专业药房)"
CAP = 15_000_000
PAYEE = {
    "payee_name": "李娜",
    "payee_bank_name": "工商银行",
    "payee_bank_account": "6222020200112233445",
}


def _spouse_policy(family) -> int:
    return next(p["id"] for p in family["policies"] if p["insured_name_masked"].endswith("娜"))


def _upload(client, token, app_id, doc_type):
    return client.post(
        f"{A}/{app_id}/documents",
        headers=bearer(token),
        data={"doc_type": doc_type, "file": (io.BytesIO(jpeg()), "a.jpg", "image/jpeg")},
        content_type="multipart/form-data",
    )


def approved(client, family, reviewer, drug=TRASTUZUMAB_EMTANSINE, indication=INDICATION):
    token = family["token"]
    resp = client.post(
        A,
        headers=bearer(token),
        json={"policy_id": _spouse_policy(family), "drug_code": drug, "indication": indication},
    )
    assert resp.status_code == 201, resp.get_json()
    app_id = resp.get_json()["id"]
    assert resp.get_json()["missing_documents"] == ["prescription", "pathology"]
    for doc_type in ("prescription", "gene_test"):
        assert _upload(client, token, app_id, doc_type).status_code == 201
    resp = client.post(f"{A}/{app_id}/submit", headers=bearer(token))
    assert resp.status_code == 200 and resp.get_json()["status"] == "pending_review"
    queue = client.get(S, headers=bearer(reviewer)).get_json()
    assert app_id in [a["id"] for a in queue]
    resp = client.post(
        f"{S}/{app_id}/approve",
        headers={**bearer(reviewer), **key()},
        json={"reason": "适应症相符"},
    )
    assert resp.status_code == 200, resp.get_json()
    return app_id, resp.get_json()


def _purchase(
    client,
    token,
    app_id,
    *,
    amount=1_500_000,
    pharmacy=DTP_PHARMACY,
    day="2026-11-23",
    number="FP0001",
):
    return client.post(
        f"{A}/{app_id}/purchases",
        headers={**bearer(token), **key()},
        data={
            "pharmacy": pharmacy,
            "purchased_on": day,
            "quantity": "1",
            "amount_fen": str(amount),
            "invoice_no": number,
            **PAYEE,
            "file": (io.BytesIO(jpeg(90)), "invoice.jpg", "image/jpeg"),
        },
        content_type="multipart/form-data",
    )


def test_an_application_is_approved_and_a_purchase_claimed_against_it(
    client, catalogues, insured_family, reviewer
):
    token = insured_family["token"]
    listing = client.get(
        "/special-drugs/catalogue",
        headers=bearer(token),
        query_string={"policy_id": _spouse_policy(insured_family)},
    ).get_json()
    assert TRASTUZUMAB_EMTANSINE in [d["drug_code"] for d in listing["drugs"]]
    app_id, approval = approved(client, insured_family, reviewer)
    assert approval["status"] == "approved"
    assert (approval["valid_from"], approval["valid_to"]) == ("2026-11-23", "2026-12-31")
    assert DTP_PHARMACY in approval["pharmacies"]
    assert approval["annual_cap_fen"] == CAP

    resp = _purchase(client, token, app_id)
    assert resp.status_code == 201, resp.get_json()
    purchase = resp.get_json()
    assert purchase["counted_fen"] == 1_500_000 and purchase["status"] == "submitted"
    claim = client.get(f"/claims/{purchase['claim_id']}", headers=bearer(token)).get_json()
    assert claim["care_kind"] == "special_drug"
    assert claim["status"] != "draft"
    buckets = {b["bucket"]: b for b in claim["adjudication"]["buckets"]}
    assert buckets["special_drugs"]["counted_fen"] == 1_500_000
    # 70% for a healthy insured, no deductible
    assert buckets["special_drugs"]["payable_fen"] == 1_050_000
    mine = client.get(f"{A}/{app_id}", headers=bearer(token)).get_json()
    assert [p["id"] for p in mine["purchases"]] == [purchase["id"]]


def test_a_purchase_at_a_pharmacy_not_designated_is_not_counted(
    client, catalogues, insured_family, reviewer
):
    app_id, _ = approved(client, insured_family, reviewer)
    resp = _purchase(client, insured_family["token"], app_id, pharmacy="某社区药店")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["counted_fen"] == 0 and body["not_counted_fen"] == 1_500_000
    codes = [r["code"] for r in body["reasons"]]
    # and it is not on the commercial list either, so the out-of-policy bucket does not count it
    assert codes == ["special_drug_pharmacy_not_designated", "commercial_not_listed"]


def test_a_purchase_before_the_approval_is_not_counted(
    client, catalogues, insured_family, reviewer
):
    app_id, _ = approved(client, insured_family, reviewer)
    resp = _purchase(client, insured_family["token"], app_id, day="2026-11-01")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["counted_fen"] == 0
    assert resp.get_json()["reasons"][0]["code"] == "special_drug_not_approved"


def test_the_annual_cap_holds_across_purchases(client, catalogues, insured_family, reviewer):
    token = insured_family["token"]
    app_id, _ = approved(client, insured_family, reviewer)
    first = _purchase(client, token, app_id, amount=6_000_000, number="FP1")
    assert first.status_code == 201 and first.get_json()["counted_fen"] == 6_000_000
    second = _purchase(client, token, app_id, amount=10_000_000, number="FP2")
    assert second.status_code == 201, second.get_json()
    # 150,000 yuan a year: 150,000 - 60,000 already counted = 90,000 of the 100,000 counts
    assert second.get_json()["counted_fen"] == 9_000_000
    assert second.get_json()["reasons"][-1]["code"] == "special_drug_annual_cap"
    with catalogues.app_context():
        [usage] = get_session().scalars(select(SpecialDrugUsage)).all()
        assert (usage.used_fen, usage.cap_fen) == (CAP, CAP)


def test_refusals(client, catalogues, insured_family, reviewer):
    token = insured_family["token"]
    policy_id = _spouse_policy(insured_family)
    body = {"policy_id": policy_id, "drug_code": TRASTUZUMAB_EMTANSINE, "indication": "肺癌"}
    resp = client.post(A, headers=bearer(token), json=body)
    assert resp.get_json()["code"] == "special_drug_indication_not_listed"
    resp = client.post(
        A, headers=bearer(token), json={**body, "drug_code": "XA00000000000000000000"}
    )
    assert resp.get_json()["code"] == "special_drug_not_listed"
    resp = client.post(A, headers=bearer(token), json={**body, "indication": INDICATION})
    app_id = resp.get_json()["id"]
    # a draft is the member's own business: staff do not see it
    hidden = client.get(f"{S}/{app_id}", headers=bearer(reviewer))
    assert hidden.status_code == 404
    assert hidden.get_json()["code"] == "special_drug_application_not_found"
    again = client.post(A, headers=bearer(token), json={**body, "indication": INDICATION})
    assert (
        again.status_code == 409 and again.get_json()["code"] == "special_drug_application_exists"
    )
    resp = client.post(f"{A}/{app_id}/submit", headers=bearer(token))
    assert resp.status_code == 422 and resp.get_json()["code"] == "special_drug_proof_missing"
    resp = _purchase(client, token, app_id)
    assert resp.status_code == 409 and resp.get_json()["code"] == "special_drug_not_approved"
    _upload(client, token, app_id, "prescription")
    _upload(client, token, app_id, "pathology")
    client.post(f"{A}/{app_id}/submit", headers=bearer(token))
    resp = client.post(
        f"{S}/{app_id}/reject",
        headers=bearer(reviewer),
        json={"reason_code": "indication_not_met", "reason": "病理报告未显示HER2阳性"},
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "rejected"
    resp = client.post(f"{S}/{app_id}/approve", headers={**bearer(reviewer), **key()}, json={})
    assert resp.status_code == 409
    # rejected is not live: a new application may be made
    assert (
        client.post(A, headers=bearer(token), json={**body, "indication": INDICATION}).status_code
        == 201
    )


def _approve_claim(client, reviewer, claim_id):
    assert (
        client.post(
            f"/staff/claims/{claim_id}/assign", headers=bearer(reviewer), json={}
        ).status_code
        == 200
    )
    resp = client.post(
        f"/staff/claims/{claim_id}/approve",
        headers={**bearer(reviewer), **key()},
        json={"reason": "特药购药"},
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_two_purchases_on_one_day_at_one_pharmacy_are_each_paid(
    client, catalogues, insured_family, reviewer
):
    # Two invoices of the same DTP pharmacy on the same day are two purchases, not one stay:
    # the second is not a "supplement" of the first (which paid it 0 = 35,000 - 70,000).
    token = insured_family["token"]
    app_id, _ = approved(client, insured_family, reviewer)
    first = _purchase(client, token, app_id, amount=10_000_000, number="FP1").get_json()
    second = _purchase(client, token, app_id, amount=8_000_000, number="FP2").get_json()
    # cap 150,000: 100,000 counted, then 50,000 of 80,000
    assert (first["counted_fen"], second["counted_fen"]) == (10_000_000, 5_000_000)
    one = _approve_claim(client, reviewer, first["claim_id"])
    two = _approve_claim(client, reviewer, second["claim_id"])
    assert "same_episode" not in [f["code"] for f in two["flags"]]
    # 100,000 x 70% = 70,000; 50,000 x 70% = 35,000 (the 30,000 above the cap: nothing)
    assert (one["approved_fen"], two["approved_fen"]) == (7_000_000, 3_500_000)
    assert two["status"] == "paid"


def test_an_application_under_review_blocks_closing_the_account(
    client, catalogues, insured_family, reviewer
):
    """An application submitted for review (prescription, gene test: health data) is still to be
    worked by a reviewer after the cover ends: the account cannot be closed under it."""
    import time_machine

    from tests import factories

    token = insured_family["token"]
    resp = client.post(
        A,
        headers=bearer(token),
        json={
            "policy_id": _spouse_policy(insured_family),
            "drug_code": TRASTUZUMAB_EMTANSINE,
            "indication": INDICATION,
        },
    )
    assert resp.status_code == 201, resp.get_json()
    app_id = resp.get_json()["id"]
    for doc_type in ("prescription", "gene_test"):
        assert _upload(client, token, app_id, doc_type).status_code == 201
    assert client.post(f"{A}/{app_id}/submit", headers=bearer(token)).status_code == 200
    with time_machine.travel("2027-01-15T02:00:00+00:00", tick=True):  # the 2026 cover ended
        token = factories.login(catalogues, "claims-zhang")["access_token"]
        preview = client.get("/me/closure", headers=bearer(token)).get_json()
        assert preview["can_close"] is False, preview
        assert [b["code"] for b in preview["blockers"]] == ["special_drug_in_review"]
        resp = client.post("/me/closure", headers=bearer(token), json={"confirm": True})
        assert resp.status_code == 409, resp.get_json()
        assert resp.get_json()["code"] == "account_closure_blocked"
        reviewer = factories.staff_token(catalogues, "demo-reviewer")
        queue = client.get(S, headers=bearer(reviewer)).get_json()
        assert app_id in [a["id"] for a in queue]
