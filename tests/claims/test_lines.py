"""Itemised claims: a one-tap claim fetches the settlement's 5204 fee lines, matches them against
the demo product's catalogues in force on the date of care, and pays the out-of-policy bucket
(商保目录) and the special-drug bucket (特药目录) from the lines; the explanation names them.

Figures by hand (app/integrations/bureau/sandbox_demo_data.py, app/catalogues/demo_data.py):

张伟's stay of 2026-05-06..20 (re-settled) bills two hand-set 丙类 lines:
  依达拉奉右莰醇 30 vials at 360 yuan = 10,800 yuan; the list allows 28 at up to 380 yuan:
      on the list 10,800 x 28/30 = 10,080 yuan, 720 yuan off (quantity limit)
  人血白蛋白 1 bottle at 500 yuan; the list allows 450 a bottle: 450 on, 50 off (price limit)
张建国's special-drug visit of 2026-06-18 (med_type 9910, 赣南医科大学第一附属医院) bills
  甲磺酸奥希替尼片 2 boxes at 16,000 yuan = 32,000 yuan, wholly self-paid: a listed special drug
  without pre-authorisation, dispensed at a designated place -> special_drugs 32,000 yuan;
  the bucket has no deductible, 70% for the healthy: 22,400 yuan = 2,240,000 fen.
"""

from __future__ import annotations

import time_machine

from app.catalogues import demo_data
from tests.claims.conftest import ENROLLED_AT, key
from tests.conftest import add_relative, bearer, login, verify
from tests.enrollment.conftest import NOW, order_body

PAYEE = {"name": "张伟", "bank_name": "工商银行", "bank_account": "6222020200112233445"}


def _records(client, token, policy_id):
    resp = client.get(f"/policies/{policy_id}/settlement-records", headers=bearer(token))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _one_tap(client, token, policy_id, setl_id, payee=PAYEE):
    return client.post(
        "/claims/from-settlement",
        headers={**bearer(token), **key()},
        json={"policy_id": policy_id, "setl_id": setl_id, "payee": payee},
    )


def _bucket(adj, code):
    return next(b for b in adj["buckets"] if b["bucket"] == code)


def test_one_tap_claim_pays_the_commercial_list_part_line_by_line(client, insured_family):
    token, mine = insured_family["token"], insured_family["by_name"]["*伟"]
    may = next(
        r
        for r in _records(client, token, mine["id"])
        if r["admitted_on"] == "2026-05-06" and r["claimable"]
    )
    estimate = client.post(
        "/claims/estimate",
        headers=bearer(token),
        json={"policy_id": mine["id"], "setl_id": may["setl_id"]},
    ).get_json()
    resp = _one_tap(client, token, mine["id"], may["setl_id"])
    assert resp.status_code == 201, resp.get_json()
    claim = resp.get_json()
    lines = {l["med_list_codg"]: l for l in claim["fee_lines"]}
    edaravone = lines[demo_data.EDARAVONE_DEXBORNEOL]
    assert (edaravone["on_list_fen"], edaravone["off_list_fen"]) == (1_008_000, 72_000)
    assert edaravone["reason_codes"] == ["commercial_quantity_limit", "commercial_listed"]
    albumin = lines[demo_data.ALBUMIN]
    assert (albumin["on_list_fen"], albumin["off_list_fen"]) == (45_000, 5_000)
    assert "commercial_price_limit" in albumin["reason_codes"]
    assert all(l["source"] == "bureau" for l in claim["fee_lines"])

    adj = claim["adjudication"]
    out = _bucket(adj, "out_of_policy")
    listed = sum(
        l["on_list_fen"] for l in claim["fee_lines"] if l["amount_kind"] == "out_of_policy_self_pay"
    )
    assert listed >= 1_053_000 and out["counted_fen"] == listed
    assert out["payable_fen"] > 0  # the bucket pays, where it paid 0 without lines
    assert "commercial_list_unverifiable" not in {l["code"] for l in adj["lines"]}
    named = [l for l in adj["lines"] if l["code"].startswith("fee_line")]
    line = next(l for l in named if demo_data.EDARAVONE_DEXBORNEOL in l["en"])
    assert line["code"] == "fee_line_partly_counted" and line["bucket"] == "out_of_policy"
    assert "依达拉奉右莰醇" in line["zh"] and "10,080.00 元计入" in line["zh"]
    assert "限量" in line["zh"] and "quantity limit" in line["en"]
    assert adj["lines"][-1]["code"] == "payable_total"
    # the estimate from the same record matched the same lines
    assert estimate["payable_fen"] == adj["payable_fen"]
    assert _bucket(estimate, "out_of_policy")["counted_fen"] == listed


def _enroll_father(client, residents):
    """张伟 enrolls his father 张建国 (and himself) last December, through the ordinary services."""
    with time_machine.travel(ENROLLED_AT, tick=True):
        token = login(client, "lines-zhang")["access_token"]
        assert verify(client, token, residents["张伟"]).status_code == 200
        father = add_relative(client, token, residents["张建国"], "parent").get_json()["id"]
        order = client.post(
            "/orders", headers={**bearer(token), **key()}, json=order_body(client, [father])
        )
        assert order.status_code == 201, order.get_json()
        paid = client.post(
            f"/orders/{order.get_json()['id']}/payments",
            headers={**bearer(token), **key()},
            json={"method": "personal_account"},
        )
        assert paid.status_code == 200, paid.get_json()


