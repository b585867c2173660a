"""Claims pay what the terms promise, through HTTP on the sandbox with the demo product: every
bucket reachable (a proton/heavy-ion claim estimated and paid, by typed amounts and from a
settlement record), and unknown amount kinds refused."""

from __future__ import annotations

from sqlalchemy import select

from tests.claims.conftest import key
from tests.claims.test_flow import PAYEE, one_tap, policy_of, records, upload
from tests.conftest import bearer

Y = 100  # fen per yuan


def _estimate(client, family, **body):
    return client.post(
        "/claims/estimate",
        headers=bearer(family["token"]),
        json={
            "policy_id": policy_of(family, "张伟")["id"],
            "care_kind": "in_patient",
            "care_date": "2026-06-01",
            **body,
        },
    )


def test_a_proton_claim_is_estimated(client, insured_family):
    # total 30,000 = basic 10,000 + proton 20,000; proton: no deductible, 70% -> 14,000
    resp = _estimate(
        client,
        insured_family,
        medfee_sumamt_fen=30_000 * Y,
        hifp_pay_fen=10_000 * Y,
        amounts={"proton_heavy_ion": 20_000 * Y},
    )
    assert resp.status_code == 200, resp.get_json()
    result = resp.get_json()
    assert result["payable_fen"] == 14_000 * Y
    assert [(b["bucket"], b["payable_fen"]) for b in result["buckets"]] == [
        ("proton_heavy_ion", 14_000 * Y)
    ]


def test_amounts_by_kind_and_the_fixed_fields_agree(client, insured_family):
    # the same in-policy money as a fixed field or as an `amounts` entry estimates the same
    fixed = _estimate(
        client,
        insured_family,
        medfee_sumamt_fen=40_000 * Y,
        hifp_pay_fen=10_000 * Y,
        in_policy_self_pay_fen=30_000 * Y,
    )
    by_kind = _estimate(
        client,
        insured_family,
        medfee_sumamt_fen=40_000 * Y,
        hifp_pay_fen=10_000 * Y,
        amounts={"in_policy_self_pay": 30_000 * Y},
    )
    assert fixed.status_code == by_kind.status_code == 200
    # (30,000 - deductible 15,000) x 75% = 11,250
    assert fixed.get_json()["payable_fen"] == by_kind.get_json()["payable_fen"] == 11_250 * Y


def test_an_unknown_amount_kind_is_a_422(client, insured_family):
    resp = _estimate(
        client, insured_family, medfee_sumamt_fen=10_000 * Y, amounts={"car_t": 10_000 * Y}
    )
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["code"] == "claim_amount_kind_unknown"
    assert "car_t" in body["detail"] and "proton_heavy_ion" in body["detail"]
    assert "car_t" in body["errors"]["json"]["amounts"]
    draft = client.post(
        "/claims",
        headers=bearer(insured_family["token"]),
        json={
            "policy_id": policy_of(insured_family, "张伟")["id"],
            "amounts": {"overseas_drugs": 100},
        },
    )
    assert draft.status_code == 422 and draft.get_json()["code"] == "claim_amount_kind_unknown"


def test_a_photographed_proton_claim_is_paid(app, client, insured_family, reviewer):
    token = insured_family["token"]
    resp = client.post(
        "/claims",
        headers=bearer(token),
        json={
            "policy_id": policy_of(insured_family, "张伟")["id"],
            "care_kind": "in_patient",
            "hospital_name": "上海市质子重离子医院",
            "admitted_on": "2026-05-06",
            "discharged_on": "2026-06-10",
            "diagnosis": "前列腺癌",
            "patient_name": "张伟",
            # total 250,000 = basic 50,000 + proton 200,000
            "medfee_sumamt_fen": 250_000 * Y,
            "hifp_pay_fen": 50_000 * Y,
            "amounts": {"proton_heavy_ion": 200_000 * Y},
            "payee": PAYEE,
            "invoices": [
                {"issuer": "上海市质子重离子医院", "number": "31000026000777", "amount_fen": 1}
            ],
        },
    )
    assert resp.status_code == 201, resp.get_json()
    draft = resp.get_json()
    assert draft["amounts"]["proton_heavy_ion"] == 200_000 * Y
    for doc_type in ("invoice", "settlement_sheet", "discharge_summary"):
        assert upload(client, token, draft["id"], doc_type).status_code == 201
    submitted = client.post(f"/claims/{draft['id']}/submit", headers={**bearer(token), **key()})
    assert submitted.status_code == 200, submitted.get_json()
    claim = submitted.get_json()
    # 200,000 x 70% = 140,000 (no deductible; cap 1,000,000)
    assert claim["adjudication"]["payable_fen"] == 140_000 * Y
    staff = bearer(reviewer)
    assert client.post(f"/staff/claims/{claim['id']}/assign", headers=staff, json={}).status_code
    approved = client.post(
        f"/staff/claims/{claim['id']}/approve",
        headers={**staff, **key()},
        json={"reason": "质子治疗费用核对无误"},
    )
    assert approved.status_code == 200, approved.get_json()
    final = client.get(f"/claims/{claim['id']}", headers=bearer(token)).get_json()
    assert final["status"] == "paid" and final["paid_fen"] == 140_000 * Y


