"""The database work of a one-tap claim once the estimate has warmed the per-process caches
(the catalogues in force, the parsed product definition), counted with before_cursor_execute:
the catalogue entries are not read again, the product's definition JSON is not read by the
adjudication, and the accumulators are written with one statement. Measured: the one-tap
request 73 statements on SQLite, 65 on PostgreSQL (81 / 73 before the caches and the
one-statement upsert), a repeated estimate 14 (17) on both."""

from __future__ import annotations

import re

from app.database import get_engine
from tests.claims.test_flow import one_tap, policy_of, records
from tests.conftest import bearer
from tests.statements import recorded

ENTRIES = re.compile(r"catalogue_commercial_entries|catalogue_special_drugs", re.IGNORECASE)
DEFINITION_JSON = re.compile(r"products\.definition\b(?!_)", re.IGNORECASE)
ACCUMULATOR_WRITE = re.compile(r"^\s*(INSERT INTO|UPDATE) accumulator_entries", re.IGNORECASE)


def _statements(app, call) -> tuple[object, list[str]]:
    with app.app_context():
        engine = get_engine()
    with recorded(engine) as seen:
        return call(), seen


def test_a_warm_one_tap_claim_reads_no_entries_and_writes_the_accumulators_once(
    app, client, insured_family
):
    claimable = [r for r in records(client, insured_family, "张伟") if r["claimable"]]
    stroke = max(claimable, key=lambda r: r["medfee_sumamt_fen"])
    body = {"policy_id": policy_of(insured_family, "张伟")["id"], "setl_id": stroke["setl_id"]}
    est = client.post("/claims/estimate", headers=bearer(insured_family["token"]), json=body)
    assert est.status_code == 200, est.get_json()

    again, estimating = _statements(
        app,
        lambda: client.post("/claims/estimate", headers=bearer(insured_family["token"]), json=body),
    )
    assert again.get_json() == est.get_json()
    assert not [s for s in estimating if ENTRIES.search(s)]
    # one read of the definition: the estimate's look-up of the settlement providers (a loaded
    # product); the quote itself reads two columns
    assert len([s for s in estimating if DEFINITION_JSON.search(s)]) == 1

    resp, claiming = _statements(
        app, lambda: one_tap(client, insured_family, "张伟", stroke["setl_id"])
    )
    assert resp.status_code == 201 and resp.get_json()["status"] == "paid", resp.get_json()
    assert not [s for s in claiming if ENTRIES.search(s)]
    # one read of the definition: filing the claim (the settlement's providers); none by the
    # adjudication (run_claim and _route read two columns, once)
    assert len([s for s in claiming if DEFINITION_JSON.search(s)]) == 1
    assert len([s for s in claiming if ACCUMULATOR_WRITE.search(s)]) == 1
