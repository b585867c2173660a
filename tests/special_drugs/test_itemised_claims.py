"""A special drug on an itemised claim counts under the insured's approval (事前审核) and within
the drug's annual cap shared with purchases: the claim holds its part of the cap once it is
approved and gives it back when the approval is undone (here: the bank refuses the payout). A
supplement (a later claim stating the whole stay) holds only what the stay adds.

李娜 is approved for 恩美曲妥珠单抗 (HER2阳性晚期乳腺癌) from 2026-11-23; the demo 特药目录 caps it at
150,000 yuan a year, at 赣州市人民医院 among other designated places. Her in-patient stay of
2026-11-23 at 赣州市人民医院 bills (fen):
  the drug, 丙类                     DRUG_FEN            (own-pay, the special-drug bucket)
  a bed and nursing line, 甲类        2,000,000          (in policy)
The special-drug bucket pays 70% with no deductible (app/products/definitions/ganzhou-demo-2026).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.database import get_session
from app.special_drugs.models import SpecialDrugClaimHold, SpecialDrugUsage
from tests.claims.test_flow import upload
from tests.claims.test_photographed_lines import _bucket
from tests.conftest import bearer
from tests.special_drugs.conftest import at_once, key
from tests.special_drugs.test_flow import (
    CAP,
    PAYEE,
    TRASTUZUMAB_EMTANSINE,
    _approve_claim,
    _purchase,
    _spouse_policy,
    approved,
)

IN_POLICY_FEN = 2_000_000
GOOD_ACCOUNT = PAYEE["payee_bank_account"]
HOSPITAL = "赣州市人民医院"


def _claim(client, family, drug_fen, *, account=GOOD_ACCOUNT, number="ZY0001"):
    """李娜's photographed in-patient claim with its itemised list, submitted."""
    token = family["token"]
    body = {
        "policy_id": _spouse_policy(family),
        "care_kind": "in_patient",
        "hospital_name": HOSPITAL,
        "admitted_on": "2026-11-23",
        "discharged_on": "2026-11-23",
        "diagnosis": "HER2阳性晚期乳腺癌",
        "patient_name": "李娜",
        "medfee_sumamt_fen": drug_fen + IN_POLICY_FEN,
        "hifp_pay_fen": 1_400_000,
        "in_policy_self_pay_fen": 600_000,
        "out_of_policy_self_pay_fen": drug_fen,
        "payee": {"name": "李娜", "bank_name": "工商银行", "bank_account": account},
        "invoices": [
            {"issuer": HOSPITAL, "number": number, "amount_fen": drug_fen + IN_POLICY_FEN}
        ],
    }
    resp = client.post("/claims", headers=bearer(token), json=body)
    assert resp.status_code == 201, resp.get_json()
    claim_id = resp.get_json()["id"]
    lines = [
        {
            "med_list_codg": TRASTUZUMAB_EMTANSINE,
            "name": "注射用恩美曲妥珠单抗(100mg)",
            "chrgitm_lv": "03",
            "det_item_fee_sumamt_fen": drug_fen,
        },
        {
            "med_list_codg": "001102000010000",
            "name": "床位护理",
            "chrgitm_lv": "01",
            "det_item_fee_sumamt_fen": IN_POLICY_FEN,
        },
    ]
    put = client.put(f"/claims/{claim_id}/lines", headers=bearer(token), json={"lines": lines})
    assert put.status_code == 200, put.get_json()
    for doc_type in ("invoice", "settlement_sheet", "discharge_summary"):
        assert upload(client, token, claim_id, doc_type).status_code == 201
    resp = client.post(f"/claims/{claim_id}/submit", headers={**bearer(token), **key()})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _drug_line(claim):
    return next(l for l in claim["fee_lines"] if l["med_list_codg"] == TRASTUZUMAB_EMTANSINE)


def _cap(app) -> tuple[int, list[tuple[int, int]]]:
    """The drug's cap use, and each claim's hold (claim id, fen)."""
    with app.app_context():
        s = get_session()
        usage = s.scalar(select(SpecialDrugUsage))
        holds = s.execute(
            select(SpecialDrugClaimHold.claim_id, SpecialDrugClaimHold.amount_fen).order_by(
                SpecialDrugClaimHold.id
            )
        ).all()
        return (usage.used_fen if usage else 0), [tuple(h) for h in holds]


