"""Chronic out-patient visits (门诊慢特病) through the claims paths: covered only for a class-one
condition on the product's list (the demo product's sandbox list, docs/adjudication.md).

The sandbox showcase (app/integrations/bureau/sandbox_demo_data.py): 李娜's chronic visit of
2026-07-15 is for 2型糖尿病 E11.900 (not on the list); 张建国's of 2026-08-11 is for 慢性肾脏病5期
N18.500 (on it, as 尿毒症透析 N18.5)."""

from __future__ import annotations

from dataclasses import replace

from app.claims import as_if_covered
from tests.claims.conftest import key
from tests.claims.test_flow import PAYEE, _draft_for, one_tap, policy_of, records, upload
from tests.conftest import bearer
from tests.estimates.test_as_if_covered import records_of, run


def _chronic(rows):
    (row,) = [r for r in rows if r["care_kind"] == "chronic_outpatient"]
    return row


def _lines(adjudication, prefix="chronic_"):
    return [line for line in adjudication["lines"] if line["code"].startswith(prefix)]


def test_a_one_tap_diabetes_visit_is_not_covered(client, insured_family):
    token, pid = insured_family["token"], policy_of(insured_family, "李娜")["id"]
    visit = _chronic(records(client, insured_family, "李娜"))
    assert visit["diagnosis"] == "2型糖尿病"
    estimate = client.post(
        "/claims/estimate",
        headers=bearer(token),
        json={"policy_id": pid, "setl_id": visit["setl_id"]},
    ).get_json()
    assert (estimate["decision"], estimate["payable_fen"]) == ("not_payable", 0)

    resp = one_tap(client, insured_family, "李娜", visit["setl_id"], {**PAYEE, "name": "李娜"})
    assert resp.status_code == 201, resp.get_json()
    claim = resp.get_json()
    assert claim["status"] == "rejected"
    assert claim["diagnosis_code"] == "E11.900"
    adjudication = claim["adjudication"]
    assert adjudication["payable_fen"] == 0 and adjudication["buckets"] == []
    (line,) = _lines(adjudication)
    assert line["code"] == "chronic_not_class_one"
    assert "2型糖尿病（E11.900）" in line["zh"] and "仅保障一类门诊慢特病" in line["zh"]
    assert _lines(estimate) == [line]  # the estimate says the same


def test_a_photographed_chronic_claim_needs_its_diagnosis_code(client, insured_family):
    token = insured_family["token"]
    draft = _draft_for(
        client,
        insured_family,
        "李娜",
        care_kind="chronic_outpatient",
        admitted_on="2026-07-15",
        discharged_on="2026-07-15",
        diagnosis="2型糖尿病",
    )
    for doc_type in ("invoice", "settlement_sheet", "prescription"):
        assert upload(client, token, draft["id"], doc_type).status_code == 201
    submit = f"/claims/{draft['id']}/submit"
    missing = client.post(submit, headers={**bearer(token), **key()})
    assert missing.status_code == 422 and missing.get_json()["code"] == "claim_incomplete"
    assert "诊断编码" in missing.get_json()["errors"]["json"]["diagnosis_code"][0]

    saved = client.patch(
        f"/claims/{draft['id']}", headers=bearer(token), json={"diagnosis_code": "E11.900"}
    )
    assert saved.status_code == 200 and saved.get_json()["diagnosis_code"] == "E11.900"
    submitted = client.post(submit, headers={**bearer(token), **key()})
    assert submitted.status_code == 200, submitted.get_json()
    claim = submitted.get_json()
    assert claim["status"] == "rejected"
    assert [line["code"] for line in _lines(claim["adjudication"])] == ["chronic_not_class_one"]


def test_a_typed_estimate_without_a_code_is_held_for_a_person(client, insured_family):
    token, pid = insured_family["token"], policy_of(insured_family, "李娜")["id"]
    body = {
        "policy_id": pid,
        "care_kind": "chronic_outpatient",
        "care_date": "2026-07-15",
        "medfee_sumamt_fen": 100_000,
        "hifp_pay_fen": 70_000,
        "in_policy_self_pay_fen": 30_000,
    }
    unknown = client.post("/claims/estimate", headers=bearer(token), json=body).get_json()
    assert unknown["decision"] == "review"
    assert [line["code"] for line in _lines(unknown)] == ["chronic_class_unverified"]
    for code, decision, line in (
        ("N18.500", "payable", "chronic_class_one"),
        ("i10.x00", "not_payable", "chronic_not_class_one"),
    ):
        typed = client.post(
            "/claims/estimate", headers=bearer(token), json={**body, "diagnosis_code": code}
        ).get_json()
        assert typed["decision"] == decision
        assert [row["code"] for row in _lines(typed)] == [line]


def test_last_year_would_have_paid_the_uraemia_visit_not_the_same_visit_for_hypertension(
    catalogued, residents
):
    """The value estimate's run (as_if_covered) on 张建国's 2026 records: the January stay meets
    his deductible, so the class-one chronic visit pays; the same record with a hypertension
    code pays nothing."""
    with records_of(catalogued, "chronic-jg", residents["张建国"]) as (person, fetched):
        chronic = next(
            o
            for o in run(catalogued, person, fetched)
            if o.record.care_kind == "chronic_outpatient"
        )
        assert chronic.record.dise_codg == "N18.500"
        assert chronic.result.decision == "payable" and chronic.payable_fen > 0
        assert "chronic_class_one" in chronic.result.reason_codes

        kept = next(f for f in fetched if f.record.setl_id == chronic.record.setl_id)
        hypertension = as_if_covered.Fetched(
            replace(kept.record, dise_codg="I10.x00", dise_name="高血压"), kept.fee_lines
        )
        again = run(catalogued, person, [*(f for f in fetched if f is not kept), hypertension])
        denied = next(o for o in again if o.record.care_kind == "chronic_outpatient")
        assert denied.result.decision == "not_payable" and denied.payable_fen == 0
        assert "chronic_not_class_one" in denied.result.reason_codes