def test_a_proton_centres_settlement_record_is_paid_by_the_proton_bucket(
    app, client, insured_family
):
    """A settlement record from the provider the demo product names in [settlement_providers]
    carries its out-of-policy self-pay as proton_heavy_ion."""
    claimable = [r for r in records(client, insured_family, "张伟") if r["claimable"]]
    with app.app_context():
        from app.database import transaction
        from app.integrations.bureau.sandbox_models import SandboxSettlement

        with transaction() as s:
            row = s.scalar(
                select(SandboxSettlement).where(
                    SandboxSettlement.setl_id == claimable[0]["setl_id"]
                )
            )
            copy = {
                c.name: getattr(row, c.name)
                for c in SandboxSettlement.__table__.columns
                if c.name not in ("id", "created_at")
            }
            own_pay = copy["fulamt_ownpay_amt_fen"] + copy["overlmt_selfpay_fen"]
            copy.update(
                setl_id="PROTON0001",
                mdtrt_id="PROTONMD0001",
                fixmedins_code="H31011500099",
                fixmedins_name="上海市质子重离子医院",
                med_type="23",  # 转外诊治住院
            )
            s.add(SandboxSettlement(**copy))
    assert own_pay > 0
    resp = one_tap(client, insured_family, "张伟", "PROTON0001")
    assert resp.status_code == 201, resp.get_json()
    claim = resp.get_json()
    assert claim["amounts"]["proton_heavy_ion"] == own_pay
    assert claim["out_of_policy_self_pay_fen"] == 0
    proton = [b for b in claim["adjudication"]["buckets"] if b["bucket"] == "proton_heavy_ion"]
    # no deductible, 70%, rounded half up to the fen
    assert proton[0]["counted_fen"] == own_pay
    assert proton[0]["payable_fen"] == (own_pay * 7000 + 5000) // 10000


def test_photographed_parts_that_do_not_add_up_are_a_422(client, insured_family):
    """The in-policy self-pay typed AFTER medical assistance (20,000 - 5,000 = 15,000 instead of
    20,000): basic 10,000 + 15,000 = 25,000 != total 30,000 -> 422, naming the field to fix."""
    token = insured_family["token"]
    resp = client.post(
        "/claims",
        headers=bearer(token),
        json={
            "policy_id": policy_of(insured_family, "张伟")["id"],
            "care_kind": "in_patient",
            "hospital_name": "赣州市人民医院",
            "admitted_on": "2026-05-06",
            "discharged_on": "2026-05-10",
            "diagnosis": "肺炎",
            "patient_name": "张伟",
            "medfee_sumamt_fen": 30_000 * Y,
            "hifp_pay_fen": 10_000 * Y,
            "maf_pay_fen": 5_000 * Y,
            "in_policy_self_pay_fen": 15_000 * Y,
            "payee": PAYEE,
            "invoices": [{"issuer": "赣州市人民医院", "number": "36000026009999", "amount_fen": 1}],
        },
    )
    assert resp.status_code == 201, resp.get_json()
    claim_id = resp.get_json()["id"]
    for doc_type in ("invoice", "settlement_sheet", "discharge_summary"):
        assert upload(client, token, claim_id, doc_type).status_code == 201
    sent = client.post(f"/claims/{claim_id}/submit", headers={**bearer(token), **key()})
    assert sent.status_code == 422
    body = sent.get_json()
    assert body["code"] == "claim_amounts_do_not_add_up"
    assert "5000.00" in body["detail"] and "医疗救助支付之前" in body["detail"]
    fixed = client.patch(
        f"/claims/{claim_id}", headers=bearer(token), json={"in_policy_self_pay_fen": 20_000 * Y}
    )
    assert fixed.status_code == 200
    sent = client.post(f"/claims/{claim_id}/submit", headers={**bearer(token), **key()})
    assert sent.status_code == 200, sent.get_json()
    # (20,000 - assistance 5,000 = 15,000) - shared deductible 15,000 = 0 payable
    assert sent.get_json()["adjudication"]["payable_fen"] == 0