def test_a_special_drug_line_pays_the_special_drug_bucket(client, catalogued, residents):
    _enroll_father(client, residents)
    with time_machine.travel(NOW, tick=True):
        token = login(client, "lines-zhang")["access_token"]
        policies = client.get("/policies", headers=bearer(token)).get_json()
        assert isinstance(policies, list), policies
        father = next(p for p in policies if p["insured_name_masked"] == "**国")
        visit = next(
            r
            for r in _records(client, token, father["id"])
            if r["care_kind"] == "special_drug" and r["admitted_on"] == "2026-06-18"
        )
        payee = {**PAYEE, "name": "张建国"}
        resp = _one_tap(client, token, father["id"], visit["setl_id"], payee)
        assert resp.status_code == 201, resp.get_json()
        claim = resp.get_json()
    drug = next(l for l in claim["fee_lines"] if l["med_list_codg"] == demo_data.OSIMERTINIB)
    assert drug["amount_kind"] == "special_drugs" and drug["on_list_fen"] == 3_200_000
    assert drug["reason_codes"] == ["special_drug_listed"]
    assert claim["special_drugs_fen"] == 3_200_000
    adj = claim["adjudication"]
    special = _bucket(adj, "special_drugs")
    assert special["counted_fen"] == 3_200_000 and special["payable_fen"] == 2_240_000
    line = next(l for l in adj["lines"] if l["code"] == "fee_line_counted")
    assert line["bucket"] == "special_drugs" and "奥希替尼" in line["zh"]
    assert claim["status"] in ("paid", "pending_review", "approved")


def test_without_a_catalogue_in_force_the_claim_waits_for_a_person(client, seeded, residents):
    # the seeded app without the demo catalogues: nothing to match the lines against
    with time_machine.travel(ENROLLED_AT, tick=True):
        token = login(client, "lines-nolist")["access_token"]
        assert verify(client, token, residents["张伟"]).status_code == 200
        order = client.post(
            "/orders", headers={**bearer(token), **key()}, json=order_body(client, [])
        )
        assert order.status_code == 201, order.get_json()
        paid = client.post(
            f"/orders/{order.get_json()['id']}/payments",
            headers={**bearer(token), **key()},
            json={"method": "personal_account"},
        )
        assert paid.status_code == 200, paid.get_json()
    with time_machine.travel(NOW, tick=True):
        token = login(client, "lines-nolist")["access_token"]
        [mine] = client.get("/policies", headers=bearer(token)).get_json()
        first = next(r for r in _records(client, token, mine["id"]) if r["claimable"])
        resp = _one_tap(client, token, mine["id"], first["setl_id"])
    assert resp.status_code == 201, resp.get_json()
    claim = resp.get_json()
    assert claim["status"] == "pending_review"
    assert claim["adjudication"]["decision"] == "review"
    assert "catalogue_not_in_force" in claim["adjudication"]["reason_codes"]
    assert claim["fee_lines"]


def _first_claimable(client, insured_family):
    token, mine = insured_family["token"], insured_family["by_name"]["*伟"]
    first = next(r for r in _records(client, token, mine["id"]) if r["claimable"])
    return token, mine, first


def test_fee_lines_that_do_not_add_up_hold_the_claim_for_a_person(
    client, insured_family, monkeypatch
):
    from app.integrations.bureau.fee_details import FeeDetailsInconsistent, FeeDiscrepancy
    from app.integrations.bureau.sandbox import SandboxBureau

    def inconsistent(self, psn_no, setl_id, *, settlement=None):
        raise FeeDetailsInconsistent(
            setl_id, (FeeDiscrepancy("lines_total_mismatch", "medfee_sumamt_fen", 1, 2),), "test"
        )

    monkeypatch.setattr(SandboxBureau, "fee_details", inconsistent)
    token, mine, first = _first_claimable(client, insured_family)
    resp = _one_tap(client, token, mine["id"], first["setl_id"])
    assert resp.status_code == 201, resp.get_json()
    claim = resp.get_json()
    assert claim["status"] == "pending_review" and claim["fee_lines"] == []
    assert claim["paid_fen"] == 0


def test_a_fee_detail_timeout_files_nothing(client, insured_family, monkeypatch):
    from app.integrations.bureau.port import BureauUnavailable
    from app.integrations.bureau.sandbox import SandboxBureau

    def timeout(self, psn_no, setl_id, *, settlement=None):
        raise BureauUnavailable("5204 timed out")

    monkeypatch.setattr(SandboxBureau, "fee_details", timeout)
    token, mine, first = _first_claimable(client, insured_family)
    resp = _one_tap(client, token, mine["id"], first["setl_id"])
    assert resp.status_code == 503 and resp.get_json()["code"] == "bureau_unavailable"
    assert client.get("/claims", headers=bearer(token)).get_json() == []
