"""The showcase data `flask demo seed` adds for the README walk-throughs: 张伟's family, enrolled
through the real services on a clock set back to last December (idempotent, able to claim a 2026
settlement at once), and a demo charity with its admin."""

from __future__ import annotations

import time_machine

from app.demo.family import DEMO_CODE, seed_family
from app.demo.residents import generate
from tests.claims.conftest import key
from tests.conftest import bearer, login
from tests.enrollment.conftest import NOW


def test_demo_family_is_insured_from_january_and_can_claim(app, client, seeded):
    with time_machine.travel(NOW, tick=True):
        with app.app_context():
            assert seed_family(generate(10)) == 3
            assert seed_family(generate(10)) == 0  # a second run changes nothing
            # `flask demo seed` imports the demo catalogues too: the one-tap claim's fee lines are
            # matched against them (without a catalogue in force it would wait for a person)
            from app.demo.catalogues import seed_catalogues

            seed_catalogues()
            from app.claims.services import check_claim_ledger
            from app.payments.ledger import check_ledger

            assert check_ledger() == []
            assert check_claim_ledger() == []
        token = login(client, DEMO_CODE)["access_token"]
        policies = client.get("/policies", headers=bearer(token)).get_json()
        assert sorted(p["insured_name_masked"] for p in policies) == sorted(["**宝", "*娜", "*伟"])
        assert {(p["coverage_start"], p["coverage_end"]) for p in policies} == {
            ("2026-01-01", "2026-12-31")
        }
        mine = [p for p in policies if p["insured_name_masked"] == "*伟"][0]
        records = client.get(
            f"/policies/{mine['id']}/settlement-records", headers=bearer(token)
        ).get_json()
        first = [r for r in records if r["claimable"]][-1]
        resp = client.post(
            "/claims/from-settlement",
            headers={**bearer(token), **key()},
            json={
                "policy_id": mine["id"],
                "setl_id": first["setl_id"],
                "payee": {
                    "name": "张伟",
                    "bank_name": "工商银行",
                    "bank_account": "6222020200112233445",
                },
            },
        )
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["status"] in ("paid", "closed")


def test_demo_charity_and_its_admin(app, client, seeded):
    from app.demo.charity import seed_charity
    from app.demo.seed import DEMO_STAFF_PASSWORD

    with app.app_context():
        first = seed_charity(DEMO_STAFF_PASSWORD)
        assert first["charity_created"] == 3  # the organisation, its admin, its programme
        assert seed_charity(DEMO_STAFF_PASSWORD) == {**first, "charity_created": 0}
    resp = client.post(
        "/auth/staff/login", json={"username": "demo-charity", "password": DEMO_STAFF_PASSWORD}
    )
    assert resp.status_code == 200, resp.get_json()
    token = resp.get_json()["access_token"]
    org = client.get(
        f"/staff/organisations/{first['charity_organisation_id']}", headers=bearer(token)
    )
    assert org.status_code == 200 and org.get_json()["kind"] == "charity"
    # Its programme is ready for a roster: roster-only, full premium, 100 premiums of budget.
    programme = client.get(
        f"/staff/programmes/{first['charity_programme_id']}", headers=bearer(token)
    ).get_json()
    assert programme["eligibility"]["roster_only"] is True
    assert programme["rule"]["kind"] == "full"
    assert programme["budget_total_fen"] == 100 * 8900