def test_an_approved_drug_on_a_hospital_bill_counts_under_the_approval(
    app, client, catalogues, insured_family, reviewer
):
    _, approval = approved(client, insured_family, reviewer)
    claim = _claim(client, insured_family, 1_500_000)
    line = _drug_line(claim)
    assert line["amount_kind"] == "special_drugs"
    assert (line["on_list_fen"], line["off_list_fen"]) == (1_500_000, 0)
    assert line["reason_codes"] == ["special_drug_listed"]
    assert claim["special_drugs_fen"] == 1_500_000 and claim["out_of_policy_self_pay_fen"] == 0
    # the explanation names the approval the line counted under
    named = next(l for l in claim["adjudication"]["lines"] if TRASTUZUMAB_EMTANSINE in l["en"])
    assert named["code"] == "fee_line_counted" and named["bucket"] == "special_drugs"
    assert f"事前审核 {approval['application_no']}" in named["zh"]
    assert "15,000.00 元计入“特定高额药品费用”" in named["zh"]
    # a photographed claim waits for a reviewer: nothing of the cap is held yet
    assert claim["status"] == "pending_review"
    assert _cap(app) == (0, [])

    paid = _approve_claim(client, reviewer, claim["id"])
    # 15,000 yuan x 70% = 10,500 yuan (no deductible); the in-policy part is under the deductible
    assert _bucket(paid["adjudication"], "special_drugs")["payable_fen"] == 1_050_000
    assert paid["approved_fen"] == 1_050_000
    assert _cap(app) == (1_500_000, [(claim["id"], 1_500_000)])


def test_without_an_approval_the_drug_is_out_of_policy_self_pay(
    app, client, catalogues, insured_family, reviewer
):
    claim = _claim(client, insured_family, 1_500_000)
    line = _drug_line(claim)
    assert line["amount_kind"] == "out_of_policy_self_pay"
    assert line["reason_codes"][0] == "special_drug_not_approved"
    assert claim["special_drugs_fen"] == 0
    _approve_claim(client, reviewer, claim["id"])
    assert _cap(app) == (0, [])


def test_the_annual_cap_holds_across_purchases_and_claims(
    app, client, catalogues, insured_family, reviewer
):
    token = insured_family["token"]
    app_id, _ = approved(client, insured_family, reviewer)
    bought = _purchase(client, token, app_id, amount=10_000_000, number="FP1").get_json()
    assert bought["counted_fen"] == 10_000_000
    # 150,000 yuan a year - 100,000 bought = 50,000 yuan left of the bill's 80,000
    claim = _claim(client, insured_family, 8_000_000)
    line = _drug_line(claim)
    assert (line["on_list_fen"], line["off_list_fen"]) == (5_000_000, 3_000_000)
    assert line["reason_codes"] == ["special_drug_listed", "special_drug_annual_cap"]
    assert claim["special_drugs_fen"] == 5_000_000
    named = next(l for l in claim["adjudication"]["lines"] if TRASTUZUMAB_EMTANSINE in l["en"])
    assert named["code"] == "fee_line_partly_counted"
    assert "年度剩余额度 50,000.00 元，30,000.00 元不计入" in named["zh"]

    paid = _approve_claim(client, reviewer, claim["id"])
    assert _bucket(paid["adjudication"], "special_drugs")["counted_fen"] == 5_000_000
    assert _cap(app) == (CAP, [(claim["id"], 5_000_000)])
    # the cap is used up: a later purchase counts nothing of it
    late = _purchase(client, token, app_id, amount=1_000_000, number="FP2").get_json()
    assert late["counted_fen"] == 0
    assert late["reasons"][-1]["code"] == "special_drug_annual_cap"


def test_a_refused_payout_gives_the_cap_back_and_a_new_approval_takes_it_again(
    app, client, catalogues, insured_family, reviewer
):
    approved(client, insured_family, reviewer)
    claim = _claim(client, insured_family, 1_500_000, account="6222020200112230000")
    client.post(f"/staff/claims/{claim['id']}/assign", headers=bearer(reviewer), json={})
    resp = client.post(
        f"/staff/claims/{claim['id']}/approve",
        headers={**bearer(reviewer), **key()},
        json={"reason": "票据齐全"},
    )
    # ...0000: the sandbox bank refuses the account; the claim goes back to review
    assert resp.status_code == 200 and resp.get_json()["status"] == "pending_review"
    assert _cap(app) == (0, [])
    fixed = client.post(
        f"/staff/claims/{claim['id']}/payee",
        headers={**bearer(reviewer), **key()},
        json={"payee": {"name": "李娜", "bank_name": "工商银行", "bank_account": GOOD_ACCOUNT}},
    )
    assert fixed.status_code == 200, fixed.get_json()
    # approved again on a corrected account: the cap is held again
    again = _approve_claim(client, reviewer, claim["id"])
    assert again["status"] == "paid"
    assert _cap(app) == (1_500_000, [(claim["id"], 1_500_000)])


