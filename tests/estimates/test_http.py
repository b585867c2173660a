"""The value estimate through HTTP: consent, the estimate for the 张 family, its equality with
one-tap claims on the same records, withdrawal, relatives, rate limit, audit, counters."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.claims.conftest import insured_family, key  # noqa: F401  (fixture)
from tests.conftest import bearer

CONSENT = {"consent": {"accepted": True, "text_version": "estimate-2026-12"}}
PAYEE = {"name": "张伟", "bank_name": "工商银行", "bank_account": "6222020200112233445"}


def _consent(client, token):
    resp = client.post("/me/value-estimate/consent", headers=bearer(token), json=CONSENT)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _estimate(client, token):
    return client.post("/me/value-estimate", headers=bearer(token))


def test_estimate_needs_consent(client, insured_family):
    token = insured_family["token"]
    resp = _estimate(client, token)
    assert resp.status_code == 403
    assert resp.get_json()["code"] == "estimate_consent_required"


def test_estimate_equals_one_tap_claims(client, insured_family):
    token = insured_family["token"]
    assert _consent(client, token)["granted"] is True
    resp = _estimate(client, token)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert "不是对过去或未来赔付的承诺" in body["notice"]
    people = {p["name"]: p for p in body["people"]}
    assert set(people) == {"张伟", "李娜", "张小宝"}
    assert all(p["included"] for p in people.values())
    assert body["total"]["payable_fen"] == sum(p["payable_fen"] for p in people.values())
    assert body["total"]["premium_fen"] == 3 * 8900
    # the same records, claimed one tap at a time in order of care on the family's policies
    claimed_total = 0
    for masked, policy in insured_family["by_name"].items():
        person = next(p for p in people.values() if p["name"][-1] == masked[-1])
        run = [r for r in person["records"] if r["skipped_reason"] is None]
        assert run, person
        for record in sorted(run, key=lambda r: (r["care_start"], r["setl_id"])):
            claim = client.post(
                "/claims/from-settlement",
                headers={**bearer(token), **key()},
                json={
                    "policy_id": policy["id"],
                    "setl_id": record["setl_id"],
                    "payee": PAYEE | ({"name": "李娜"} if person["name"] == "李娜" else {}),
                },
            )
            assert claim.status_code == 201, claim.get_json()
            paid = claim.get_json()["adjudication"]
            assert paid["payable_fen"] == record["payable_fen"], record
            # line by line: the same explanation the claim shows
            assert [l["zh"] for l in paid["lines"]] == [l["zh"] for l in record["lines"]]
            claimed_total += paid["payable_fen"]
    assert claimed_total == body["total"]["payable_fen"]
    assert claimed_total > 0
