"""The hospital counter quotes a chronic out-patient visit (门诊慢特病) as a one-tap claim would:
李娜's 2型糖尿病 visit (E11.900) is not a class-one chronic condition on the demo product's list,
so 惠民保 pays nothing at the counter and the explanation says why. (A hospital whose
dise_codg differs from the bureau's is refused: test_refusals.py.)"""

from __future__ import annotations

from tests.claims.test_flow import records
from tests.direct_settlement.conftest import _send


def test_a_chronic_visit_not_on_the_class_one_list_is_not_settled(app, client, insured_family):
    from app.direct_settlement.ledger import register_sandbox_hospital
    from app.direct_settlement.sandbox_hospital import SandboxHospital, plain
    from app.integrations.registry import bureau, signer
    from app.integrations.signer import sandbox_keys as k

    (row,) = [
        r for r in records(client, insured_family, "李娜") if r["care_kind"] == "chronic_outpatient"
    ]
    with app.app_context():
        from app.database import get_session
        from app.identity.models import Person

        psn_no = get_session().query(Person.psn_no).filter(Person.name == "李娜").scalar()
        record = bureau().settlement_record(psn_no, row["setl_id"])
        assert record.dise_codg == "E11.900"
        lines = bureau().fee_details(psn_no, row["setl_id"], settlement=record) or []
        register_sandbox_hospital(record.fixmedins_code, "沙箱医院")
        hospital = SandboxHospital(
            signer(), k.sandbox_key_id(record.fixmedins_code), k.SANDBOX_PRIVATE_KEY, _send(client)
        )
    status, body = hospital.trial(plain(record), [plain(line) for line in lines])
    assert status == 200, body
    assert (body["decision"], body["payable_fen"]) == ("not_payable", 0)
    assert body["patient_pays_fen"] == record.psn_part_amt_fen  # all of the member's share
    (line,) = [e for e in body["explanation"] if e["code"].startswith("chronic_")]
    assert line["code"] == "chronic_not_class_one"
    assert "2型糖尿病（E11.900）" in line["zh"] and "仅保障一类门诊慢特病" in line["zh"]