def test_an_estimate_counts_the_approved_drug_within_what_is_left_of_its_cap(
    app, client, catalogues, insured_family, reviewer
):
    from app.catalogues.matching import FeeLine
    from app.claims.estimate import quote
    from app.policies.models import Policy

    token = insured_family["token"]
    app_id, _ = approved(client, insured_family, reviewer)
    _purchase(client, token, app_id, amount=10_000_000, number="FP1")
    drug = FeeLine(
        feedetl_sn="1",
        med_list_codg=TRASTUZUMAB_EMTANSINE,
        chrgitm_lv="03",
        det_item_fee_sumamt_fen=8_000_000,
        fulamt_ownpay_amt_fen=8_000_000,
    )
    with app.app_context():
        s = get_session()
        policy = s.get(Policy, _spouse_policy(insured_family))
        result = quote(
            s,
            policy,
            {"medfee_sumamt_fen": 8_000_000},
            "in_patient",
            date(2026, 11, 23),
            "healthy",
            ([drug], (HOSPITAL,)),
        )
        used = s.scalar(select(SpecialDrugUsage.used_fen))
    # 150,000 - 100,000 bought = 50,000 yuan counted, x 70% = 35,000 yuan; nothing is held
    special = next(b for b in result.buckets if b.bucket == "special_drugs")
    assert (special.counted_fen, special.payable_fen) == (5_000_000, 3_500_000)
    assert used == 10_000_000


def test_the_counter_holds_the_cap_and_its_cancel_gives_it_back(
    app, client, catalogues, insured_family, reviewer, monkeypatch
):
    """李娜's day surgery of 2026-04-08 at 赣州市人民医院, settled at the counter, where the
    bureau's fee detail bills the approved drug for 320 yuan (the sandbox's 医用透明质酸钠凝胶 line
    renamed): counted under the approval, 320 x 70% = 224 yuan, held until the cancel."""
    from dataclasses import replace

    from app.catalogues.demo_data import OPHTHALMIC_VISCOELASTIC
    from app.direct_settlement.ledger import register_sandbox_hospital
    from app.direct_settlement.sandbox_hospital import SandboxHospital
    from app.integrations.bureau.sandbox import SandboxBureau
    from app.integrations.registry import signer
    from app.integrations.signer import sandbox_keys as k
    from app.special_drugs.models import SpecialDrugApplication
    from tests.direct_settlement.conftest import _send, stay_of

    real = SandboxBureau.fee_details

    def with_the_drug(self, psn_no, setl_id, *, settlement=None):
        lines = real(self, psn_no, setl_id, settlement=settlement)
        return lines and [
            replace(l, med_list_codg=TRASTUZUMAB_EMTANSINE)
            if l.med_list_codg == OPHTHALMIC_VISCOELASTIC
            else l
            for l in lines
        ]

    monkeypatch.setattr(SandboxBureau, "fee_details", with_the_drug)
    app_id, _ = approved(client, insured_family, reviewer)
    with app.app_context():  # an approval given in the spring (the period is the approval's data)
        s = get_session()
        s.get(SpecialDrugApplication, app_id).valid_from = date(2026, 4, 1)
        s.commit()
    stay = stay_of(app, client, insured_family, "李娜")
    assert stay["setlinfo"]["begndate"] == "2026-04-08"
    code = stay["setlinfo"]["fixmedins_code"]
    with app.app_context():
        register_sandbox_hospital(code, HOSPITAL)
        hospital = SandboxHospital(
            signer(), k.sandbox_key_id(code), k.SANDBOX_PRIVATE_KEY, _send(client)
        )
    status, trial = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200, trial
    (named,) = [l for l in trial["explanation"] if "事前审核" in l["zh"]]
    assert "320.00 元计入“特定高额药品费用”" in named["zh"]
    assert _cap(app) == (0, [])  # a trial holds nothing
    status, done = hospital.confirm(trial["trial_no"], "SN-SD-1")
    assert status == 200, done
    used, [(_, held)] = _cap(app)
    assert used == held == 32_000
    status, cancelled = hospital.cancel("SN-SD-1")
    assert status == 200 and cancelled["status"] == "cancelled", cancelled
    assert _cap(app) == (0, [])


