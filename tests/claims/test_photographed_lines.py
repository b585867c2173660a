"""Photographed claims get itemised lines too: the member uploads the hospital's list (CSV/XLSX
or JSON), or the assigned reviewer enters or corrects it; the claim then pays the out-of-policy
bucket from the 商保目录 like a one-tap claim, and names each line.

The README's 照片理赔 (李娜's day surgery: 80,000 yuan, of which 15,000 out-of-policy self-pay)
with docs/samples/itemised-bill.csv, figures by hand (app/catalogues/demo_data.py):
  非球面多焦点人工晶体 1 lens at 6,800 yuan, 丙类; the list allows 6,000 a lens: 6,000 on the
      list, 800 off (price limit)
  医用透明质酸钠凝胶 1 syringe at 280 yuan, 丙类; listed at up to 280: 280 on the list
  飞秒激光辅助白内障手术 7,920 yuan, 丙类, not listed: off the list
  -> out-of-policy bucket counts 6,280 yuan = 628,000 fen; without the list it counts nothing.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from app.catalogues import demo_data
from tests.claims.conftest import key
from tests.claims.test_flow import PAYEE, ledger_consistent, policy_of, records, upload
from tests.conftest import bearer

SAMPLE = Path(__file__).parents[2] / "docs" / "samples" / "itemised-bill.csv"
ON_LIST_FEN = 600_000 + 28_000


def _draft(client, family, name="李娜", number="36000026001234"):
    body = {
        "policy_id": policy_of(family, name)["id"],
        "care_kind": "day_surgery",
        "hospital_name": "赣州市人民医院",
        "admitted_on": "2026-04-08",
        "discharged_on": "2026-04-08",
        "diagnosis": "白内障",
        "patient_name": name,
        "medfee_sumamt_fen": 8_000_000,
        "hifp_pay_fen": 4_000_000,
        "in_policy_self_pay_fen": 2_500_000,
        "out_of_policy_self_pay_fen": 1_500_000,
        "payee": {**PAYEE, "name": name},
        "invoices": [{"issuer": "赣州市人民医院", "number": number, "amount_fen": 8_000_000}],
    }
    resp = client.post("/claims", headers=bearer(family["token"]), json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _upload_lines(client, token, claim_id, data: bytes, name="bill.csv"):
    return client.post(
        f"/claims/{claim_id}/lines",
        headers=bearer(token),
        data={"file": (io.BytesIO(data), name, "text/csv")},
        content_type="multipart/form-data",
    )


def _submit(client, token, claim_id):
    for doc_type in ("invoice", "settlement_sheet", "discharge_summary"):
        assert upload(client, token, claim_id, doc_type).status_code == 201
    resp = client.post(f"/claims/{claim_id}/submit", headers={**bearer(token), **key()})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _bucket(adj, code):
    return next(b for b in adj["buckets"] if b["bucket"] == code)


def test_a_photographed_claim_with_its_list_pays_the_commercial_list_part(client, insured_family):
    token = insured_family["token"]
    draft = _draft(client, insured_family)
    resp = _upload_lines(client, token, draft["id"], SAMPLE.read_bytes())
    assert resp.status_code == 200, resp.get_json()
    lines = resp.get_json()["fee_lines"]
    assert [l["seq"] for l in lines] == [1, 2, 3, 4, 5]  # the title and 合计 rows skipped
    assert all(l["source"] == "member" for l in lines)
    lens = next(l for l in lines if l["med_list_codg"] == demo_data.MULTIFOCAL_IOL)
    assert (lens["chrgitm_lv"], lens["pric_fen"], lens["fulamt_ownpay_amt_fen"]) == (
        "03",
        680_000,
        680_000,
    )

    claim = _submit(client, token, draft["id"])
    by_code = {l["med_list_codg"]: l for l in claim["fee_lines"]}
    lens = by_code[demo_data.MULTIFOCAL_IOL]
    assert (lens["on_list_fen"], lens["off_list_fen"]) == (600_000, 80_000)
    assert "commercial_price_limit" in lens["reason_codes"]
    gel = by_code[demo_data.OPHTHALMIC_VISCOELASTIC]
    assert (gel["on_list_fen"], gel["off_list_fen"]) == (28_000, 0)

    adj = claim["adjudication"]
    out = _bucket(adj, "out_of_policy")
    assert out["counted_fen"] == ON_LIST_FEN and out["payable_fen"] > 0
    codes = [l["code"] for l in adj["lines"]]
    assert "commercial_list_unverifiable" not in codes
    named = next(l for l in adj["lines"] if demo_data.MULTIFOCAL_IOL in l["en"])
    assert named["code"] == "fee_line_partly_counted" and "人工晶体" in named["zh"]
    assert "6,000.00 元计入" in named["zh"]
    assert adj["lines"][-1]["code"] == "payable_total"

    # the same claim without the list: the out-of-policy bucket cannot verify the list
    bare = _submit(client, token, _draft(client, insured_family, "张伟", "36000026009999")["id"])
    assert _bucket(bare["adjudication"], "out_of_policy")["payable_fen"] == 0
    assert bare["fee_lines"] == []


BAD_BILL = """序号,医保编码,项目名称,等级,数量,单价,金额(元),全自费,超限价,先行自付,政策范围内
1,C14130211400000147800000023,人工晶体,丁,1,6800,6800,6800,0,0,0
2,C14130312000000136500000071,凝胶,丙,1,280,2百八,280,0,0,0
3,003310000010000-331100001,手术,甲,1,100,100,0,0,0,90
4,,床位,乙,1,10,10,0,0,0,10
"""


def test_a_bad_list_is_refused_whole_with_a_report(client, insured_family):
    token = insured_family["token"]
    draft = _draft(client, insured_family)
    resp = _upload_lines(client, token, draft["id"], BAD_BILL.encode("gb18030"))
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert body["code"] == "claim_lines_rows_invalid"
    rows = {
        r["row_number"]: [e["code"] for e in r["errors"]] for r in body["errors"]["report"]["rows"]
    }
    assert rows == {
        2: ["level_invalid"],
        3: ["amount_invalid"],
        4: ["line_split_mismatch"],
        5: ["code_missing"],
    }
    assert client.get(f"/claims/{draft['id']}", headers=bearer(token)).get_json()["fee_lines"] == []

    for data, code in (
        (b"", "claim_lines_file_empty"),
        (b"\xd0\xcf\x11\xe0old excel", "claim_lines_format_xls"),
        ("名称,数量\n药,1\n".encode(), "claim_lines_rows_invalid"),
    ):
        bad = _upload_lines(client, token, draft["id"], data)
        assert bad.status_code == 422 and bad.get_json()["code"] == code, bad.get_json()


def test_lines_must_add_up_to_the_claim(client, insured_family):
    token = insured_family["token"]
    draft = _draft(client, insured_family)
    short = SAMPLE.read_text(encoding="utf-8").replace(
        "7920.00,7920.00,7920.00", "7820.00,7820.00,7820.00"
    )
    resp = _upload_lines(client, token, draft["id"], short.encode())
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert body["code"] == "claim_lines_do_not_add_up"
    assert "相差 100.00 元" in body["detail"] and "医疗费用总额" in body["detail"]
    assert {t["field"]: t["difference_fen"] for t in body["errors"]["totals"]} == {
        "out_of_policy": -10_000,
        "medfee_sumamt": -10_000,
    }

    # the JSON variant (fen), and a later change of the amounts is caught at submission
    lines = [
        {
            "med_list_codg": demo_data.MULTIFOCAL_IOL,
            "chrgitm_lv": "丙",
            "det_item_fee_sumamt_fen": 1_500_000,
        },
        {
            "med_list_codg": "003310000010000-331100001",
            "chrgitm_lv": "01",
            "det_item_fee_sumamt_fen": 6_500_000,
        },
    ]
    put = client.put(f"/claims/{draft['id']}/lines", headers=bearer(token), json={"lines": lines})
    assert put.status_code == 200, put.get_json()
    assert [l["fulamt_ownpay_amt_fen"] for l in put.get_json()["fee_lines"]] == [1_500_000, 0]
    changed = client.patch(
        f"/claims/{draft['id']}",
        headers=bearer(token),
        json={"in_policy_self_pay_fen": 2_000_000, "out_of_policy_self_pay_fen": 2_000_000},
    )
    assert changed.status_code == 200, changed.get_json()
    for doc_type in ("invoice", "settlement_sheet", "discharge_summary"):
        assert upload(client, token, draft["id"], doc_type).status_code == 201
    refused = client.post(f"/claims/{draft['id']}/submit", headers={**bearer(token), **key()})
    assert refused.status_code == 422 and refused.get_json()["code"] == "claim_lines_do_not_add_up"


def test_a_reviewer_corrects_the_lines_and_the_claim_is_readjudicated(
    app, client, insured_family, reviewer, monkeypatch
):
    from app.integrations.bureau.fee_details import FeeDetailsInconsistent, FeeDiscrepancy
    from app.integrations.bureau.sandbox import SandboxBureau

    def inconsistent(self, psn_no, setl_id, *, settlement=None):
        raise FeeDetailsInconsistent(
            setl_id, (FeeDiscrepancy("lines_total_mismatch", "medfee_sumamt_fen", 1, 2),), "test"
        )

    monkeypatch.setattr(SandboxBureau, "fee_details", inconsistent)
    stay = next(
        r
        for r in records(client, insured_family, "张伟")
        if r["admitted_on"] == "2026-05-06" and r["claimable"]
    )
    resp = client.post(
        "/claims/from-settlement",
        headers={**bearer(insured_family["token"]), **key()},
        json={
            "policy_id": policy_of(insured_family, "张伟")["id"],
            "setl_id": stay["setl_id"],
            "payee": PAYEE,
        },
    )
    assert resp.status_code == 201, resp.get_json()
    held = resp.get_json()
    assert held["status"] == "pending_review" and held["fee_lines"] == []
    staff = bearer(reviewer)
    own = held["out_of_policy_self_pay_fen"] + held["special_drugs_fen"]
    lines = [
        {
            "med_list_codg": demo_data.ALBUMIN,
            "name": "人血白蛋白注射液(10g)",
            "chrgitm_lv": "03",
            "cnt": 1,
            "det_item_fee_sumamt_fen": 50_000,
        },
        {
            "med_list_codg": "ZZ-NOT-LISTED",
            "chrgitm_lv": "03",
            "det_item_fee_sumamt_fen": own - 50_000,
        },
        {
            "med_list_codg": "003310000010000-331100001",
            "chrgitm_lv": "01",
            "det_item_fee_sumamt_fen": held["medfee_sumamt_fen"] - own,
        },
    ]
    path = f"/staff/claims/{held['id']}/lines"
    body = {"lines": lines, "reason": "按医院费用明细清单录入"}
    not_mine = client.put(path, headers=staff, json=body)
    assert not_mine.status_code == 409 and not_mine.get_json()["code"] == "claim_not_assigned"
    assert (
        client.post(f"/staff/claims/{held['id']}/assign", headers=staff, json={}).status_code == 200
    )
    off = client.put(path, headers=staff, json={**body, "lines": lines[:2]})
    assert off.status_code == 422 and off.get_json()["code"] == "claim_lines_do_not_add_up"

    corrected = client.put(path, headers=staff, json=body)
    assert corrected.status_code == 200, corrected.get_json()
    claim = corrected.get_json()
    assert [l["source"] for l in claim["fee_lines"]] == ["staff"] * 3
    albumin = claim["fee_lines"][0]
    assert (albumin["on_list_fen"], albumin["off_list_fen"]) == (45_000, 5_000)
    adj = claim["adjudication"]
    assert _bucket(adj, "out_of_policy")["counted_fen"] == 45_000
    assert any(l["code"] == "fee_line_partly_counted" and "白蛋白" in l["zh"] for l in adj["lines"])
    assert claim["status"] == "pending_review"

    approved = client.post(
        f"/staff/claims/{held['id']}/approve",
        headers={**staff, **key()},
        json={"reason": "明细已核对"},
    )
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["approved_fen"] == adj["payable_fen"]
    with app.app_context():
        from app.audit.models import AuditEvent
        from app.database import get_session

        events = get_session().scalars(
            select(AuditEvent).where(AuditEvent.action == "claim.lines.replaced")
        )
        assert [e.detail["source"] for e in events] == ["staff"]
    assert ledger_consistent(app)


@pytest.mark.parametrize("cnt", [-1, 0, "0.00001", "1e13", 100000000])
def test_a_json_line_with_an_impossible_count_is_422(client, insured_family, cnt):
    token = insured_family["token"]
    draft = _draft(client, insured_family)
    line = {
        "med_list_codg": "003310000010000-331100001",
        "chrgitm_lv": "01",
        "cnt": cnt,
        "det_item_fee_sumamt_fen": 8_000_000,
    }
    put = client.put(f"/claims/{draft['id']}/lines", headers=bearer(token), json={"lines": [line]})
    assert put.status_code == 422, put.get_json()
    assert put.get_json()["code"] == "validation_failed"
    assert "数量" in str(put.get_json()["errors"])


@pytest.mark.parametrize("amount", [8_000_000.5, "8000000"])
def test_a_json_line_amount_that_is_not_whole_fen_is_422(client, insured_family, amount):
    """A fraction of a fen (or a string) is refused, not truncated to 8,000,000 fen."""
    token = insured_family["token"]
    draft = _draft(client, insured_family)
    line = {
        "med_list_codg": "003310000010000-331100001",
        "chrgitm_lv": "01",
        "det_item_fee_sumamt_fen": amount,
    }
    put = client.put(f"/claims/{draft['id']}/lines", headers=bearer(token), json={"lines": [line]})
    assert put.status_code == 422, put.get_json()
    assert put.get_json()["code"] == "validation_failed"
    assert "det_item_fee_sumamt_fen" in str(put.get_json()["errors"])
