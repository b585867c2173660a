"""Basic insurance is judged on the date of care: 黄秀英 (showcase) was suspended from 2026-03-01
and insured again from 2026-05-20. Enrolled last December, she claims in November for an April
stay (suspended then: refused, and the refusal says so) and a June stay (insured: paid), though
the bureau calls her active today."""

from __future__ import annotations

import time_machine

from tests import factories
from tests.claims.conftest import ENROLLED_AT, key
from tests.conftest import bearer
from tests.enrollment.conftest import NOW

PAYEE = {"name": "黄秀英", "bank_name": "工商银行", "bank_account": "6222020200112233445"}


def test_a_past_suspension_is_honoured_after_reinstatement(client, catalogued, residents):
    seeded = catalogued
    with time_machine.travel(ENROLLED_AT, tick=True):
        made = factories.verified_member(seeded, "claims-huang", residents["黄秀英"])
        order = factories.order(seeded, made["member_id"], pay=True)
        assert order["status"] == "paid", order
    with time_machine.travel(NOW, tick=True):
        token = factories.login(seeded, "claims-huang")["access_token"]
        [policy] = client.get("/policies", headers=bearer(token)).get_json()
        rows = client.get(
            f"/policies/{policy['id']}/settlement-records", headers=bearer(token)
        ).get_json()
        by_day = {r["admitted_on"]: r for r in rows}
        claims = {}
        for day in ("2026-04-01", "2026-06-01"):
            resp = client.post(
                "/claims/from-settlement",
                headers={**bearer(token), **key()},
                json={
                    "policy_id": policy["id"],
                    "setl_id": by_day[day]["setl_id"],
                    "payee": PAYEE,
                },
            )
            assert resp.status_code == 201, resp.get_json()
            claims[day] = resp.get_json()

    april = claims["2026-04-01"]
    assert april["status"] == "rejected" and april["paid_fen"] == 0
    assert "basic_insurance_suspended" in april["adjudication"]["reason_codes"]
    reason = next(t["reason"] for t in april["transitions"] if t["action"] == "adjudicate")
    assert "基本医保处于暂停" in reason
    june = claims["2026-06-01"]
    assert june["status"] == "paid", june["transitions"]
    assert june["paid_fen"] > 0
    assert "basic_insurance_suspended" not in june["adjudication"]["reason_codes"]