def test_a_supplement_holds_only_what_the_stay_adds(
    app, client, catalogues, insured_family, reviewer
):
    """The stay's first claim bills the drug for 15,000 yuan and holds it. A supplement for the
    same stay states the whole stay, the drug now 20,000 yuan: it holds 20,000 - 15,000 = 5,000.
    Its payout refused, it gives back its 5,000 only; approved again, it takes them again."""
    approved(client, insured_family, reviewer)
    first = _claim(client, insured_family, 1_500_000, number="ZY0001")
    _approve_claim(client, reviewer, first["id"])
    assert _cap(app) == (1_500_000, [(first["id"], 1_500_000)])
    supplement = _claim(
        client, insured_family, 2_000_000, number="ZY0002", account="6222020200112230000"
    )
    staff = bearer(reviewer)
    client.post(f"/staff/claims/{supplement['id']}/assign", headers=staff, json={})
    refused = client.post(
        f"/staff/claims/{supplement['id']}/approve",
        headers={**staff, **key()},
        json={"reason": "补充费用"},
    )
    assert refused.status_code == 200 and refused.get_json()["status"] == "pending_review"
    assert _cap(app) == (1_500_000, [(first["id"], 1_500_000)])
    fixed = client.post(
        f"/staff/claims/{supplement['id']}/payee",
        headers={**staff, **key()},
        json={"payee": {"name": "李娜", "bank_name": "工商银行", "bank_account": GOOD_ACCOUNT}},
    )
    assert fixed.status_code == 200, fixed.get_json()
    paid = _approve_claim(client, reviewer, supplement["id"])
    assert paid["adjudication"]["episode"]["supplement_of"] == [first["claim_no"]]
    # the whole stay's drug counts 20,000 (x 70% = 14,000); 10,500 paid before: 3,500 now
    assert paid["approved_fen"] == 350_000
    assert _cap(app) == (2_000_000, [(first["id"], 1_500_000), (supplement["id"], 500_000)])


def _approve_and_buy(app, reviewer, claim_id, token, app_id, amount) -> dict:
    """The reviewer approves the claim while the member claims a purchase, at once."""

    def approve(c):
        return c.post(
            f"/staff/claims/{claim_id}/approve",
            headers={**bearer(reviewer), **key()},
            json={"reason": "票据齐全"},
        ).get_json()

    def buy(c):
        return _purchase(c, token, app_id, amount=amount).get_json()

    return at_once(app, claim=approve, purchase=buy)


@pytest.mark.postgres
def test_a_claim_and_a_purchase_at_once_never_pass_the_cap(
    app, client, catalogues, insured_family, reviewer
):
    """The reviewer approves the 80,000 yuan bill while the member claims a 100,000 yuan
    purchase: whichever takes the cap first, the other re-reads it, so the two count 150,000
    yuan together, as one serial order would (bill first: 80,000 + 70,000; purchase first:
    100,000 + 50,000), never more."""
    token = insured_family["token"]
    app_id, _ = approved(client, insured_family, reviewer)
    claim = _claim(client, insured_family, 8_000_000)
    assert (
        client.post(
            f"/staff/claims/{claim['id']}/assign", headers=bearer(reviewer), json={}
        ).status_code
        == 200
    )
    answers = _approve_and_buy(app, reviewer, claim["id"], token, app_id, 10_000_000)
    bought = answers["purchase"]["counted_fen"]
    used, [(_, held)] = _cap(app)
    assert answers["claim"]["status"] == "paid", answers["claim"]
    assert (held, bought) in ((8_000_000, 7_000_000), (5_000_000, 10_000_000))
    assert used == held + bought == CAP


@pytest.mark.postgres
def test_a_supplement_and_a_purchase_at_once_count_the_stay_once(
    app, client, catalogues, insured_family, reviewer
):
    """The stay's first claim holds 15,000 yuan; the reviewer approves its supplement (the drug
    now 20,000) while the member claims a 140,000 yuan purchase. Supplement first: it holds
    5,000, the purchase counts 150,000 - 20,000 = 130,000. Purchase first: it counts 150,000 -
    15,000 = 135,000, the stay's drug finds 15,000 of room, all held by the first claim, so the
    supplement holds nothing. Never more than the cap, the stay never counted twice."""
    token = insured_family["token"]
    app_id, _ = approved(client, insured_family, reviewer)
    first = _claim(client, insured_family, 1_500_000, number="ZY0001")
    _approve_claim(client, reviewer, first["id"])
    supplement = _claim(client, insured_family, 2_000_000, number="ZY0002")
    staff = bearer(reviewer)
    assert client.post(
        f"/staff/claims/{supplement['id']}/assign", headers=staff, json={}
    ).status_code
    answers = _approve_and_buy(app, reviewer, supplement["id"], token, app_id, 14_000_000)
    assert answers["claim"]["status"] in ("paid", "closed"), answers["claim"]
    bought = answers["purchase"]["counted_fen"]
    used, holds = _cap(app)
    held = dict(holds).get(supplement["id"], 0)
    assert dict(holds)[first["id"]] == 1_500_000
    assert (held, bought) in ((500_000, 13_000_000), (0, 13_500_000))
    assert used == 1_500_000 + held + bought == CAP
